"""GGUF export end to end on a tiny random Phi-3: convert, quantise, load, tokenise, LoRA.

Slow (about half a minute on 2 cores): it runs llama.cpp's converters as subprocesses, which
import torch. Run with `pytest -m slow tests/models/test_export.py`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.artifacts import publish
from models.export import (
    ExportError,
    convert_hf_to_gguf,
    convert_lora_to_gguf,
    quantize,
    sha256_file,
)
from models.profiles import PHI3
from models.resolve import gguf_architecture, resolve_model

# torch, transformers and llama_cpp are imported inside the tests: collecting this module for a
# `-m "not slow"` run stays cheap.
pytestmark = pytest.mark.slow

TEXT = "Doctor: How did you sleep this week? Patient: Badly, I woke up at four every night."
TRANSCRIPTS = [
    "Doctor: How are you feeling today?",
    "Patient: Honestly, not great. I've been anxious since Monday.",
    "Therapist: On a scale of 1 to 10, how would you rate it?\nClient: Maybe a 7.",
    "Patient: I stopped taking sertraline 50 mg two weeks ago.",
    "Doctor: Any thoughts of harming yourself?\nPatient: No, none.",
    "Client: My sister and I argued again - it was about Mom's care.",
    "Therapist: Let's practise the breathing exercise: in for 4, hold for 7, out for 8.",
    "Patient: I sleep 4-5 hours a night; I wake up at 3:30 am.",
    "Doctor: Blood pressure is 128/84, heart rate 72 bpm.",
    "Client: I don't know... maybe? I guess I'm just tired.",
    "Therapist: What went well since our last session (Oct 12)?",
    "Patient: I went back to work! Only part-time, 20 h/week.",
    "Doctor: Let's schedule a follow-up in two weeks.\n\nPatient: OK.",
    "Client: I’m worried about my café job — the manager yells.",
    "Patient: Naïve of me, I know. Résumé is still unfinished.",
    'Therapist: You said "I\'m a failure". Is that a fact or a thought?',
    "Doctor: PHQ-9 score today: 14 (moderate). Last time: 19.",
    "Patient: I drink 3–4 beers on weekends, sometimes more.",
    "Client: I feel 😞 most mornings, then better by noon.",
    "Therapist: Homework: write down three automatic thoughts per day.",
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base_models = pytest.importorskip("training_jobs.base_models")
    return base_models.build_tiny_phi3(tmp_path_factory.mktemp("tiny-phi3"))


@pytest.fixture(scope="module")
def f16(tiny: Path) -> Path:
    return convert_hf_to_gguf(tiny, tiny.parent / "tiny-f16.gguf")


@pytest.fixture(scope="module")
def hf_tokenizer(tiny: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny), local_files_only=True)


def llama(path: Path, **kwargs):
    import llama_cpp

    return llama_cpp.Llama(
        model_path=str(path), n_ctx=128, n_threads=1, verbose=False, logits_all=True, **kwargs
    )


def llama_logits(path: Path, ids: list[int], **kwargs) -> np.ndarray:
    llm = llama(path, **kwargs)
    try:
        llm.eval(ids)
        return np.array(llm.scores[: len(ids)])
    finally:
        llm.close()


def hf_logits(model, ids: list[int]) -> np.ndarray:
    import torch

    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0].numpy()


def test_f16_gguf_computes_what_transformers_computes(tiny: Path, f16: Path, hf_tokenizer) -> None:
    from transformers import AutoModelForCausalLM

    assert gguf_architecture(f16) == "phi3"
    assert resolve_model(str(f16), tiny, tiny).profile == "phi3"
    assert not list(f16.parent.glob(".*partial*"))
    model = AutoModelForCausalLM.from_pretrained(str(tiny), local_files_only=True)
    ids = hf_tokenizer(TEXT, add_special_tokens=False)["input_ids"]
    expected, actual = hf_logits(model, ids), llama_logits(f16, ids)
    assert np.abs(expected - actual).max() < 5e-3
    assert (expected.argmax(-1) == actual.argmax(-1)).all()


# Q4_K_M works on the tiny model too: rows of 64 or 128 columns are not divisible by the
# 256-wide k-quant blocks, so llama.cpp falls back to q5_0/q8_0 for those tensors.
@pytest.mark.parametrize("kind", ["Q8_0", "Q4_K_M"])
def test_quantized_gguf_loads_and_generates(f16: Path, kind: str, hf_tokenizer) -> None:
    out = quantize(f16, f16.with_name(f"tiny-{kind}.gguf"), kind, threads=1)
    assert out.stat().st_size < f16.stat().st_size
    llm = llama(out)
    try:
        completion = llm("Patient: I feel", max_tokens=6, temperature=0.0)
        assert completion["usage"]["completion_tokens"] > 0
    finally:
        llm.close()
    ids = hf_tokenizer(TEXT, add_special_tokens=False)["input_ids"]
    drift = np.abs(llama_logits(out, ids) - llama_logits(f16, ids)).max()
    assert drift < (0.05 if kind == "Q8_0" else 0.5)


def test_quantize_rejects_unknown_kinds_and_missing_input(f16: Path, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="unknown quantisation kind"):
        quantize(f16, tmp_path / "x.gguf", "Q3_XS")
    with pytest.raises(ExportError, match="not found"):
        quantize(tmp_path / "absent.gguf", tmp_path / "x.gguf", "Q8_0")


def test_converter_failure_raises_with_its_last_lines(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    out = tmp_path / "never.gguf"
    with pytest.raises(ExportError, match="convert_hf_to_gguf.py failed") as caught:
        convert_hf_to_gguf(tmp_path / "empty", out)
    assert "config.json" in str(caught.value)
    assert not out.exists() and not list(tmp_path.glob(".*partial*"))


def test_llama_cpp_tokenises_transcripts_like_transformers(f16: Path, hf_tokenizer) -> None:
    llm = llama(f16, vocab_only=True)
    try:
        for text in TRANSCRIPTS:
            served = llm.tokenize(text.encode(), add_bos=False, special=True)
            assert served == hf_tokenizer(text, add_special_tokens=False)["input_ids"], text
    finally:
        llm.close()


@pytest.mark.xfail(
    strict=True,
    reason="the tiny tokenizer built in-process (transformers 5, Metaspace prepend_scheme='first') "
    "adds no '▁' after special tokens where llama.cpp's SPM tokenizer does: `<|user|>\\n` is 2 "
    "tokens in training, 3 in serving. Loading it with legacy=True flips the mismatch instead of "
    "removing it (measured). The embedded Gemma agrees token for token (test_gemma_tokens.py).",
)
def test_prompt_tokens_in_serving_equal_those_in_training(f16: Path, hf_tokenizer) -> None:
    llm = llama(f16, vocab_only=True)
    try:
        for text in TRANSCRIPTS[:5]:
            prompt = PHI3.render(text)
            # serving: create_completion tokenises with BOS and special tokens parsed;
            # training (sft_train.tokenize): profile.bos + prompt, no tokenizer-added tokens.
            served = llm.tokenize(prompt.encode(), add_bos=True, special=True)
            trained = hf_tokenizer(PHI3.bos + prompt, add_special_tokens=False)["input_ids"]
            assert served == trained, text
    finally:
        llm.close()


def test_lora_adapter_changes_logits_as_peft_does(tiny: Path, f16: Path, hf_tokenizer) -> None:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(str(tiny), local_files_only=True)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=list(PHI3.lora_target_modules))
    peft_model = get_peft_model(model, config)
    with torch.no_grad():  # lora_B starts at zero: perturb it so the adapter does something
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                param.add_(torch.randn_like(param) * 0.5)
    adapter_dir = tiny.parent / "adapter"
    peft_model.save_pretrained(adapter_dir)
    ids = hf_tokenizer(TEXT, add_special_tokens=False)["input_ids"]
    expected = hf_logits(peft_model, ids)

    lora = convert_lora_to_gguf(adapter_dir, tiny, tiny.parent / "adapter.gguf")
    store = tiny.parent / "store"
    publish(store, "tiny-phi3", {"model.gguf": f16}, {"profile": "phi3"})
    base = {"ref": "tiny-phi3:v1", "sha256": sha256_file(f16)}
    publish(store, "tiny-notes", {"adapter.gguf": lora}, {"kind": "lora", "base_model": base})
    resolved = resolve_model("tiny-notes:latest", store, tiny.parent)

    plain = llama_logits(resolved.path, ids)
    adapted = llama_logits(resolved.path, ids, lora_path=str(resolved.lora_path))
    assert np.abs(adapted - plain).max() > 0.1
    assert np.abs(adapted - expected).max() < 0.05


def test_an_exported_adapter_loads_back_for_further_training(tiny: Path) -> None:
    """`init_adapter` reads a published LoRA GGUF back into peft weights: every LoRA matrix of
    the model, unpermuted and in peft's shapes (Phi-3's fused qkv and gate_up projections too)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from training_jobs.lora_init import AdapterInitError, load_into

    def fresh(alpha: int = 8):
        model = AutoModelForCausalLM.from_pretrained(str(tiny), local_files_only=True)
        config = LoraConfig(r=4, lora_alpha=alpha, target_modules=list(PHI3.lora_target_modules))
        return get_peft_model(model, config)

    torch.manual_seed(1)
    trained = fresh()
    with torch.no_grad():
        for name, param in trained.named_parameters():
            if "lora_" in name:
                param.copy_(torch.randn_like(param) * 0.1)
    adapter_dir = tiny.parent / "adapter-init"
    trained.save_pretrained(adapter_dir)
    gguf = convert_lora_to_gguf(adapter_dir, tiny, tiny.parent / "adapter-init.gguf")
    expected = {n: p.detach().clone() for n, p in trained.named_parameters() if "lora_" in n}

    for source in (gguf, adapter_dir):
        model = fresh()
        assert load_into(model, source, lora_r=4, lora_alpha=8) == len(expected)
        loaded = {n: p.detach() for n, p in model.named_parameters() if "lora_" in n}
        assert loaded.keys() == expected.keys()
        for name, value in expected.items():
            torch.testing.assert_close(loaded[name], value, atol=2e-3, rtol=2e-3)  # f16 in the GGUF

    with pytest.raises(AdapterInitError, match="lora_alpha"):
        load_into(fresh(alpha=16), gguf, lora_r=4, lora_alpha=16)
