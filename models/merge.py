"""A LoRA adapter merged into its base GGUF, so that the engine runs the base model's graph alone.

llama.cpp applies a runtime adapter as two extra matrix products beside every adapted weight, at
every token: with the project's adapter (rank 16 on all seven projections of Gemma 3 270M) a
2,032-token prompt evaluated at 443-493 tokens/s against 601-614 for the base model alone, on a
2-core CPU; merged, at 628-634 (bench/merge_bench.py prints these).

`merge_lora` dequantises each adapted weight W of the base GGUF, adds scale * B @ A (scale =
alpha / rank, as llama.cpp applies it) and stores the sum as Q8_0; every other tensor is copied
byte for byte. Q8_0 and not the base's own 4-6 bit types: the delta is small against W (about
2 % of its norm) and smaller than a 4-bit step, so quantising W + delta back to the base's type
snapped most weights back onto W (measured: the merged weights lay nearer W than W + delta, and
the notes read as the base model's, echoing the transcript). Q8_0's step keeps the delta; the file
grows from 253 to 292 MB and decoding runs as fast as with the runtime adapter.

`merged_model` keeps one merged file per (base, adapter) in the model cache, with a record of the
checksums it came from, and makes it again when the record or the file does not match.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

from models.files import cached_sha256, file_lock, sha256_file, write_atomic

__all__ = ["MergeError", "merge_lora", "merged_model"]

logger = logging.getLogger(__name__)

#: Bumped when the merge's output would change for the same inputs (the cache is then made again).
MERGE_FORMAT = 2


class MergeError(RuntimeError):
    """The adapter could not be merged into this base (fixed text; no file content)."""


def merge_lora(base: Path, lora: Path, out: Path) -> dict:
    """Write `out`: `base` with `lora` merged in (adapted weights as Q8_0). Returns what was done.

    The file appears whole or not at all. Raises MergeError.
    """
    import gguf
    import numpy as np

    started = time.monotonic()
    reader, adapter = gguf.GGUFReader(base), gguf.GGUFReader(lora)
    if _text(adapter, "general.type") != "adapter" or _text(adapter, "adapter.type") != "lora":
        raise MergeError("the adapter file is not a LoRA GGUF")
    arch = _text(reader, "general.architecture")
    if arch is None or _text(adapter, "general.architecture") != arch:
        raise MergeError("the adapter was made for another architecture")
    field = adapter.fields.get("adapter.lora.alpha")
    alpha = float(field.contents()) if field is not None else 0.0
    pairs = {t.name: t for t in adapter.tensors}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.stem}.partial.gguf")
    writer = gguf.GGUFWriter(partial, arch=arch, endianess=reader.endianess)
    for field in reader.fields.values():
        if field.name.startswith("GGUF.") or field.name == "general.architecture":
            continue
        sub_type = field.types[-1] if field.types[0] == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), field.types[0], sub_type=sub_type)
    tensors, merged = [], 0
    try:
        for t in reader.tensors:
            a, b = pairs.pop(f"{t.name}.lora_a", None), pairs.pop(f"{t.name}.lora_b", None)
            data, kind = t.data, t.tensor_type
            if a is not None and b is not None:
                A = np.asarray(a.data, dtype=np.float32)  # (rank, n_in)
                B = np.asarray(b.data, dtype=np.float32)  # (n_out, rank)
                W = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
                if W.shape != (B.shape[0], A.shape[1]) or A.shape[0] != B.shape[1]:
                    raise MergeError("an adapter tensor does not fit its base weight")
                scale = alpha / A.shape[0] if alpha else 1.0  # as llama.cpp scales an adapter
                data, kind = _store(W + scale * (B @ A), t.tensor_type)
                merged += 1
            elif a is not None or b is not None:
                raise MergeError("the adapter holds half of a LoRA pair")
            tensors.append(data)
            writer.add_tensor_info(t.name, data.shape, data.dtype, data.nbytes, kind)
        if pairs:
            raise MergeError("the adapter holds tensors the base model does not have")
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for data in tensors:
            writer.write_tensor_data(data)
        writer.close()
        os.replace(partial, out)
    finally:
        writer.close()
        partial.unlink(missing_ok=True)
    seconds = round(time.monotonic() - started, 2)
    logger.info("adapter merged", extra={"tensors": merged, "seconds": seconds})
    return {"tensors": merged, "seconds": seconds}


def _store(weight, base_kind):
    """An adapted weight as Q8_0, or in its base type where that is already as fine (F32, F16,
    BF16, Q8_0); F16 where a row does not split into Q8_0's blocks of 32."""
    import gguf
    import numpy as np

    kinds = gguf.GGMLQuantizationType
    if base_kind in (kinds.F32, kinds.F16, kinds.BF16):
        return gguf.quants.quantize(weight, base_kind), base_kind
    if weight.shape[-1] % 32:
        return weight.astype(np.float16), kinds.F16
    return gguf.quants.quantize(weight, kinds.Q8_0), kinds.Q8_0


def merged_model(base: Path, lora: Path, cache_dir: Path, base_sha256: str, lora_sha256: str) -> Path:
    """The cached merge of `lora` into `base` (made now if missing or stale). Raises MergeError."""
    folder = Path(cache_dir) / "merged"
    out = folder / f"{lora_sha256[:16]}-{base_sha256[:16]}.gguf"
    record_path = out.with_suffix(".json")
    wanted = {"format": MERGE_FORMAT, "base_sha256": base_sha256, "lora_sha256": lora_sha256}
    if _fresh(out, record_path, wanted):
        return out
    with file_lock(folder / f".{out.name}.lock"):
        if _fresh(out, record_path, wanted):
            return out
        merge_lora(base, lora, out)
        write_atomic(record_path, json.dumps({**wanted, "sha256": sha256_file(out)}))
    return out


def _fresh(out: Path, record_path: Path, wanted: dict) -> bool:
    try:
        record = json.loads(record_path.read_text())
        return {k: record.get(k) for k in wanted} == wanted and cached_sha256(out) == record["sha256"]
    except (OSError, ValueError, KeyError):
        return False


def _text(reader, key: str) -> str | None:
    field = reader.fields.get(key)
    return str(field.contents()) if field is not None else None
