"""The llama.cpp side of the engine, through llama-cpp-python's low-level API: the model (with its
LoRA adapter), one context whose KV cache all sequences share, one batch, token text and the
sampler chain of each sequence. Only the engine thread calls a `Runtime` (tokenisation aside).

The context is unified (`kv_unified`): every sequence's cells live in one buffer, so a prompt
prefix evaluated once can be shared by other sequences with `llama_memory_seq_cp` (no copy of the
data, the cells gain sequence ids), and one `llama_decode` evaluates a token of every sequence.
"""

from __future__ import annotations

import ctypes
import logging
from dataclasses import dataclass

from models import cpu

#: Sampling of a retry (attempt > 0), as llama-cpp-python's `create_completion` did before: the
#: first answer is greedy, a retry samples so that it differs, reproducibly (seed + attempt).
RETRY_TEMPERATURE, TOP_K, TOP_P, MIN_P = 0.7, 40, 0.95, 0.05
#: Tokens the repeat penalty looks back on (llama-cpp-python's `last_n_tokens_size`).
PENALTY_LAST_N = 64


class EngineError(RuntimeError):
    """llama.cpp failed: the model did not load, or a decode returned an error."""


class NoKVSlot(EngineError):
    """llama_decode found no free KV cells for the batch (it returned 1) and evaluated none of it."""


@dataclass(frozen=True)
class RuntimeConfig:
    model_path: str
    lora_path: str | None
    kv_tokens: int
    max_sequences: int
    n_batch: int
    n_threads: int
    flash_attn: bool = False
    #: Keep every token in the sliding-window layers' cache too (more memory; see EngineConfig).
    swa_full: bool = False


def kv_capacity(config: RuntimeConfig, n_swa: int) -> int:
    """KV cells the sequences of a context can hold at once, as the engine counts them.

    A model with sliding-window layers (Gemma 3: 5 of every 6, window 512) keeps those layers in
    a second, smaller cache unless `swa_full`: n_swa * n_seq_max + n_batch cells (llama.cpp's
    `llama_kv_cache_iswa`). It frees a cell that slid out of the window only while one sequence
    holds it, so a prefix shared by a note's sections stays whole: four notes of 2,000-token
    sessions decoded together overflowed it (llama_decode returned 1) though the main cache had
    room. The engine's budget is the smaller of the two.
    """
    if n_swa <= 0 or config.swa_full:
        return config.kv_tokens
    return min(config.kv_tokens, n_swa * config.max_sequences + config.n_batch)


class Runtime:
    def __init__(self, config: RuntimeConfig) -> None:
        cpu.check()  # before llama.cpp is loaded: a missing instruction would kill the process
        import llama_cpp as lib

        # llama-cpp-python prints llama.cpp's log lines unless its logger is set above INFO.
        logging.getLogger("llama-cpp-python").setLevel(logging.ERROR)

        self.lib, self.config = lib, config
        lib.llama_backend_init()
        self.model = lib.llama_model_load_from_file(
            config.model_path.encode("utf-8"), lib.llama_model_default_params()
        )
        if not self.model:
            raise EngineError("llama.cpp could not load the model file")
        self.vocab = lib.llama_model_get_vocab(self.model)
        self.n_vocab = lib.llama_vocab_n_tokens(self.vocab)
        params = lib.llama_context_default_params()
        params.n_ctx = config.kv_tokens
        params.n_batch = params.n_ubatch = config.n_batch
        params.n_seq_max = config.max_sequences
        # Logits are asked for at most one token per sequence in a step: keep the output buffer
        # (vocabulary x outputs, 1 MiB per output for Gemma 3) that small.
        params.n_outputs_max = config.max_sequences
        params.n_threads = params.n_threads_batch = config.n_threads
        params.kv_unified = True
        params.swa_full = config.swa_full
        params.flash_attn_type = (
            lib.LLAMA_FLASH_ATTN_TYPE_ENABLED if config.flash_attn else lib.LLAMA_FLASH_ATTN_TYPE_DISABLED
        )
        params.no_perf = True
        self.ctx = lib.llama_init_from_model(self.model, params)
        if not self.ctx:
            lib.llama_model_free(self.model)
            raise EngineError("llama.cpp could not create a context")
        self.adapter = None
        if config.lora_path:
            self.adapter = lib.llama_adapter_lora_init(self.model, config.lora_path.encode("utf-8"))
            adapters = (lib.llama_adapter_lora_p_ctypes * 1)(self.adapter)
            if not self.adapter or lib.llama_set_adapters_lora(
                self.ctx, adapters, 1, (ctypes.c_float * 1)(1.0)
            ):
                self.close()
                raise EngineError("llama.cpp could not apply the LoRA adapter")
        self.capacity = kv_capacity(config, lib.llama_model_n_swa(self.model))
        self.memory = lib.llama_get_memory(self.ctx)
        self.batch = lib.llama_batch_init(config.n_batch, 0, 1)
        self.n_tokens = 0
        self.bos = lib.llama_vocab_bos(self.vocab)

    # Text <-> tokens (safe from any thread: the vocabulary is read-only).
    def tokenize(self, text: str, add_bos: bool = True) -> list[int]:
        data = text.encode("utf-8")
        size = len(data) + 8
        buf = (self.lib.llama_token * size)()
        n = self.lib.llama_tokenize(self.vocab, data, len(data), buf, size, add_bos, True)
        if n < 0:
            raise EngineError("tokenisation failed")
        return list(buf[:n])

    def piece(self, token: int) -> bytes:
        buf = ctypes.create_string_buffer(64)
        n = self.lib.llama_token_to_piece(self.vocab, token, buf, 64, 0, False)
        return buf.raw[: max(n, 0)]

    def detokenize(self, tokens: list[int]) -> str:
        data = b"".join(self.piece(t) for t in tokens)
        if tokens and tokens[0] == self.bos and data.startswith(b" "):
            data = data[1:]
        return data.decode("utf-8", errors="ignore")

    def is_end(self, token: int) -> bool:
        return bool(self.lib.llama_vocab_is_eog(self.vocab, token))

    # Sampling.
    def sampler(self, repeat_penalty: float, attempt: int, seed: int, grammar: str | None):
        """A new sampler chain: repeat penalty, grammar, then greedy (attempt 0) or seeded sampling."""
        lib = self.lib
        chain = lib.llama_sampler_chain_init(lib.llama_sampler_chain_default_params())
        penalties = lib.llama_sampler_init_penalties(self.n_vocab, PENALTY_LAST_N, repeat_penalty, 0.0, 0.0)
        lib.llama_sampler_chain_add(chain, penalties)
        if grammar:
            rule = lib.llama_sampler_init_grammar(self.vocab, grammar.encode("utf-8"), b"root")
            if not rule:
                lib.llama_sampler_free(chain)
                raise ValueError("the grammar does not parse")
            lib.llama_sampler_chain_add(chain, rule)
        if attempt == 0:
            lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_greedy())
        else:
            for link in (
                lib.llama_sampler_init_top_k(TOP_K),
                lib.llama_sampler_init_typical(1.0, 1),
                lib.llama_sampler_init_top_p(TOP_P, 1),
                lib.llama_sampler_init_min_p(MIN_P, 1),
                lib.llama_sampler_init_temp(RETRY_TEMPERATURE),
                lib.llama_sampler_init_dist(seed + attempt),
            ):
                lib.llama_sampler_chain_add(chain, link)
        return chain

    def sample(self, chain, index: int) -> int:
        """The next token from the logits of batch entry `index` (the chain accepts it)."""
        return int(self.lib.llama_sampler_sample(chain, self.ctx, index))

    def free_sampler(self, chain) -> None:
        self.lib.llama_sampler_free(chain)

    # The batch and the KV cache.
    def add(self, token: int, pos: int, seq_id: int, logits: bool) -> int:
        """Append one token to the batch; returns its index there."""
        i, b = self.n_tokens, self.batch
        b.token[i], b.pos[i], b.n_seq_id[i], b.logits[i] = token, pos, 1, logits
        b.seq_id[i][0] = seq_id
        self.n_tokens += 1
        return i

    def decode(self) -> None:
        """Evaluate the batch (one llama_decode for every sequence in it) and empty it."""
        self.batch.n_tokens, n = self.n_tokens, self.n_tokens
        self.n_tokens = 0
        if n == 0:
            return
        code = self.lib.llama_decode(self.ctx, self.batch)
        if code == 1:
            raise NoKVSlot("llama_decode found no KV cells for the batch")
        if code != 0:
            raise EngineError(f"llama_decode returned {code}")

    def share(self, src: int, dst: int, n: int) -> None:
        """Let sequence `dst` see positions [0, n) of sequence `src` (no data is copied)."""
        self.lib.llama_memory_seq_cp(self.memory, src, dst, 0, n)

    def forget(self, seq_id: int) -> None:
        self.lib.llama_memory_seq_rm(self.memory, seq_id, -1, -1)

    def clear(self) -> None:
        """Empty the KV cache, so that the next sequences are laid out as on a fresh context."""
        self.lib.llama_memory_clear(self.memory, True)

    def close(self) -> None:
        lib = self.lib
        if getattr(self, "batch", None) is not None:
            lib.llama_batch_free(self.batch)
            self.batch = None
        if self.ctx:
            lib.llama_free(self.ctx)
            self.ctx = None
        if self.adapter:
            lib.llama_adapter_lora_free(self.adapter)
            self.adapter = None
        if self.model:
            lib.llama_model_free(self.model)
            self.model = None
