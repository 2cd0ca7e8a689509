"""The engine: one GGUF model and one thread that owns its llama.cpp context and decodes every
running sequence, of every request, in one batch per step.

Callers (any thread) hand it a group of requests, usually all the prompts of one note, with
`generate_many` and wait. The engine thread admits a group when the KV cache budget and free
sequence slots allow it (first come, first served; the rest wait). It evaluates the group's
longest common token prefix once, on its first sequence, shares those cells with the other
sequences, evaluates each one's own suffix, then decodes them together. Each step is one
`llama_decode` with one token of every decoding sequence plus prompt chunks of newly admitted
groups, up to `n_batch` tokens (continuous batching, as llama.cpp's server interleaves slots). A
sequence stops at the end of its turn, a stop string, its token limit or its deadline.

Greedy decoding of a group on an idle engine is deterministic (the cache is emptied whenever the
engine goes idle, so a note run alone always meets the same layout). Other requests decoded at the
same time change the floating-point path of attention, which can, rarely, change a greedy token.
With `batching=False` the engine runs one request at a time on an empty cache, the whole prompt
evaluated on its own: the engine before batching, kept for comparison.
"""

from __future__ import annotations

import collections
import json
import logging
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime

from models.llama_runtime import EngineError, NoKVSlot, Runtime, RuntimeConfig
from models.profiles import ModelProfile, get_profile
from models.prompts import section_prompt

__all__ = ["EngineConfig", "EngineError", "Generation", "NoteEngine", "Request"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineConfig:
    model_path: str
    lora_path: str | None = None
    profile: str = "gemma3"
    #: The most tokens one sequence (prompt and answer) may span.
    n_ctx: int = 4096
    #: KV cache cells shared by all sequences: bounds what is decoded at once.
    kv_tokens: int = 16384
    max_sequences: int = 16
    #: Requests (groups of sequences) decoded at the same time; 0: as many as the KV budget holds.
    #: In llama.cpp's unified KV cache each sequence's attention spans the cells of every sequence
    #: in it, so two 2,000-token notes decoded together cost more than one after the other on a
    #: CPU; see serve_config.yaml for what was measured.
    max_groups: int = 0
    n_threads: int = 2
    n_batch: int = 512
    max_tokens: int = 256
    seed: int = 0
    repeat_penalty: float = 1.1
    batching: bool = True
    #: llama.cpp's flash attention. On the CPU its kernel skips the KV cells a token's mask hides,
    #: so in the unified cache a sequence no longer pays for the other sequences' cells: notes
    #: decoded together, and each note alone, are faster (bench/serve_bench.py; serve_config.yaml).
    flash_attn: bool = True
    swa_full: bool = False


@dataclass(frozen=True)
class Request:
    prompt: str
    max_tokens: int | None = None
    #: 0 decodes greedily; a retry (> 0) samples at temperature 0.7 with seed + attempt.
    attempt: int = 0
    #: A GBNF grammar the answer must follow (root rule `root`).
    grammar: str | None = None
    #: Strings that end the answer (besides the model's end-of-turn tokens).
    stop: tuple[str, ...] = ()
    #: time.monotonic() past which decoding stops and the answer is marked timed out.
    deadline: float | None = None


@dataclass
class Generation:
    text: str
    completion_tokens: int
    prompt_tokens: int
    elapsed_ms: int
    timed_out: bool = False
    stopped_by_length: bool = False


@dataclass(eq=False)
class _Sequence:
    request: Request
    tokens: list[int]
    max_tokens: int
    stop: tuple[str, ...]
    group: _Group | None = None
    seq_id: int = -1
    n_eval: int = 0  # prompt tokens in the cache
    out: list[int] = field(default_factory=list)
    data: bytes = b""
    text: str | None = None
    sampler: object = None
    index: int = -1  # where its logits are in the current batch
    done: bool = False
    timed_out: bool = False
    by_length: bool = False
    finished: float = 0.0


@dataclass(eq=False)
class _Group:
    seqs: list[_Sequence]
    prefix: int
    submitted: float = field(default_factory=time.monotonic)
    future: Future = field(default_factory=Future)
    shared: bool = False

    @property
    def cells(self) -> int:
        return self.prefix + sum(len(s.tokens) - self.prefix + s.max_tokens for s in self.seqs)


def common_prefix(token_lists: list[list[int]]) -> int:
    """Tokens all lists begin with, leaving each at least one of its own (its logits are needed)."""
    if len(token_lists) < 2:
        return 0
    n = min(len(t) for t in token_lists) - 1
    first = token_lists[0]
    for i in range(max(n, 0)):
        if any(t[i] != first[i] for t in token_lists[1:]):
            return i
    return max(n, 0)


class NoteEngine:
    def __init__(self, config: EngineConfig, runtime: Runtime | None = None) -> None:
        """Load the model (`runtime`: a stand-in for llama.cpp, in tests) and start the thread."""
        self.config = config
        self.profile: ModelProfile = get_profile(config.profile)
        self.runtime = runtime or Runtime(
            RuntimeConfig(
                model_path=config.model_path,
                lora_path=config.lora_path,
                kv_tokens=config.kv_tokens,
                max_sequences=config.max_sequences,
                n_batch=config.n_batch,
                n_threads=config.n_threads,
                flash_attn=config.flash_attn,
                swa_full=config.swa_full,
            )
        )
        self._cond = threading.Condition()
        self._pending: collections.deque[_Group] = collections.deque()
        self._active: list[_Group] = []
        self._free_ids = list(range(config.max_sequences))
        #: The KV budget: kv_tokens, or less where the model's sliding-window cache holds less.
        self.capacity = min(config.kv_tokens, getattr(self.runtime, "capacity", config.kv_tokens))
        self._free_cells = self.capacity
        #: Set when a group was handed back for want of KV cells: admit none until one finishes.
        self._hold = False
        self._handed_back = 0
        self._closing = False
        self._steps: collections.deque[tuple[int, float]] = collections.deque(maxlen=64)
        self._last: dict = {"at": None, "ok": None, "error": None}
        self._thread = threading.Thread(target=self._run, name="note-engine", daemon=True)
        self._thread.start()

    # The public API (any thread).
    def submit(self, requests: list[Request]) -> list[Future]:
        """Queue `requests` as groups that each fit the KV budget (one group, one shared prefix,
        whenever they fit together); each future gives its group's Generations in order."""
        seqs = []
        for r in requests:
            tokens = self.runtime.tokenize(r.prompt)
            if len(tokens) >= self.config.n_ctx:
                raise ValueError(f"a prompt of {len(tokens)} tokens does not fit n_ctx {self.config.n_ctx}")
            limit = min(r.max_tokens or self.config.max_tokens, self.config.n_ctx - len(tokens))
            seqs.append(_Sequence(r, tokens, limit, tuple(r.stop) + self.profile.stop))
        groups = self._pack(seqs) if self.config.batching else [_Group([s], 0) for s in seqs]
        for group in groups:
            for s in group.seqs:
                s.group = group
        with self._cond:
            if self._closing or not self._thread.is_alive():
                raise EngineError("the engine is not running")
            self._pending.extend(groups)
            self._cond.notify()
        return [g.future for g in groups]

    def _pack(self, seqs: list[_Sequence]) -> list[_Group]:
        """Consecutive sequences in groups of at most max_sequences within the KV budget."""
        groups: list[_Group] = []
        for s in seqs:
            if groups:
                last = groups[-1].seqs + [s]
                candidate = _Group(last, common_prefix([x.tokens for x in last]))
                if len(last) <= self.config.max_sequences and candidate.cells <= self.capacity:
                    groups[-1] = candidate
                    continue
            if len(s.tokens) + s.max_tokens > self.capacity:
                raise ValueError(f"a prompt of {len(s.tokens)} tokens exceeds the KV budget")
            groups.append(_Group([s], 0))
        return groups

    def generate_many(self, requests: list[Request]) -> list[Generation]:
        """Decode `requests` together (shared prefix, one batch); their Generations in order.

        With `batching=False` they are decoded one after another, each on an empty cache.
        """
        return [g for f in self.submit(requests) for g in f.result()]

    def generate(
        self,
        prompt: str,
        *,
        max_tokens: int | None = None,
        json_schema: dict | None = None,
        attempt: int = 0,
        deadline: float | None = None,
    ) -> Generation:
        """Complete one prompt (see `Request`); `json_schema` constrains the answer to that schema."""
        grammar = None
        if json_schema is not None:
            from llama_cpp.llama_grammar import json_schema_to_gbnf

            grammar = json_schema_to_gbnf(json.dumps(json_schema))
        return self.generate_many([Request(prompt, max_tokens, attempt, grammar, (), deadline)])[0]

    def generate_section(self, transcript: str, section: str) -> str:
        """One note section for `transcript`, with the prompt the model was trained on."""
        return self.generate(section_prompt(self.profile, transcript, section)).text

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` as the model sees it inside a prompt (no BOS)."""
        return len(self.runtime.tokenize(text, add_bos=False))

    def truncate(self, text: str, max_tokens: int) -> str:
        """The longest prefix of `text` that is at most `max_tokens` tokens."""
        return self.runtime.detokenize(self.runtime.tokenize(text, add_bos=False)[:max_tokens])

    def self_test(self, timeout_s: float = 60.0) -> dict:
        """Decode a few tokens of two sequences that share a prefix; EngineError if that fails."""
        deadline = time.monotonic() + timeout_s
        prompts = [
            self.profile.render(f"Therapy session transcript:\nClient: I slept badly.\n\n{q}") for q in "AB"
        ]
        try:
            gens = self.generate_many([Request(p, max_tokens=4, deadline=deadline) for p in prompts])
        except Exception as e:
            raise EngineError(f"the engine's self-test failed: {e}") from e
        if any(g.timed_out for g in gens):
            raise EngineError(f"the engine's self-test did not finish in {timeout_s:.0f} s")
        return self.health()

    def health(self) -> dict:
        """The last real decode: when, whether it worked, and recent decoding speed."""
        with self._cond:
            tokens = sum(n for n, _ in self._steps)
            seconds = sum(s for _, s in self._steps)
            alive = self.alive
            at = self._last["at"]
            return {
                "ok": bool(self._last["ok"]) and alive,
                "last_decode_at": datetime.fromtimestamp(at, UTC).isoformat() if at else None,
                "error": self._last["error"] if alive else "the engine thread has stopped",
                "tokens_per_s": round(tokens / seconds, 1) if seconds else None,
                "running_sequences": sum(len(g.seqs) for g in self._active),
                "waiting_requests": sum(len(g.seqs) for g in self._pending),
                # Requests restarted because llama.cpp found no KV cells for them (see _hand_back).
                "handed_back": self._handed_back,
            }

    @property
    def alive(self) -> bool:
        """Whether the engine thread is running and takes requests."""
        return self._thread.is_alive() and not self._closing

    def close(self) -> None:
        """Stop the engine thread and free the model."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join()
        self.runtime.close()

    # The engine thread.
    def _run(self) -> None:
        try:
            while True:
                with self._cond:
                    while not self._closing and not self._pending and not self._active:
                        self._cond.wait()
                    if self._closing:
                        break
                    self._admit()
                try:
                    self._step()
                except Exception as e:  # a failed decode fails the requests in it, not the engine
                    self.runtime.n_tokens = 0
                    self._record(
                        0, 0.0, ok=False, error=str(e) if isinstance(e, EngineError) else type(e).__name__
                    )
                    for group in list(self._active):
                        self._fail(group, e)
        finally:
            with self._cond:
                self._closing = True
                stranded = list(self._pending) + list(self._active)
            for group in stranded:
                if not group.future.done():
                    group.future.set_exception(EngineError("the engine stopped"))

    def _admit(self) -> None:
        now = time.monotonic()
        for group in [g for g in self._pending if _expired(g, now)]:
            self._pending.remove(group)
            for s in group.seqs:
                s.done, s.timed_out, s.finished = True, True, now
            group.future.set_result([self._generation(s) for s in group.seqs])
        while self._pending:
            group = self._pending[0]
            if not self.config.batching and self._active:
                return
            if self.config.max_groups and len(self._active) >= self.config.max_groups:
                return
            if self._hold and self._active:
                return
            if len(group.seqs) > len(self._free_ids) or group.cells > self._free_cells:
                return
            self._pending.popleft()
            if not self._active:
                self.runtime.clear()  # a group on an idle engine meets the layout of a fresh context
            self._free_cells -= group.cells
            group.shared = len(group.seqs) == 1 or group.prefix == 0
            for s in group.seqs:
                s.seq_id = self._free_ids.pop(0)
                s.sampler = self.runtime.sampler(
                    self.config.repeat_penalty, s.request.attempt, self.config.seed, s.request.grammar
                )
            self._active.append(group)

    def _step(self) -> None:
        rt, now = self.runtime, time.monotonic()
        for group in list(self._active):
            for s in group.seqs:
                if not s.done and s.request.deadline is not None and now > s.request.deadline:
                    self._finish(s, timed_out=True)
        decoding = [s for g in self._active for s in g.seqs if not s.done and s.n_eval == len(s.tokens)]
        for s in decoding:
            s.index = rt.add(s.out[-1], len(s.tokens) + len(s.out) - 1, s.seq_id, True)
        room = self.config.n_batch - len(decoding)
        taken: list[tuple[_Sequence, int]] = []
        for group in self._active:
            for s in group.seqs:
                if (
                    room <= 0
                    or s.done
                    or s.n_eval == len(s.tokens)
                    or (s is not group.seqs[0] and not group.shared)
                ):
                    continue
                take = min(room, len(s.tokens) - s.n_eval)
                for pos in range(s.n_eval, s.n_eval + take):
                    i = rt.add(s.tokens[pos], pos, s.seq_id, pos == len(s.tokens) - 1)
                    if pos == len(s.tokens) - 1:
                        s.index = i
                s.n_eval += take
                taken.append((s, take))
                room -= take
        if rt.n_tokens == 0:
            return
        start = time.monotonic()
        try:
            rt.decode()
        except NoKVSlot:  # nothing was evaluated: undo this step's prompt chunks, make room
            for s, take in taken:
                s.n_eval -= take
            self._hand_back()
            return
        elapsed = time.monotonic() - start
        for group in self._active:
            leader = group.seqs[0]
            if not group.shared and leader.n_eval >= group.prefix:
                for s in group.seqs[1:]:
                    rt.share(leader.seq_id, s.seq_id, group.prefix)
                    s.n_eval = group.prefix
                group.shared = True
        sampled = 0
        for group in list(self._active):
            for s in group.seqs:
                if s.index >= 0 and not s.done:
                    token = rt.sample(s.sampler, s.index)
                    sampled += 1
                    self._accept(s, token)
                s.index = -1
        self._record(sampled, elapsed if sampled else 0.0, ok=True, error=None)

    def _accept(self, s: _Sequence, token: int) -> None:
        if self.runtime.is_end(token):
            self._finish(s)
            return
        s.out.append(token)
        s.data += self.runtime.piece(token)
        text = s.data.decode("utf-8", errors="ignore")
        for stop in s.stop:
            cut = text.find(stop)
            if cut >= 0:
                s.text = text[:cut]
                self._finish(s)
                return
        if len(s.out) >= s.max_tokens:
            self._finish(s, by_length=True)

    def _finish(self, s: _Sequence, timed_out: bool = False, by_length: bool = False) -> None:
        group = s.group
        assert group is not None
        s.done, s.timed_out, s.by_length, s.finished = True, timed_out, by_length, time.monotonic()
        self._release(s)
        if s is group.seqs[0] and not group.shared:  # the others wait for its prefix: they end too
            for other in group.seqs[1:]:
                if not other.done:
                    other.done, other.timed_out, other.finished = True, timed_out, s.finished
                    self._release(other)
        if all(x.done for x in group.seqs):
            self._active.remove(group)
            with self._cond:
                self._free_cells += group.prefix
                self._hold = False
            group.future.set_result([self._generation(x) for x in group.seqs])

    def _release(self, s: _Sequence) -> None:
        group = s.group
        assert group is not None
        self.runtime.forget(s.seq_id)
        self.runtime.free_sampler(s.sampler)
        s.sampler = None
        with self._cond:
            self._free_ids.append(s.seq_id)
            self._free_ids.sort()
            self._free_cells += len(s.tokens) - group.prefix + s.max_tokens

    def _hand_back(self) -> None:
        """Free the newest group's cells and queue it first again, to start afresh once a running
        group has finished (llama.cpp found no KV cells for a step); alone, it fails."""
        if len(self._active) <= 1:
            raise EngineError("the note does not fit the KV cache")
        group = self._active.pop()
        for s in group.seqs:
            if not s.done:
                self._release(s)
            s.seq_id, s.n_eval, s.out, s.data, s.text, s.index = -1, 0, [], b"", None, -1
            s.done = s.timed_out = s.by_length = False
        group.shared = False
        with self._cond:
            self._free_cells += group.prefix
            self._pending.appendleft(group)
            self._hold = True
            self._handed_back += 1
        logger.warning("a request was handed back to the queue for want of KV cells")

    def _fail(self, group: _Group, error: Exception) -> None:
        for s in group.seqs:
            if not s.done:
                s.done = True
                self._release(s)
        self._active.remove(group)
        with self._cond:
            self._free_cells += group.prefix
        group.future.set_exception(
            error if isinstance(error, EngineError) else EngineError("decoding failed")
        )

    def _record(self, tokens: int, seconds: float, ok: bool, error: str | None) -> None:
        with self._cond:
            if seconds:
                self._steps.append((tokens, seconds))
            self._last = {"at": time.time(), "ok": ok, "error": error}

    def _generation(self, s: _Sequence) -> Generation:
        text = s.text if s.text is not None else s.data.decode("utf-8", errors="ignore")
        group = s.group
        assert group is not None
        return Generation(
            text=text.strip(),
            completion_tokens=len(s.out),
            prompt_tokens=len(s.tokens),
            elapsed_ms=int((s.finished - group.submitted) * 1000),
            timed_out=s.timed_out,
            stopped_by_length=s.by_length,
        )


def _expired(group: _Group, now: float) -> bool:
    deadlines = [s.request.deadline for s in group.seqs]
    return all(d is not None and now > d for d in deadlines)
