"""One GGUF model loaded with llama-cpp-python, and the decoding settings the service uses.

A `llama_cpp.Llama` must never be called from two threads at once (it aborts the process), so a
`NoteEngine` serialises its calls with a lock; Serve also gives each replica one request at a time.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field

from models import cpu
from models.profiles import ModelProfile, get_profile
from models.prompts import section_prompt


@dataclass(frozen=True)
class EngineConfig:
    model_path: str
    lora_path: str | None = None
    profile: str = "gemma3"
    n_ctx: int = 4096
    n_threads: int = 2
    n_batch: int = 512
    max_tokens: int = 256
    seed: int = 0
    repeat_penalty: float = 1.1


@dataclass
class Generation:
    text: str
    completion_tokens: int
    prompt_tokens: int
    elapsed_ms: int
    timed_out: bool = False
    stopped_by_length: bool = False


@dataclass
class NoteEngine:
    config: EngineConfig
    profile: ModelProfile = field(init=False)

    def __post_init__(self) -> None:
        cpu.check()  # before llama.cpp is loaded: a missing instruction would kill the process
        from llama_cpp import Llama

        self.profile = get_profile(self.config.profile)
        self._lock = threading.Lock()
        self._llm = Llama(
            model_path=self.config.model_path,
            lora_path=self.config.lora_path,
            n_ctx=self.config.n_ctx,
            n_threads=self.config.n_threads,
            n_threads_batch=self.config.n_threads,
            n_batch=self.config.n_batch,
            seed=self.config.seed,
            verbose=False,
        )

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` as the model sees it inside a prompt (no BOS)."""
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def truncate(self, text: str, max_tokens: int) -> str:
        """The longest prefix of `text` that is at most `max_tokens` tokens."""
        ids = self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        return self._llm.detokenize(ids[:max_tokens]).decode("utf-8", errors="ignore")

    def generate(
        self,
        prompt: str,
        *,
        max_tokens: int | None = None,
        json_schema: dict | None = None,
        attempt: int = 0,
        deadline: float | None = None,
    ) -> Generation:
        """Complete `prompt` deterministically; stop early at `deadline` (time.monotonic()).

        Attempt 0 decodes greedily; a retry (attempt > 0) samples at temperature 0.7 with a seed
        derived from the attempt, so it differs from the first answer yet stays reproducible.
        """
        from llama_cpp import LlamaGrammar

        grammar = (
            LlamaGrammar.from_json_schema(json.dumps(json_schema), verbose=False) if json_schema else None
        )
        start = time.monotonic()
        # Tokenised once here (as create_completion would: BOS, special tokens parsed).
        ids = self._llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
        pieces: list[str] = []
        finish = None
        timed_out = False
        with self._lock:
            # A fresh context per call: reusing a cached prompt prefix changes the floating-point
            # path and with it, rarely, a greedy token. Prompt evaluation is cheap next to decoding.
            self._llm.reset()
            stream = self._llm.create_completion(
                ids,
                max_tokens=max_tokens or self.config.max_tokens,
                temperature=0.0 if attempt == 0 else 0.7,
                top_k=40,
                top_p=0.95,
                repeat_penalty=self.config.repeat_penalty,
                seed=self.config.seed + attempt,
                stop=list(self.profile.stop),
                grammar=grammar,
                stream=True,
            )
            for chunk in stream:  # type: ignore[union-attr]  # stream=True yields chunks
                choice: dict = chunk["choices"][0]  # type: ignore[index,assignment]
                pieces.append(choice["text"])
                finish = choice.get("finish_reason") or finish
                if deadline is not None and time.monotonic() > deadline:
                    timed_out = True
                    break
            completion_tokens = self._llm.n_tokens
        return Generation(
            text="".join(pieces).strip(),
            completion_tokens=max(completion_tokens - len(ids), 0),
            prompt_tokens=len(ids),
            elapsed_ms=int((time.monotonic() - start) * 1000),
            timed_out=timed_out,
            stopped_by_length=finish == "length",
        )

    def generate_section(self, transcript: str, section: str) -> str:
        """One note section for `transcript`, with the prompt the model was trained on."""
        return self.generate(section_prompt(self.profile, transcript, section)).text

    def close(self) -> None:
        """Free the model (avoids llama_cpp's noisy __del__ at interpreter exit)."""
        with self._lock:
            self._llm.close()
