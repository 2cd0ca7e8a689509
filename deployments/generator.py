"""NoteGenerator: one GGUF model per replica, one request at a time, run off the event loop."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from ray import serve

from models.engine import EngineConfig, NoteEngine
from models.pipeline import DraftOptions, draft
from models.resolve import resolve_model
from schemas.notes import NoteFormat
from schemas.pipeline import Draft, PreparedTranscript

# Serve routes the "ray.serve" logger to the replica logs (JSON, with request ids).
logger = logging.getLogger("ray.serve")


@serve.deployment(
    name="NoteGenerator",
    # One Llama object aborts the process when two threads call it: never more than one request.
    max_ongoing_requests=1,
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
    ) -> None:
        resolved = resolve_model(model, Path(artifact_store), Path(model_cache), profile=profile)
        self.info = {
            "model": resolved.name,
            "model_version": resolved.version,
            "sha256": resolved.sha256,
            "lora_sha256": resolved.lora_sha256,
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
        logger.info("model loaded", extra={"model": resolved.name, "model_version": resolved.version})

    async def draft(self, prepared: PreparedTranscript, note_format: NoteFormat, attempt: int = 0) -> Draft:
        """The model's draft of a note for `prepared` (attempt > 0: a retry after invalid output)."""
        result = await asyncio.to_thread(draft, self.engine, prepared, note_format, self.options, attempt)
        result.model, result.model_version = self.info["model"], self.info["model_version"]
        logger.info(
            "draft generated",
            extra={
                "generation_ms": result.generation_ms,
                "attempt": attempt,
                "timed_out": result.timed_out,
                "chunks": result.chunks,
            },
        )
        return result

    def model_info(self) -> dict:
        """Name, version and checksums of the loaded model."""
        return dict(self.info)

    def __del__(self) -> None:
        engine = getattr(self, "engine", None)
        if engine is not None:
            engine.close()
