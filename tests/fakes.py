"""A fake NoteEngine for unit tests of the pipeline and the deployments' logic."""

from __future__ import annotations

from dataclasses import dataclass, field

from models.engine import EngineConfig, Generation, Request
from models.profiles import GEMMA3, ModelProfile

GOOD_SECTION = (
    "Client reports low mood for two weeks with poor sleep and conflict at home. "
    "Client engaged well and practised a breathing exercise during the session."
)


@dataclass
class FakeEngine:
    """Answers every prompt with `answer(prompt, attempt)`; counts tokens as words. `batches`
    holds the prompts of each `generate_many` call (what the real engine decodes together)."""

    answer: object = None
    n_ctx: int = 4096
    profile: ModelProfile = GEMMA3
    prompts: list[str] = field(default_factory=list)
    batches: list[list[str]] = field(default_factory=list)
    elapsed_ms: int = 7
    timed_out: bool = False

    def __post_init__(self) -> None:
        self.config = EngineConfig(model_path="fake.gguf", n_ctx=self.n_ctx)

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def truncate(self, text: str, max_tokens: int) -> str:
        return " ".join(text.split()[:max_tokens])

    def generate(
        self, prompt: str, *, max_tokens=None, json_schema=None, attempt=0, deadline=None
    ) -> Generation:
        self.prompts.append(prompt)
        text = self.answer(prompt, attempt) if callable(self.answer) else GOOD_SECTION
        return Generation(
            text=text,
            completion_tokens=len(text.split()),
            prompt_tokens=self.count_tokens(prompt),
            elapsed_ms=self.elapsed_ms,
            timed_out=self.timed_out,
        )

    def generate_many(self, requests: list[Request]) -> list[Generation]:
        self.batches.append([r.prompt for r in requests])
        return [self.generate(r.prompt, max_tokens=r.max_tokens, attempt=r.attempt) for r in requests]

    def close(self) -> None:
        pass
