"""The embedded Gemma GGUF: llama.cpp (serving) and transformers (training) read the same prompt as
the same tokens, so the fine-tuned adapter sees at serving exactly what it was trained on."""

from __future__ import annotations

import pytest

from models.profiles import GEMMA3
from models.prompts import section_example
from tests.models.test_export import TRANSCRIPTS

pytestmark = pytest.mark.slow


def test_llama_cpp_and_transformers_tokenise_training_examples_identically():
    from llama_cpp import Llama
    from transformers import AutoTokenizer

    from models.resolve import resolve_model

    gguf = resolve_model("embedded").path
    hf = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name, local_files_only=True)
    llm = Llama(model_path=str(gguf), vocab_only=True, verbose=False)
    try:
        for transcript in TRANSCRIPTS:
            prompt, completion = section_example(
                GEMMA3, transcript, "subjective", "Client reports poor sleep."
            )
            text = prompt + completion
            served = llm.tokenize(text.encode("utf-8"), add_bos=True, special=True)
            trained = hf(GEMMA3.bos + text, add_special_tokens=False)["input_ids"]
            assert served == trained
    finally:
        llm.close()
