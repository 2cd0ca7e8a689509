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
    data_keys: str | None = Field(
        default=None,
        description="Data keys for encryption at rest: 'kid:base64key[,kid:base64key...]' (NOTES_DATA_KEYS).",
    )
    active_key_id: str | None = Field(
        default=None, description="The data key new rows are encrypted with (NOTES_ACTIVE_KEY_ID)."
    )
    data_key_file: Path = Field(
        default=ROOT / "var" / "data_keys.json",
        description="Local data keys (0600), created on first use when NOTES_DATA_KEYS is not set.",
    )
    local_api_key_file: Path = Field(
        default=ROOT / "var" / "local_api_key",
        description="Where `python -m deployments.admin local-key` keeps the local clinic's API key (0600).",
    )
