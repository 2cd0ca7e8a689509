"""Process settings read from the environment (one `Settings` per process)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The checkout (or install) root: defaults below are absolute, since Ray workers do not
#: necessarily start in the folder the service was launched from.
ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NOTES_", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{ROOT / 'var' / 'notes.db'}",
        validation_alias="DATABASE_URL",
        description="SQLAlchemy URL; SQLite file by default, postgresql+psycopg://... in production.",
    )
    artifact_store: Path = Field(
        default=ROOT / "models" / "published",
        description="Folder of published models: <name>/<version>/manifest.json.",
    )
    model_cache: Path = Field(
        default=Path.home() / ".cache" / "psynote",
        description="Folder where the embedded model is assembled on first use.",
    )
