"""The engine on the real GGUF (embedded Gemma 3 270M and the published adapter): a group decoded
twice gives the same text, batched greedy decoding starts as decoding each prompt alone does, the
adapter changes what the model writes, and a JSON-schema grammar holds."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import pytest

from models.engine import EngineConfig, NoteEngine, Request
from models.prompts import section_prompt
from models.resolve import resolve_model
from schemas.notes import SECTIONS, NoteFormat

TRANSCRIPT = (
    "Therapist: Welcome back. How was the week?\n"
    "Client: Honestly pretty rough. I had two panic attacks at work, one in a meeting on Monday.\n"
    "Therapist: That sounds frightening. What did you do when it happened?\n"
    "Client: I tried the breathing we practised and it helped a little. I'm sleeping maybe five hours.\n"
    "Therapist: For this week, please keep a short panic diary and practise the breathing twice a day.\n"
)
TOKENS = 24


@pytest.fixture(scope="module")
def model():
    return resolve_model("gemma3-270m-notes:latest")


def _engine(model, **config) -> NoteEngine:
    return NoteEngine(
        EngineConfig(
            model_path=str(model.path),
            lora_path=str(model.lora_path) if model.lora_path else None,
            profile=model.profile,
            max_tokens=TOKENS,
            **config,
        )
    )


@pytest.fixture(scope="module")
def prompts(model):
    from models.profiles import get_profile

    profile = get_profile(model.profile)
    return [section_prompt(profile, TRANSCRIPT, s) for s in SECTIONS[NoteFormat.SOAP]]


@pytest.fixture(scope="module")
def sequential(model, prompts):
    engine = _engine(model, batching=False)
    try:
        return [g.text for g in engine.generate_many([Request(p) for p in prompts])]
    finally:
        engine.close()


def test_batched_greedy_decoding_equals_each_prompt_alone(model, prompts, sequential):
    engine = _engine(model)
    try:
        first = engine.generate_many([Request(p) for p in prompts])
        again = engine.generate_many([Request(p) for p in prompts])
        assert engine.health()["ok"] is True
    finally:
        engine.close()
    assert [g.text for g in first] == [g.text for g in again]  # a note run alone is reproducible
    assert all(g.completion_tokens > 0 for g in first)
    # Batched and one-at-a-time decoding sum in other orders, so a greedy token can differ after a
    # few tokens (measured with v1: 3 of these 4 sections identical over 24 tokens, the 4th from
    # its 14th token; with v2 one section from its 3rd word on the AVX2 build, and on the AVX-512
    # build the plan from its first word: "The client will" / "Client will"). A wrongly shared
    # prefix would make every sequence but the first differ from its first token.
    same = [
        batched.split()[:2] == alone.split()[:2]
        for batched, alone in zip([g.text for g in first], sequential, strict=True)
    ]
    assert sum(same) >= len(same) - 1, same


def test_the_adapter_is_applied_and_changes_greedy_output(model, prompts, sequential):
    """The published adapter is the one its manifest names, and the engine applies it: the base
    model alone answers the same greedy requests otherwise (a lora_path that was ignored, or an
    adapter whose scale came out zero, would give the base model's text)."""
    assert model.lora_path is not None and model.lora_sha256
    with model.lora_path.open("rb") as f:
        assert hashlib.file_digest(f, "sha256").hexdigest() == model.lora_sha256
    engine = _engine(replace(model, lora_path=None), batching=False)
    try:
        base = [g.text for g in engine.generate_many([Request(p) for p in prompts])]
    finally:
        engine.close()
    assert all(base) and all(sequential)
    differing = [i for i, (b, a) in enumerate(zip(base, sequential, strict=True)) if b != a]
    assert len(differing) == len(prompts), differing


def test_a_json_schema_grammar_holds(model, prompts):
    engine = _engine(model)
    schema = {"type": "object", "properties": {"mood": {"enum": ["low", "ok"]}}, "required": ["mood"]}
    try:
        gen = engine.generate(prompts[0], max_tokens=16, json_schema=schema)
    finally:
        engine.close()
    assert json.loads(gen.text)["mood"] in ("low", "ok")


def test_the_merged_model_writes_as_the_adapter_at_run_time_does(model, prompts, sequential):
    """The adapter merged into the base (as the service serves it) starts each section as the
    adapter applied at run time does; the second quantisation of the adapted weights may change a
    later token."""
    merged = resolve_model("gemma3-270m-notes:latest", merge_lora=True)
    assert merged.merged and merged.lora_path is None and merged.lora_sha256 == model.lora_sha256
    engine = _engine(merged, batching=False)
    try:
        texts = [g.text for g in engine.generate_many([Request(p) for p in prompts])]
    finally:
        engine.close()
    same = [m.split()[:2] == a.split()[:2] for m, a in zip(texts, sequential, strict=True)]
    assert sum(same) >= len(same) - 1, same


def test_notes_beyond_the_sliding_window_cache_are_handed_back_not_failed(model, prompts):
    """Gemma 3's sliding-window cache (512 * 16 + 512 cells here) keeps each note's shared
    transcript whole. An engine told the cache holds all of kv_tokens admits four notes of about
    2,500 tokens at once; llama.cpp then finds no cells (llama_decode returns 1), and the engine
    hands the newest note back to wait instead of failing the notes: every note is answered."""
    from models.llama_runtime import Runtime, RuntimeConfig

    config = EngineConfig(model_path=str(model.path), profile=model.profile, max_tokens=64, kv_tokens=16384)
    runtime = Runtime(
        RuntimeConfig(str(model.path), None, 16384, 16, config.n_batch, config.n_threads, config.flash_attn)
    )
    assert runtime.capacity == 512 * 16 + 512  # what the engine budgets by default
    runtime.capacity = 16384  # as if the sliding-window cache held every cell
    engine = NoteEngine(config, runtime)
    notes = [f"Session {i}.\n" + TRANSCRIPT * 30 + prompts[0][-200:] for i in range(5)]
    try:
        futures = [engine.submit([Request(p + q) for q in "ABCD"]) for p in notes]
        answered = [g.text for fs in futures for f in fs for g in f.result(600)]
        health = engine.health()
    finally:
        engine.close()
    assert len(answered) == 20 and all(answered)
    assert health["ok"] is True and health["handed_back"] >= 1
