"""The engine's scheduling on a stand-in for llama.cpp: shared prefixes, one batch for many
sequences, requests joining a running batch, the KV budget, deadlines, stop strings and failures.

`ToyRuntime` keeps a real per-sequence cache of (position, token) and answers from the whole of it,
so a prefix shared wrongly, a position skipped or a token fed twice changes the answer. The real
llama.cpp engine is tested in test_engine_llama.py.
"""

from __future__ import annotations

import threading
import time

import pytest

from models.engine import EngineConfig, EngineError, NoteEngine, Request, common_prefix
from models.llama_runtime import NoKVSlot, RuntimeConfig, kv_capacity

BOS, END = 1, 2


class ToyRuntime:
    """Tokens are characters; the answer to a sequence is a function of everything in its cache."""

    def __init__(
        self, fail_on_decode: int | None = None, step_s: float = 0.0, slots: int | None = None
    ) -> None:
        #: With `slots`, a decode that would hold more cells in all than that finds no KV slot
        #: (what llama.cpp's sliding-window cache does), evaluates nothing and says so.
        self.slots = slots
        self.no_slot = 0
        self.cache: dict[int, list[int]] = {}
        self.batch: list[tuple[int, int, int, bool]] = []
        self.batches: list[list[tuple[int, int, int, bool]]] = []
        self.logits: dict[int, int] = {}
        self.answered: dict[int, int] = {}
        self.decodes = 0
        self.fail_on_decode = fail_on_decode
        self.step_s = step_s
        self.n_tokens = 0
        self.lock = threading.Lock()

    def tokenize(self, text: str, add_bos: bool = True) -> list[int]:
        return ([BOS] if add_bos else []) + [ord(c) for c in text]

    def piece(self, token: int) -> bytes:
        return chr(token).encode()

    def detokenize(self, tokens: list[int]) -> str:
        return "".join(chr(t) for t in tokens if t != BOS)

    def is_end(self, token: int) -> bool:
        return token == END

    def sampler(self, repeat_penalty, attempt, seed, grammar):
        return object()

    def free_sampler(self, chain) -> None:
        pass

    def add(self, token: int, pos: int, seq_id: int, logits: bool) -> int:
        self.batch.append((token, pos, seq_id, logits))
        self.n_tokens = len(self.batch)
        return len(self.batch) - 1

    def decode(self) -> None:
        batch, self.batch, self.n_tokens = self.batch, [], 0
        if not batch:
            return
        self.decodes += 1
        if self.decodes == self.fail_on_decode:
            raise EngineError("llama_decode returned -1")
        if self.slots is not None and sum(map(len, self.cache.values())) + len(batch) > self.slots:
            self.no_slot += 1
            raise NoKVSlot("llama_decode found no KV cells for the batch")
        time.sleep(self.step_s)
        self.batches.append(batch)
        self.logits = {}
        for i, (token, pos, seq, want) in enumerate(batch):
            cells = self.cache.setdefault(seq, [])
            assert pos == len(cells), f"sequence {seq}: position {pos} after {len(cells)} cells"
            cells.append(token)
            if want:
                self.logits[i] = self._next(seq)

    def _next(self, seq: int) -> int:
        cells = self.cache[seq]
        n = self.answered.get(seq, 0)
        self.answered[seq] = n + 1
        if n >= 3 + sum(cells) % 5:
            return END
        return ord("a") + (sum(cells) * 31 + len(cells)) % 26

    def sample(self, chain, index: int) -> int:
        return self.logits[index]

    def share(self, src: int, dst: int, n: int) -> None:
        self.cache[dst] = list(self.cache[src][:n])

    def forget(self, seq_id: int) -> None:
        self.cache.pop(seq_id, None)
        self.answered.pop(seq_id, None)

    def clear(self) -> None:
        self.cache.clear()
        self.answered.clear()

    def close(self) -> None:
        pass


def _engine(runtime=None, **config) -> NoteEngine:
    return NoteEngine(EngineConfig(model_path="toy.gguf", **config), runtime or ToyRuntime())


TRANSCRIPT = "Client: I slept badly and argued with my sister. " * 30
PROMPTS = [f"{TRANSCRIPT}Question {q}?" for q in ("one", "two, longer", "three")]


@pytest.fixture
def engines():
    made: list[NoteEngine] = []

    def make(runtime=None, **config) -> NoteEngine:
        made.append(_engine(runtime, **config))
        return made[-1]

    yield make
    for engine in made:
        engine.close()


def test_common_prefix_leaves_each_sequence_a_token_of_its_own():
    assert common_prefix([[1, 2, 3], [1, 2, 4]]) == 2
    assert common_prefix([[1, 2], [1, 2]]) == 1
    assert common_prefix([[1, 2, 3]]) == 0
    assert common_prefix([[5], [6]]) == 0


def test_a_batched_group_answers_as_sequential_decoding_does(engines):
    sequential = engines(batching=False).generate_many([Request(p) for p in PROMPTS])
    runtime = ToyRuntime()
    batched = engines(runtime).generate_many([Request(p) for p in PROMPTS])
    assert [g.text for g in batched] == [g.text for g in sequential]
    assert all(g.text and not g.timed_out for g in batched)
    # The transcript was evaluated once: every prompt token of the other sequences is their suffix.
    prompt_tokens = sum(1 for b in runtime.batches for (_, _, _, want) in b if not want)
    lengths = [len(p) + 1 for p in PROMPTS]
    prefix = common_prefix([[BOS, *map(ord, p)] for p in PROMPTS])
    assert prompt_tokens == prefix + sum(n - prefix for n in lengths) - len(PROMPTS)
    # Once decoding, all three sequences went through one decode per step.
    assert max(sum(1 for (_, _, _, want) in b if want) for b in runtime.batches) == 3


def test_prompts_longer_than_a_step_are_evaluated_in_chunks(engines):
    runtime = ToyRuntime()
    batched = engines(runtime, n_batch=64).generate_many([Request(p) for p in PROMPTS])
    sequential = engines(batching=False).generate_many([Request(p) for p in PROMPTS])
    assert [g.text for g in batched] == [g.text for g in sequential]
    assert max(len(b) for b in runtime.batches) == 64


def test_a_request_joins_a_running_batch_and_answers_as_alone(engines):
    alone = engines().generate_many([Request("Client: a short one.")])[0].text
    runtime = ToyRuntime(step_s=0.002)
    engine = engines(runtime, n_batch=32)
    first = engine.submit([Request(p, max_tokens=200) for p in PROMPTS])
    while not any(want for b in runtime.batches for (*_, want) in b):
        time.sleep(0.001)  # until the first group decodes
    second = engine.submit([Request("Client: a short one.")])
    assert second[0].result(5)[0].text == alone
    [f.result(5) for f in first]
    seqs = [{seq for (_, _, seq, _) in b} for b in runtime.batches]
    assert any(len(s) == 4 for s in seqs), "the second request never shared a step with the first"


def test_the_kv_budget_makes_a_group_wait(engines):
    runtime = ToyRuntime(step_s=0.001)
    engine = engines(runtime, kv_tokens=400, max_tokens=20, n_ctx=400)
    a = engine.submit([Request("A" * 300)])
    b = engine.submit([Request("B" * 300)])
    assert a[0].result(5)[0].text and b[0].result(5)[0].text
    tokens_of = [{tok for (tok, *_rest) in batch} for batch in runtime.batches]
    assert not any(ord("A") in t and ord("B") in t for t in tokens_of)


def test_max_groups_decodes_requests_one_after_another_with_the_same_answers(engines):
    runtime = ToyRuntime(step_s=0.001)
    engine = engines(runtime, max_groups=1, max_tokens=20)
    alone = [engines().generate_many([Request(p)])[0].text for p in ("A" * 50, "B" * 50)]
    a, b = engine.submit([Request("A" * 50)]), engine.submit([Request("B" * 50)])
    assert [a[0].result(5)[0].text, b[0].result(5)[0].text] == alone
    tokens_of = [{tok for (tok, *_rest) in batch} for batch in runtime.batches]
    assert not any(ord("A") in t and ord("B") in t for t in tokens_of)


def test_a_group_larger_than_the_budget_is_split(engines):
    engine = engines(kv_tokens=700, max_tokens=20, n_ctx=600)
    gens = engine.generate_many([Request(f"{'x' * 300}{i}") for i in range(4)])
    assert len(gens) == 4 and all(g.text for g in gens)
    with pytest.raises(ValueError, match="n_ctx"):
        engine.generate_many([Request("y" * 700)])


def test_max_tokens_stop_strings_and_deadlines(engines):
    engine = engines()
    [limited] = engine.generate_many([Request(PROMPTS[0], max_tokens=2)])
    assert limited.completion_tokens == 2 and limited.stopped_by_length
    full = engine.generate_many([Request(PROMPTS[0])])[0].text
    stop = full[1:3]
    [stopped] = engine.generate_many([Request(PROMPTS[0], stop=(stop,))])
    assert stopped.text == full[: full.index(stop)].strip() and not stopped.stopped_by_length
    [late] = engine.generate_many([Request(PROMPTS[0], deadline=time.monotonic() - 1)])
    assert late.timed_out and late.text == "" and late.completion_tokens == 0


def test_a_deadline_stops_a_running_sequence(engines):
    engine = engines(ToyRuntime(step_s=0.05))
    [gen] = engine.generate_many([Request(PROMPTS[0], max_tokens=200, deadline=time.monotonic() + 0.3)])
    assert gen.timed_out and gen.completion_tokens < 200


def test_a_failed_decode_fails_its_requests_and_health_says_so(engines):
    engine = engines(ToyRuntime(fail_on_decode=2))
    assert engine.health()["ok"] is False and engine.health()["last_decode_at"] is None
    with pytest.raises(EngineError):
        engine.generate_many([Request(PROMPTS[0])])
    health = engine.health()
    assert health["ok"] is False and health["error"] == "llama_decode returned -1"
    assert engine.generate_many([Request(PROMPTS[1])])[0].text  # the engine serves on
    health = engine.health()
    assert health["ok"] is True and health["last_decode_at"] and health["tokens_per_s"] > 0


def test_a_group_llama_cpp_finds_no_cells_for_is_handed_back_and_answers_as_alone(engines):
    """The engine's budget admits two requests; the cache holds one at a time. The newer one is
    handed back, waits for the first to finish, starts again, and both answer as they do alone;
    nothing fails."""
    alone = [engines().generate_many([Request(p)])[0].text for p in ("A" * 300, "B" * 300)]
    runtime = ToyRuntime(step_s=0.001, slots=400)
    engine = engines(runtime, max_tokens=20)
    a, b = engine.submit([Request("A" * 300)]), engine.submit([Request("B" * 300)])
    assert [a[0].result(5)[0].text, b[0].result(5)[0].text] == alone
    assert runtime.no_slot >= 1 and engine.health()["ok"] is True


def test_a_request_that_alone_finds_no_cells_fails_and_the_engine_serves_on(engines):
    runtime = ToyRuntime(slots=100)
    engine = engines(runtime, max_tokens=20)
    with pytest.raises(EngineError, match="does not fit"):
        engine.generate_many([Request("A" * 300)])
    assert engine.generate_many([Request("short")])[0].text


def test_the_budget_is_the_sliding_window_cache_where_it_is_smaller():
    config = RuntimeConfig("m.gguf", None, kv_tokens=16384, max_sequences=16, n_batch=512, n_threads=2)
    assert kv_capacity(config, n_swa=512) == 512 * 16 + 512
    assert kv_capacity(config, n_swa=0) == 16384
    assert kv_capacity(RuntimeConfig(**{**config.__dict__, "swa_full": True}), n_swa=512) == 16384
    assert kv_capacity(RuntimeConfig(**{**config.__dict__, "kv_tokens": 4096}), n_swa=512) == 4096


def test_a_closed_engine_refuses_work():
    engine = _engine()
    engine.self_test()
    engine.close()
    assert not engine.alive and engine.health()["ok"] is False
    with pytest.raises(EngineError):
        engine.generate_many([Request("x")])
