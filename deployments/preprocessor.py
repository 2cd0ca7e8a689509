"""Preprocessor: normalises a transcript, parses its turns and scans all of it for risks."""

from __future__ import annotations

import logging

from ray import serve

from models.pipeline import prepare
from schemas.errors import EmptyTranscript, TranscriptTooLarge
from schemas.pipeline import PreparedTranscript

# Serve routes the "ray.serve" logger to the replica logs (JSON, with request ids).
logger = logging.getLogger("ray.serve")


@serve.deployment(name="Preprocessor", ray_actor_options={"num_cpus": 0.1})
class Preprocessor:
    def __init__(self, max_transcript_chars: int) -> None:
        self.max_transcript_chars = max_transcript_chars

    def process(self, transcript: str) -> PreparedTranscript:
        """The prepared transcript; EmptyTranscript or TranscriptTooLarge for bad input."""
        if len(transcript) > self.max_transcript_chars:
            raise TranscriptTooLarge()
        prepared = prepare(transcript)
        if not prepared.text:
            raise EmptyTranscript()
        logger.info(
            "transcript prepared",
            extra={"words": prepared.words, "turns": len(prepared.turns), "risks": len(prepared.risk_flags)},
        )
        return prepared
