"""The configuration of a fine-tuning run (`training_jobs.sft`): fields, checks, YAML loading."""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
import types
import typing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from models.profiles import get_profile
from training_jobs.base_models import BASE_MODELS, PROFILE_OF, QUANTIZATIONS
from training_jobs.data import COLUMN_PRESETS

#: Presets of a config's data entries: the CSV column presets, and `therapy` (a folder of the
#: project's session JSON files); `mts` and `aci` are mapped onto therapy sections and cleaned.
DATA_PRESETS = (*COLUMN_PRESETS, "therapy")

DEFAULT_DATA_DIR = "../shared/data"


class ConfigError(ValueError):
    """A configuration that cannot run; the message lists every problem found."""


def _help(text: str, default: Any = dataclasses.MISSING, **kw: Any) -> Any:
    if callable(default):
        return field(default_factory=default, metadata={"help": text}, **kw)
    return field(default=default, metadata={"help": text}, **kw)


@dataclass
class SFTConfig:
    """Everything one fine-tuning run needs; validated on construction."""

    base_model: str = _help(f"Base model: one of {', '.join(BASE_MODELS)}.", "gemma3-270m")
    base_path: str | None = _help(
        "phi3: the model folder (required); gemma3-270m: a GGUF file (default: the package's); "
        "tiny-phi3: the folder it is built in (default: ~/.cache/psynote/tiny-phi3).",
        None,
    )
    profile: str = _help("Model profile (models.profiles); empty: the base model's own.", "")
    data: list[dict[str, str]] = _help(
        "Training data: a list of {path, preset, repeat?, per_group?}; preset one of own, mts, aci (a "
        "by-division folder), therapy (a folder of session JSON files); repeat: times the entry is "
        "used; per_group: sections kept per therapy session, or ACI encounters sampled (0: all).",
        list,
    )
    max_rows: int = _help("Use at most this many pairs, sampled with `seed` (0: all).", 0)
    seed: int = _help("Seed of the split, sampling, LoRA initialisation and data order.", 42)
    split_fractions: list[float] = _help(
        "Train, validation and test fractions of the groups (sum 1).", lambda: [0.8, 0.1, 0.1]
    )
    max_seq_len: int = _help("Longest example in tokens; longer pairs are dropped.", 1024)
    lora_r: int = _help("LoRA rank.", 16)
    lora_alpha: int = _help("LoRA alpha (scale = alpha / r).", 32)
    lora_dropout: float = _help("Dropout on the LoRA input, in [0, 1).", 0.05)
    target_modules: list[str] = _help("LoRA target modules; empty: the profile's.", list)
    quantization: str = _help("none, or nf4 for 4-bit QLoRA with bitsandbytes.", "none")
    init_adapter: str = _help(
        "Continue training this LoRA adapter instead of a fresh one: a published `name:version` in "
        "artifact_store (a lora artifact), a LoRA GGUF file, or a peft adapter folder; its rank "
        "and alpha must equal lora_r and lora_alpha. Empty: a fresh adapter.",
        "",
    )
    epochs: float = _help("Passes over the training split (when max_steps is 0).", 1.0)
    max_steps: int = _help("Optimizer steps; 0: train for `epochs`.", 0)
    batch_size: int = _help("Examples per device per forward pass.", 1)
    grad_accum: int = _help("Forward passes per optimizer step.", 1)
    lr: float = _help("Peak learning rate of AdamW.", 2e-4)
    warmup_ratio: float = _help("Fraction of the steps with linear warm-up, in [0, 1).", 0.03)
    gradient_checkpointing: bool = _help("Recompute activations: less memory, ~6% slower.", True)
    num_threads: int = _help("CPU threads for torch (and the CPUs the Ray worker reserves).", 2)
    run_name: str = _help("Run folder under output_dir; empty: <config>-<UTC time>-<8 hex>.", "")
    output_dir: str = _help(
        "Runs root; the run writes <output_dir>/<run_name>/. Shared storage under `ray job submit` "
        "(a relative path there would land in Ray's temporary copy of the working directory).",
        "${NOTES_STORAGE_DIR:-artifacts}/sft",
    )
    backend: str = _help("ray (a Ray Train TorchTrainer with one worker) or local.", "ray")
    publish_name: str = _help(
        "After training, export, evaluate and publish the run as the next version of this artifact "
        "name (e.g. gemma3-270m-notes); empty: do not publish.",
        "",
    )
    publish_form: str = _help("lora (an adapter on the embedded base) or merged (a quantised GGUF).", "lora")
    artifact_store: str = _help(
        "Artifact store the run is published to (shared storage).",
        "${NOTES_ARTIFACT_STORE:-models/published}",
    )
    eval_data: str = _help(
        "Evaluation data for the published run: a CSV (section task) or a folder of therapy sessions "
        "(note task); empty: publish without evaluating.",
        "",
    )
    eval_limit: int = _help("Evaluate the first N rows or sessions only (0: all).", 0)

    def __post_init__(self) -> None:
        problems = _coerce_fields(self)
        if not problems:
            problems = _contradictions(self)
        if problems:
            raise ConfigError("invalid SFT config: " + "; ".join(problems))
        self.profile = self.profile or PROFILE_OF[self.base_model]

    @property
    def run_dir(self) -> Path:
        """Where this run's artifacts go."""
        return Path(self.output_dir) / self.run_name


def _coerce_fields(config: SFTConfig) -> list[str]:
    """Bring YAML/CLI values to the declared types in place; the problems found."""
    problems = []
    for name, kind in typing.get_type_hints(SFTConfig).items():
        try:
            setattr(config, name, _coerce(kind, getattr(config, name)))
        except (TypeError, ValueError):
            problems.append(f"{name}: expected {_type_name(kind)}, got {getattr(config, name)!r}")
    return problems


def _coerce(kind: Any, value: Any) -> Any:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        return None if value is None else _coerce(args[0], value)
    if origin is list:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list):
            raise TypeError(kind)
        return [_coerce(args[0], v) for v in value]
    if origin is dict:
        if not isinstance(value, dict):
            raise TypeError(kind)
        return {str(k): str(v) for k, v in value.items()}
    if kind is bool:
        if not isinstance(value, bool):
            raise TypeError(kind)
        return value
    if kind in (int, float):
        if isinstance(value, bool) or (kind is int and isinstance(value, float) and value % 1):
            raise TypeError(kind)
        return kind(value)
    if value is None or isinstance(value, dict | list):
        raise TypeError(kind)
    return str(value)


def _type_name(kind: Any) -> str:
    return getattr(kind, "__name__", None) or str(kind).replace("typing.", "")


def _contradictions(c: SFTConfig) -> list[str]:
    """Every option that is out of range or contradicts another."""
    p = []
    if c.base_model not in BASE_MODELS:
        p.append(f"base_model must be one of {', '.join(BASE_MODELS)}")
    elif c.profile and c.profile != PROFILE_OF[c.base_model]:
        p.append(
            f"profile {c.profile!r} does not fit {c.base_model} (its profile is {PROFILE_OF[c.base_model]!r})"
        )
    elif c.target_modules:
        known = get_profile(PROFILE_OF[c.base_model]).lora_target_modules
        unknown = [m for m in c.target_modules if m not in known]
        if unknown:
            p.append(f"target_modules {unknown} are not layers of {c.base_model} ({list(known)})")
    if c.base_model == "phi3" and not c.base_path:
        p.append("base_model phi3 needs base_path (the model folder)")
    if c.quantization not in QUANTIZATIONS:
        p.append(f"quantization must be one of {', '.join(QUANTIZATIONS)}")
    if c.backend not in ("ray", "local"):
        p.append("backend must be ray or local")
    if c.publish_form not in ("lora", "merged"):
        p.append("publish_form must be lora or merged")
    if c.publish_name and not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", c.publish_name):
        p.append("publish_name may hold only lower-case letters, digits, '.', '_' and '-'")
    if c.eval_limit < 0:
        p.append("eval_limit must be >= 0")
    if not c.data:
        p.append("data needs at least one {path, preset}")
    for i, entry in enumerate(c.data):
        if not {"path", "preset"} <= set(entry) <= {"path", "preset", "repeat", "per_group"}:
            p.append(f"data[{i}] must have the keys path and preset (optionally repeat, per_group)")
        elif entry["preset"] not in DATA_PRESETS:
            p.append(f"data[{i}].preset must be one of {', '.join(DATA_PRESETS)}")
        elif not str(entry.get("repeat", "1")).isdigit() or int(entry.get("repeat", 1)) < 1:
            p.append(f"data[{i}].repeat must be a whole number >= 1")
        elif not str(entry.get("per_group", "0")).isdigit():
            p.append(f"data[{i}].per_group must be a whole number >= 0")
    fr = c.split_fractions
    if len(fr) != 3 or min(fr) < 0 or abs(sum(fr) - 1) > 1e-6 or fr[0] <= 0:
        p.append("split_fractions must be 3 non-negative numbers summing to 1, train above 0")
    if c.epochs <= 0 and c.max_steps <= 0:
        p.append("nothing to train: set epochs > 0 or max_steps > 0")
    ranges = [
        ("max_rows", c.max_rows >= 0, ">= 0"),
        ("max_seq_len", c.max_seq_len >= 32, ">= 32"),
        ("lora_r", c.lora_r >= 1, ">= 1"),
        ("lora_alpha", c.lora_alpha >= 1, ">= 1"),
        ("lora_dropout", 0 <= c.lora_dropout < 1, "in [0, 1)"),
        ("lr", c.lr > 0, "> 0"),
        ("warmup_ratio", 0 <= c.warmup_ratio < 1, "in [0, 1)"),
        ("batch_size", c.batch_size >= 1, ">= 1"),
        ("grad_accum", c.grad_accum >= 1, ">= 1"),
        ("num_threads", c.num_threads >= 1, ">= 1"),
        ("max_steps", c.max_steps >= 0, ">= 0"),
    ]
    p += [f"{name} must be {rule}" for name, ok, rule in ranges if not ok]
    if c.run_name and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", c.run_name):
        p.append("run_name may hold only letters, digits, '.', '_' and '-'")
    return p


def new_run_name(config_name: str) -> str:
    """`<config_name>-<UTC timestamp>-<4 random hex>`: unique, since Ray resumes a reused name."""
    return f"{config_name}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


def expand_path(path: str) -> str:
    """`path` with `${VAR}` and `${VAR:-default}` expanded (NOTES_DATA_DIR defaults to
    ../shared/data), made absolute."""
    env = {**os.environ, "NOTES_DATA_DIR": os.environ.get("NOTES_DATA_DIR", DEFAULT_DATA_DIR)}

    def value(m: re.Match[str]) -> str:
        name = m[1] or m[3]
        if m[2] is not None:
            return env.get(name) or m[2]
        return env.get(name, m[0])

    expanded = re.sub(r"\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)", value, path)
    if "$" in expanded:
        raise ConfigError(f"unset environment variable in path {path!r}")
    return str(Path(expanded).expanduser().resolve())


def _working_copy_at(parts: tuple[str, ...]) -> int | None:
    """Where in `parts` Ray's `working_dir_files` folder is (the copy is the next part), if any."""
    return next((i for i, p in enumerate(parts) if p.startswith("working_dir_files")), None)


def in_ray_working_dir(path: str | Path) -> bool:
    """Whether `path` lies in the temporary copy of the working directory that `ray job submit
    --working-dir` makes (under Ray's session folder; Ray deletes it)."""
    parts = Path(path).resolve().parts
    return "runtime_resources" in parts or _working_copy_at(parts) is not None


def as_recorded(path: str) -> str:
    """`path` as a run's record states it: relative to the job's working directory where it lies
    in Ray's temporary copy of that directory (a session folder Ray deletes, and a name nobody
    could find the file by), as it is otherwise."""
    parts = Path(path).parts
    at = _working_copy_at(parts)
    return path if at is None else str(Path(*parts[at + 2 :]))


def recorded_config(config: SFTConfig) -> dict[str, Any]:
    """The config as a run's summary and a published manifest record it (`as_recorded` paths;
    output_dir and artifact_store cannot lie in Ray's copy: load_config refuses that)."""
    record = dataclasses.asdict(config)
    for name in ("eval_data", "init_adapter", "base_path"):
        if record.get(name):
            record[name] = as_recorded(record[name])
    for entry in record["data"]:
        entry["path"] = as_recorded(entry["path"])
    return record


def load_config(path: str | None = None, overrides: dict[str, Any] | None = None) -> SFTConfig:
    """The config of YAML file `path` with `overrides` applied, paths absolute, files checked."""
    values: dict[str, Any] = {}
    if path:
        try:
            values = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as e:
            raise ConfigError(f"cannot read config {path}: {e}") from e
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: expected a mapping of SFTConfig fields")
    values.update(overrides or {})
    known = {f.name for f in dataclasses.fields(SFTConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown config keys {unknown}; known: {sorted(known)}")
    config = SFTConfig(**values)
    config.run_name = config.run_name or new_run_name(Path(path).stem if path else config.base_model)
    config.output_dir = expand_path(config.output_dir)
    config.artifact_store = expand_path(config.artifact_store)
    if config.eval_data:
        config.eval_data = expand_path(config.eval_data)
    if config.init_adapter and ("/" in config.init_adapter or Path(config.init_adapter).exists()):
        # a path, not a `name:version` reference: Ray Train workers do not run in the job's folder
        config.init_adapter = expand_path(config.init_adapter)
    where = [("output_dir", config.output_dir, "NOTES_STORAGE_DIR")]
    if config.publish_name:
        where.append(("artifact_store", config.artifact_store, "NOTES_ARTIFACT_STORE"))
    for name, value, env in where:
        if in_ray_working_dir(value):
            raise ConfigError(
                f"{name} {value} is inside Ray's temporary copy of the working directory, which Ray "
                f"deletes: set {env} (in the job's runtime_env env_vars) or an absolute {name} on "
                "shared storage"
            )
    config.base_path = expand_path(config.base_path) if config.base_path else None
    for entry in config.data:
        entry["path"] = expand_path(entry["path"])
    missing = [e["path"] for e in config.data if not Path(e["path"]).exists()]
    if missing:
        raise ConfigError(f"data files not found: {', '.join(missing)} (set NOTES_DATA_DIR?)")
    return config
