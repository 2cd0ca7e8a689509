"""The adapter merged into its base GGUF (models.merge) on the real files: the embedded Gemma 3 270M
and the published adapter. Every tensor keeps its base type, the weights the adapter does not
touch are copied byte for byte, the adapted ones move to base + scale * B @ A; the cache is reused
while it matches and rebuilt when it does not; a merge that cannot be done leaves the adapter to be
applied at run time."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import gguf
import numpy as np
import pytest

from models import merge as merge_module
from models import resolve as resolve_module
from models.merge import MergeError, merge_lora, merged_model
from models.resolve import resolve_model


@pytest.fixture(scope="module")
def runtime_model():
    return resolve_model("gemma3-270m-notes:latest")


@pytest.fixture(scope="module")
def merged(runtime_model, tmp_path_factory) -> Path:
    cache = tmp_path_factory.mktemp("cache")
    m = runtime_model
    return merged_model(m.path, m.lora_path, cache, m.sha256, m.lora_sha256)


def test_types_are_kept_untouched_weights_copied_and_adapted_weights_moved(runtime_model, merged):
    base = {t.name: t for t in gguf.GGUFReader(runtime_model.path).tensors}
    adapter = {t.name: t for t in gguf.GGUFReader(runtime_model.lora_path).tensors}
    alpha = float(gguf.GGUFReader(runtime_model.lora_path).fields["adapter.lora.alpha"].contents())
    out = {t.name: t for t in gguf.GGUFReader(merged).tensors}
    assert set(out) == set(base)
    adapted = {n for n in base if f"{n}.lora_a" in adapter}
    assert len(adapted) * 2 == len(adapter) > 0
    q8 = gguf.GGMLQuantizationType.Q8_0
    assert {n: t.tensor_type for n, t in out.items()} == {
        n: q8 if n in adapted else t.tensor_type for n, t in base.items()
    }
    for name in set(base) - adapted:
        assert np.array_equal(np.asarray(out[name].data), np.asarray(base[name].data)), name
    # Each adapted weight lies nearer base + delta than base: the delta is in, not lost to the
    # second quantisation (requantised to the base's 4-6 bit types, most weights snapped back).
    nearer, to_target, to_base = 0, 0.0, 0.0
    for name in sorted(adapted):
        t = base[name]
        w = gguf.quants.dequantize(t.data, t.tensor_type)
        a = np.asarray(adapter[f"{name}.lora_a"].data, dtype=np.float32)
        b = np.asarray(adapter[f"{name}.lora_b"].data, dtype=np.float32)
        target = w + (alpha / a.shape[0]) * (b @ a)
        m = gguf.quants.dequantize(out[name].data, out[name].tensor_type)
        d_target, d_base = float(np.linalg.norm(m - target)), float(np.linalg.norm(m - w))
        nearer += d_target < d_base
        to_target, to_base = to_target + d_target, to_base + d_base
    assert nearer == len(adapted) and to_target < 0.5 * to_base, (nearer, to_target, to_base)


def test_the_cache_is_reused_while_it_matches_and_rebuilt_when_it_does_not(runtime_model, merged):
    m, cache = runtime_model, merged.parent.parent
    stamp = merged.stat().st_mtime_ns
    assert merged_model(m.path, m.lora_path, cache, m.sha256, m.lora_sha256) == merged
    assert merged.stat().st_mtime_ns == stamp  # not made again
    good = merged.read_bytes()
    with merged.open("r+b") as f:  # a flipped byte in the last tensor's data
        f.seek(-100, 2)
        byte = f.read(1)
        f.seek(-100, 2)
        f.write(bytes([byte[0] ^ 0xFF]))
    assert merged_model(m.path, m.lora_path, cache, m.sha256, m.lora_sha256) == merged
    assert merged.read_bytes() == good  # made again, and the merge is deterministic
    record = json.loads(merged.with_suffix(".json").read_text())
    assert record["lora_sha256"] == m.lora_sha256 and record["base_sha256"] == m.sha256


def test_a_file_that_is_not_a_lora_adapter_is_refused(runtime_model, tmp_path):
    out = tmp_path / "merged.gguf"
    with pytest.raises(MergeError, match="not a LoRA"):
        merge_lora(runtime_model.path, runtime_model.path, out)
    assert list(tmp_path.iterdir()) == []  # nothing half-written


@pytest.mark.parametrize(
    "error", [MergeError("an adapter tensor does not fit"), PermissionError(13, "denied")]
)
def test_a_merge_that_fails_leaves_the_adapter_to_run_time(runtime_model, monkeypatch, tmp_path, error):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(merge_module, "merged_model", fail)
    resolved = resolve_module._merged(runtime_model, tmp_path)
    assert resolved == runtime_model and resolved.lora_path is not None and not resolved.merged


def test_resolve_merges_only_when_asked_and_only_an_adapter(runtime_model, merged, monkeypatch):
    calls = []
    monkeypatch.setattr(merge_module, "merged_model", lambda *a: calls.append(a) or merged)
    assert resolve_model("gemma3-270m-notes:latest") == runtime_model
    done = resolve_model("gemma3-270m-notes:latest", merge_lora=True)
    assert done == replace(runtime_model, path=merged, lora_path=None, merged=True)
    assert resolve_model("embedded", merge_lora=True).merged is False
    assert len(calls) == 1
