"""The application builder: `serve run serve_config.yaml` calls `build_app(args)`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from ray.serve import Application

from deployments.generator import NoteGenerator
from deployments.ingress import Ingress
from deployments.preprocessor import Preprocessor
from deployments.writer import NoteWriter
from models.pipeline import STRATEGIES, Strategy
from schemas.settings import Settings


class EngineArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    n_ctx: int = Field(default=4096, ge=512, description="Most tokens one prompt and its answer may span.")
    kv_tokens: int = Field(
        default=16384,
        ge=512,
        description="KV cache cells all sequences of a replica share (unified): bounds what is decoded "
        "at once; requests beyond it wait in the replica.",
    )
    max_sequences: int = Field(default=16, ge=1, le=64, description="Sequences decoded together at most.")
    max_groups: int = Field(
        default=0,
        ge=0,
        description="Requests (each a group of sequences sharing its transcript) decoded at the same "
        "time; 0: as many as kv_tokens holds. The others wait in the engine.",
    )
    batching: bool = Field(
        default=True,
        description="Decode all sequences of all requests in one batch; false: one at a time, as before.",
    )
    flash_attn: bool = Field(
        default=True,
        description="llama.cpp's flash attention: a sequence's attention skips the other sequences' "
        "KV cells, so requests decode well together; false: the plain attention.",
    )
    n_threads: int = Field(default=2, ge=1, description="CPU threads llama.cpp uses per replica.")
    n_batch: int = Field(default=512, ge=8, description="Tokens evaluated per step (prompts and decoding).")
    seed: int = Field(default=0, description="Decoding seed (greedy decoding ignores it; retries use it).")
    repeat_penalty: float = Field(default=1.1, ge=1.0, description="Penalty on repeated tokens.")


class DraftArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    strategy: Strategy = Field(
        default="sections", description=f"How the model is asked: one of {STRATEGIES}."
    )
    section_max_tokens: int = Field(default=256, ge=8, description="Token limit of one section.")
    note_max_tokens: int = Field(default=512, ge=32, description="Token limit of a whole JSON note.")
    partial_max_tokens: int = Field(default=160, ge=16, description="Token limit of one part's summary.")
    timeout_s: float = Field(
        default=120.0,
        gt=0,
        description="Time limit of a note's generation, retry included (and within request_timeout_s); "
        "past it the note falls back.",
    )
    risk_opinion: bool = Field(
        default=False, description="Also ask the model the risk questions (models.risk_model), same batch."
    )


class AppArgs(BaseModel):
    """Arguments of the note service, from `applications[].args` in serve_config.yaml."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(
        default="embedded",
        description="'embedded' (Gemma 3 270M from its PyPI package), a .gguf path, or name:version "
        "/ name:latest from the artifact store.",
    )
    profile: str | None = Field(default=None, description="Model profile; default: from the model.")
    merge_lora: bool = Field(
        default=True,
        description="Serve a LoRA artifact merged into its base (made once in the model cache; runs as "
        "fast as the base model); false, or where the merge fails: the adapter applied at run time.",
    )
    artifact_store: str | None = Field(
        default=None, description="Artifact store root; default from settings."
    )
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default DATABASE_URL.")
    max_transcript_chars: int = Field(default=200_000, ge=1, description="Longer transcripts get 413.")
    max_body_bytes: int = Field(default=1_000_000, ge=1, description="Larger request bodies get 413.")
    request_timeout_s: float = Field(
        default=300.0,
        gt=0,
        description="Time a note request may take, queue, generation and retry included; then 503.",
    )
    max_pending_notes: int | None = Field(
        default=None,
        ge=1,
        description="Note requests one Ingress replica lets into the graph at once; past it 503 "
        "queue_full at once, before any work. Set it to what the NoteGenerators hold: "
        "max_ongoing_requests * max_replicas + max_queued_requests. null: only their queue bounds.",
    )
    engine: EngineArgs = Field(default_factory=EngineArgs)
    draft: DraftArgs = Field(default_factory=DraftArgs)


def build_app(args: dict) -> Application:
    """The note service graph: Ingress -> Preprocessor -> NoteGenerator -> NoteWriter."""
    parsed = AppArgs.model_validate(args)
    settings = Settings()
    generator = NoteGenerator.bind(
        parsed.model,
        parsed.profile,
        parsed.artifact_store or str(settings.artifact_store),
        str(settings.model_cache),
        parsed.engine.model_dump(),
        parsed.draft.model_dump(),
        parsed.merge_lora,
    )
    database_url = parsed.database_url or settings.database_url
    writer = NoteWriter.bind(database_url)
    preprocessor = Preprocessor.bind(parsed.max_transcript_chars)
    return Ingress.bind(
        preprocessor,
        generator,
        writer,
        parsed.max_body_bytes,
        parsed.request_timeout_s,
        database_url,
        parsed.max_pending_notes,
    )
