"""Process settings read from the environment (one `Settings` per process)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NOTES_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///var/notes.db",
        validation_alias="DATABASE_URL",
        description="SQLAlchemy URL; SQLite file by default, postgresql+psycopg://... in production.",
    )
    artifact_store: Path = Field(
        default=Path("models/published"),
        description="Folder of published models: <name>/<version>/manifest.json.",
    )
    model_cache: Path = Field(
        default=Path.home() / ".cache" / "psynote",
        description="Folder where the embedded model is assembled on first use.",
    )
