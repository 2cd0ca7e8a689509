"""Start a fine-tuning run from an existing LoRA adapter (`init_adapter` in the SFT config).

A published adapter is a LoRA GGUF (what llama.cpp serves); training needs it as peft weights.
The GGUF holds each LoRA matrix under llama.cpp's tensor name (`blk.3.attn_q.weight.lora_a`),
unpermuted for Gemma and Phi-3, with peft's own shapes (A: rank x in, B: out x rank); the rank and
alpha are in its metadata. A peft adapter folder is read as it is.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

#: llama.cpp's name of a LoRA target module -> the Hugging Face module paths in a decoder layer it
#: can be (the model decides: Phi-3's fused gate_up_proj is llama.cpp's ffn_up too).
GGUF_MODULES = {
    "attn_q": ("self_attn.q_proj",),
    "attn_k": ("self_attn.k_proj",),
    "attn_v": ("self_attn.v_proj",),
    "attn_output": ("self_attn.o_proj",),
    "attn_qkv": ("self_attn.qkv_proj",),
    "ffn_gate": ("mlp.gate_proj",),
    "ffn_up": ("mlp.up_proj", "mlp.gate_up_proj"),
    "ffn_down": ("mlp.down_proj",),
}
_GGUF_NAME = re.compile(r"blk\.(\d+)\.(\w+)\.weight\.lora_([ab])")
_PEFT_NAME = re.compile(r"layers\.(\d+)\.(\w+\.\w+)\.lora_([AB])\.")


class AdapterInitError(ValueError):
    """The adapter cannot start this run (missing, another shape, another rank or alpha)."""


def adapter_source(ref: str, artifact_store: str | Path) -> Path:
    """The file or folder `ref` names: a path, or a published `name:version` lora artifact
    (verified against its manifest) whose adapter GGUF is returned."""
    path = Path(ref)
    if path.exists():
        return path
    from models.artifacts import ArtifactError, resolve, verify

    try:
        artifact = resolve(Path(artifact_store), ref)
        verify(artifact)
    except ArtifactError as e:
        raise AdapterInitError(f"init_adapter {ref!r}: {e}") from None
    if artifact.manifest.get("kind") != "lora":
        kind = artifact.manifest.get("kind")
        raise AdapterInitError(f"init_adapter {ref!r} is a {kind} artifact, not lora")
    return artifact.path / artifact.manifest["gguf"]


def read_gguf_adapter(path: Path) -> tuple[dict[tuple[int, str, str], Any], float]:
    """({(layer, llama.cpp module name, "A" | "B"): float32 array}, alpha) of a LoRA GGUF."""
    import numpy as np
    from gguf import GGUFReader

    reader = GGUFReader(str(path))
    if "adapter.lora.alpha" not in reader.fields:
        raise AdapterInitError(f"{path.name} is not a LoRA adapter GGUF (no adapter.lora.alpha)")
    field = reader.fields["adapter.lora.alpha"]
    alpha = float(field.parts[field.data[0]][0])
    weights = {}
    for tensor in reader.tensors:
        m = _GGUF_NAME.fullmatch(tensor.name)
        if not m or m[2] not in GGUF_MODULES:
            raise AdapterInitError(f"{path.name}: unexpected tensor {tensor.name}")
        shape = tuple(int(n) for n in reversed(tensor.shape))
        data = np.asarray(tensor.data, dtype=np.float32).reshape(shape)
        weights[(int(m[1]), m[2], m[3].upper())] = data
    return weights, alpha


def load_into(model: Any, source: Path, lora_r: int, lora_alpha: int) -> int:
    """Copy the adapter at `source` into the LoRA weights of peft `model`; every LoRA weight of
    the model must be filled, with the same shape. Returns the number of tensors copied."""
    import torch

    params = {}
    for name, param in model.named_parameters():
        m = _PEFT_NAME.search(name)
        if m and ".lora_" in name:
            params[(int(m[1]), m[2], m[3])] = param
    if source.is_dir():
        weights, alpha = _read_peft_folder(source)
    else:
        by_gguf_name, alpha = read_gguf_adapter(source)
        modules = {module for _, module, _ in params}
        weights = {}
        for (layer, name, side), value in by_gguf_name.items():
            found = [m for m in GGUF_MODULES[name] if m in modules] or [GGUF_MODULES[name][0]]
            weights[(layer, found[0], side)] = value
    if abs(alpha - lora_alpha) > 1e-6:
        raise AdapterInitError(f"init_adapter has lora_alpha {alpha:g}, the config {lora_alpha}")
    missing = sorted(set(params) - set(weights))
    extra = sorted(set(weights) - set(params))
    if missing or extra:
        raise AdapterInitError(
            f"init_adapter does not fit the model's LoRA modules: {len(missing)} missing "
            f"(first {missing[:1]}), {len(extra)} unknown (first {extra[:1]})"
        )
    with torch.no_grad():
        for key, param in params.items():
            value = torch.as_tensor(weights[key])
            if tuple(value.shape) != tuple(param.shape):
                raise AdapterInitError(
                    f"init_adapter tensor {key} has shape {tuple(value.shape)}, the model "
                    f"{tuple(param.shape)} (lora_r {lora_r})"
                )
            param.copy_(value.to(param.dtype))
    return len(params)


def _read_peft_folder(folder: Path) -> tuple[dict[tuple[int, str, str], Any], float]:
    import json

    from safetensors.numpy import load_file

    config = json.loads((folder / "adapter_config.json").read_text())
    weights = {}
    for name, value in load_file(str(folder / "adapter_model.safetensors")).items():
        m = _PEFT_NAME.search(name)
        if m:
            weights[(int(m[1]), m[2], m[3])] = value.astype("float32")
    return weights, float(config["lora_alpha"])
