"""NoteGenerator: one engine per replica; the whole note (draft, ground, validate, retry, fall back)
is made here, under the request's one time budget, and handed to the NoteWriter to store.

The engine's thread decodes every request the replica holds in one batch, so the replica takes
several requests at once (`max_ongoing_requests`); each waits in a worker thread for its note.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from pathlib import Path

from ray import serve

from models.engine import EngineConfig, NoteEngine
from models.pipeline import DraftOptions, draft_note
from models.resolve import resolve_model
from schemas.api import NoteResponse
from schemas.errors import GenerationTimeout
from schemas.notes import NoteFormat, NoteMetadata, NoteSource
from schemas.pipeline import PreparedTranscript
from schemas.times import format_time

# Serve routes the "ray.serve" logger to the replica logs (JSON, with request ids).
logger = logging.getLogger("ray.serve")
#: Time kept back from the request's deadline for the fallback note and the trip to the writer.
DEADLINE_MARGIN_S = 2.0


@serve.deployment(
    name="NoteGenerator",
    max_ongoing_requests=4,
    max_queued_requests=8,
    ray_actor_options={"num_cpus": 1},
)
class NoteGenerator:
    def __init__(
        self,
        model: str,
        profile: str | None,
        artifact_store: str,
        model_cache: str,
        engine: dict,
        options: dict,
        merge_lora: bool = True,
    ) -> None:
        resolved = resolve_model(
            model, Path(artifact_store), Path(model_cache), profile=profile, merge_lora=merge_lora
        )
        self.info = {
            "model": resolved.name,
            "model_version": resolved.version,
            "sha256": resolved.sha256,
            "lora_sha256": resolved.lora_sha256,
            "lora_merged": resolved.merged,
            "profile": resolved.profile,
            "strategy": options.get("strategy", "sections"),
        }
        self.engine = NoteEngine(
            EngineConfig(
                model_path=str(resolved.path),
                lora_path=str(resolved.lora_path) if resolved.lora_path else None,
                profile=resolved.profile,
                **engine,
            )
        )
        self.options = DraftOptions(**options)
        # A broken engine (a build that does not suit this CPU, a bad model file) fails the
        # deployment here, with the reason, instead of the first clinic request.
        health = self.engine.self_test()
        logger.info(
            "model loaded",
            extra={
                "model": resolved.name,
                "model_version": resolved.version,
                "tokens_per_s": health["tokens_per_s"],
            },
        )

    async def generate(
        self, prepared: PreparedTranscript, note_format: NoteFormat, deadline: float | None = None
    ) -> NoteResponse:
        """The note to serve for `prepared`; `deadline` (epoch seconds) bounds all the work.

        GenerationTimeout when the request's time is already spent (it waited in the queue).
        """
        budget = None if deadline is None else deadline - time.time() - DEADLINE_MARGIN_S
        if budget is not None and budget <= 0:
            raise GenerationTimeout()
        until = None if budget is None else time.monotonic() + budget
        note, info = await asyncio.to_thread(
            draft_note, self.engine, prepared, note_format, self.options, deadline=until
        )
        metadata = NoteMetadata(
            model=self.info["model"],
            model_version=self.info["model_version"],
            source=NoteSource(info["source"]),
            generation_ms=info["generation_ms"],
            generated_at=format_time(datetime.now(UTC)),
            truncated=info["truncated"],
            grounding=info["grounding"] if info["source"] == NoteSource.MODEL.value else None,
        )
        logger.info(
            "note drafted",
            extra={
                k: info[k] for k in ("source", "attempts", "generation_ms", "chunks", "problems", "grounding")
            },
        )
        return NoteResponse(note=note, metadata=metadata)

    def model_info(self) -> dict:
        """Name, version and checksums of the loaded model, and the engine's last real decode."""
        return {**self.info, "engine": self.engine.health()}

    def check_health(self) -> None:
        """Serve's replica health check: a replica whose engine thread stopped is replaced."""
        if not self.engine.alive:
            raise RuntimeError("the engine thread has stopped")

    def __del__(self) -> None:
        engine = getattr(self, "engine", None)
        if engine is not None:
            engine.close()
