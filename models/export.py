"""GGUF export: Hugging Face model or PEFT adapter -> GGUF, and quantisation.

The conversions run llama.cpp's own converters (see `models.llama_tools`) as subprocesses;
quantisation runs in-process through llama-cpp-python. Each writes a temporary file beside the
output and renames it into place, so a failure leaves no half-written GGUF behind.
"""

from __future__ import annotations

import ctypes
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from models.files import sha256_file
from models.llama_tools import converter_dir, converter_env

__all__ = [
    "QUANT_KINDS",
    "ExportError",
    "convert_hf_to_gguf",
    "convert_lora_to_gguf",
    "quantize",
    "sha256_file",
]

logger = logging.getLogger(__name__)

#: Quantisation kinds -> the llama_cpp ftype constant's name.
QUANT_KINDS = {"Q4_K_M": "LLAMA_FTYPE_MOSTLY_Q4_K_M", "Q8_0": "LLAMA_FTYPE_MOSTLY_Q8_0"}
_STDERR_LINES = 15


class ExportError(RuntimeError):
    """A conversion or quantisation failed; the message carries the tool's last output lines."""


def convert_hf_to_gguf(hf_dir: Path, out_file: Path, outtype: str = "f16") -> Path:
    """Convert a saved Hugging Face model folder (weights, config, tokenizer) to one GGUF file.

    `outtype`: f32, f16, bf16, q8_0 or auto. Returns `out_file`. Raises ExportError.
    """
    return _convert("convert_hf_to_gguf.py", [str(hf_dir), "--outtype", outtype], Path(out_file))


def convert_lora_to_gguf(adapter_dir: Path, base_hf_dir: Path, out_file: Path, outtype: str = "f16") -> Path:
    """Convert a PEFT LoRA adapter folder to a LoRA GGUF for `Llama(lora_path=...)`.

    `base_hf_dir` is the base model's folder (config and tokenizer; weights are not read).
    `outtype`: f32, f16, bf16 or q8_0. Returns `out_file`. Raises ExportError.
    """
    args = [str(adapter_dir), "--base", str(base_hf_dir), "--outtype", outtype]
    return _convert("convert_lora_to_gguf.py", args, Path(out_file))


def quantize(in_gguf: Path, out_gguf: Path, kind: str = "Q4_K_M", threads: int = 0) -> Path:
    """Quantise an F16/F32 GGUF to `kind` (Q4_K_M or Q8_0) in-process. Returns `out_gguf`.

    `threads` <= 0 lets llama.cpp use every core. Raises ExportError.
    """
    import llama_cpp

    if kind not in QUANT_KINDS:
        raise ExportError(f"unknown quantisation kind {kind}; known: {sorted(QUANT_KINDS)}")
    in_gguf, out_gguf = Path(in_gguf), Path(out_gguf)
    if not in_gguf.is_file():
        raise ExportError(f"input GGUF not found: {in_gguf.name}")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, QUANT_KINDS[kind])
    params.nthread = threads
    partial = _partial(out_gguf)
    started = time.monotonic()
    try:
        code = llama_cpp.llama_model_quantize(
            os.fsencode(in_gguf), os.fsencode(partial), ctypes.byref(params)
        )
        if code != 0 or not partial.is_file():
            raise ExportError(f"llama_model_quantize to {kind} failed (code {code})")
        os.replace(partial, out_gguf)
    finally:
        partial.unlink(missing_ok=True)
    logger.info("quantized", extra={"kind": kind, "seconds": round(time.monotonic() - started, 2)})
    return out_gguf


def _convert(script: str, args: list[str], out_file: Path) -> Path:
    folder = converter_dir()
    out_file.parent.mkdir(parents=True, exist_ok=True)
    partial = _partial(out_file)
    command = [sys.executable, str(folder / script), *args, "--outfile", str(partial)]
    started = time.monotonic()
    try:
        done = subprocess.run(command, env=converter_env(folder), capture_output=True, text=True, check=False)
        if done.returncode != 0 or not partial.is_file():
            tail = "\n".join(done.stderr.strip().splitlines()[-_STDERR_LINES:])
            raise ExportError(f"{script} failed with exit code {done.returncode}:\n{tail}")
        os.replace(partial, out_file)
    finally:
        partial.unlink(missing_ok=True)
    logger.info("converted", extra={"script": script, "seconds": round(time.monotonic() - started, 2)})
    return out_file


def _partial(out_file: Path) -> Path:
    return out_file.with_name(f".{out_file.stem}.partial{out_file.suffix}")
