"""The fine-tuning job: shipped configs, validation, run names, failure messages, and short
training runs of a tiny random Phi-3, in-process and through Ray Train."""

from __future__ import annotations

import csv
import dataclasses
import errno
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from training_jobs import sft
from training_jobs.sft import OOM_MESSAGE, ConfigError, SFTConfig, load_config, main

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "training_jobs" / "configs").glob("*.yaml"))
FIXTURE_ROWS = [
    (
        "Therapist: How did you sleep?\nClient: Badly, five hours.",
        "Sleeps five hours.",
        "subjective",
    ),
    ("Therapist: Any thoughts of self-harm?\nClient: No.", "Denies self-harm.", "assessment"),
    (
        "Therapist: Did breathing help?\nClient: Panic twice, not daily.",
        "Panic twice.",
        "subjective",
    ),
    ("Therapist: Home?\nClient: We argue less now.", "Fewer arguments at home.", "subjective"),
    ("Therapist: Drinking?\nClient: Two beers on weekends.", "Two beers weekly.", "plan"),
    ("Therapist: Homework?\nClient: I kept the thought record.", "Used thought record.", "plan"),
]


def valid(**changes) -> dict:
    """Keyword arguments of a valid SFTConfig, with `changes` applied."""
    values = {"base_model": "tiny-phi3", "data": [{"path": "x.csv", "preset": "own"}]}
    return {**values, **changes}


@pytest.fixture
def fixture_csv(tmp_path: Path) -> Path:
    path = tmp_path / "pairs.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["transcript", "note", "section", "group"])
        writer.writerows([(t, n, s, f"g{i}") for i, (t, n, s) in enumerate(FIXTURE_ROWS)])
    return path


@pytest.fixture(scope="session")
def tiny_phi3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from training_jobs.base_models import build_tiny_phi3

    return build_tiny_phi3(tmp_path_factory.mktemp("models") / "tiny-phi3")


def tiny_overrides(fixture_csv: Path, tiny_phi3: Path, out: Path, backend: str) -> dict:
    return {
        "base_model": "tiny-phi3",
        "base_path": str(tiny_phi3),
        "backend": backend,
        "data": [{"path": str(fixture_csv), "preset": "own"}],
        "max_steps": 3,
        "batch_size": 2,
        "split_fractions": [0.5, 0.5, 0.0],
        "max_seq_len": 256,
        "num_threads": 1,
        "output_dir": str(out),
        "gradient_checkpointing": False,
    }


def check_run(run_dir: Path, steps: int = 3) -> dict:
    summary = json.loads((run_dir / "train_summary.json").read_text())
    assert (run_dir / "adapter" / "adapter_config.json").is_file()
    assert (run_dir / "adapter" / "adapter_model.safetensors").is_file()
    assert (run_dir / "adapter" / "tokenizer_config.json").is_file()
    assert summary["steps"] == steps
    assert math.isfinite(summary["final_train_loss"]) and math.isfinite(summary["eval_loss"])
    assert summary["rows"] == {"train": 3, "validation": 3, "test": 0}
    assert len(summary["data"][0]["sha256"]) == 64
    assert set(summary["versions"]) >= {"torch", "transformers", "peft", "trl"}
    return summary


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_shipped_config_validates_and_documents_itself(path: Path):
    text = path.read_text(encoding="utf-8")
    values = yaml.safe_load(text)
    SFTConfig(**values)
    assert text.startswith(f"# python -m training_jobs.sft --config training_jobs/configs/{path.name}")
    fields = {f.name for f in dataclasses.fields(SFTConfig)}
    assert set(values) == fields, "every config lists every field"
    for line in text.splitlines():
        if re.match(r"^\w+:", line):
            assert re.search(r"#.*\b(default|required)\b", line), f"{path.name}: {line!r}"


def test_configs_include_the_three_base_models():
    assert {p.stem for p in CONFIGS} >= {"gemma3-270m", "phi3-mini", "tiny-phi3"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"base_model": "llama"}, "base_model must be one of"),
        ({"base_model": "gemma3-270m", "profile": "phi3"}, "does not fit gemma3-270m"),
        ({"base_model": "phi3"}, "phi3 needs base_path"),
        ({"quantization": "int8"}, "quantization must be one of"),
        ({"backend": "k8s"}, "backend must be ray or local"),
        ({"data": []}, "data needs at least one"),
        ({"data": [{"path": "x.csv", "preset": "bogus"}]}, "data[0].preset must be one of"),
        ({"data": [{"path": "x.csv"}]}, "must have the keys path and preset"),
        ({"split_fractions": [0.5, 0.5, 0.5]}, "split_fractions must be"),
        ({"split_fractions": [0.0, 0.5, 0.5]}, "split_fractions must be"),
        ({"epochs": 0, "max_steps": 0}, "nothing to train"),
        ({"lora_dropout": 1.0}, "lora_dropout must be in [0, 1)"),
        ({"warmup_ratio": 1}, "warmup_ratio must be in [0, 1)"),
        ({"lr": 0}, "lr must be > 0"),
        ({"target_modules": ["q_proj"]}, "are not layers of tiny-phi3"),
        ({"run_name": "../escape"}, "run_name may hold only"),
        ({"lr": "fast"}, "lr: expected float"),
        ({"max_steps": 2.5}, "max_steps: expected int"),
        ({"gradient_checkpointing": "yes"}, "gradient_checkpointing: expected bool"),
    ],
)
def test_post_init_rejects(changes: dict, message: str):
    with pytest.raises(ConfigError) as info:
        SFTConfig(**valid(**changes))
    assert message in str(info.value)


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as info:
        SFTConfig(**valid(quantization="int8", backend="k8s", batch_size=0))
    assert all(m in str(info.value) for m in ("quantization", "backend", "batch_size"))


def test_values_are_coerced_to_field_types():
    config = SFTConfig(**valid(lr="2e-4", max_steps="8", target_modules="qkv_proj, o_proj"))
    assert config.lr == 2e-4 and config.max_steps == 8
    assert config.target_modules == ["qkv_proj", "o_proj"]
    assert config.profile == "phi3"


def test_cli_overrides_yaml(fixture_csv: Path, tmp_path: Path):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(valid(data=[{"path": str(fixture_csv), "preset": "own"}])))
    config_path, overrides = sft._parse_args(
        ["--config", str(path), "--set", "max_steps=2", "--set", "lr=1e-3", "--backend", "local"]
    )
    config = load_config(config_path, overrides)
    assert (config.max_steps, config.lr, config.backend) == (2, 1e-3, "local")
    assert config.run_name.startswith("run-")


def test_unknown_keys_are_rejected():
    with pytest.raises(ConfigError, match="unknown config keys \\['learning_rate'\\]"):
        load_config(None, valid(learning_rate=1e-4))


def test_run_names_are_unique_and_timestamped():
    names = {sft.new_run_name("gemma3-270m") for _ in range(200)}
    assert len(names) == 200
    assert all(re.fullmatch(r"gemma3-270m-\d{8}T\d{6}Z-[0-9a-f]{8}", n) for n in names)


def test_data_paths_expand_notes_data_dir(monkeypatch, tmp_path: Path, fixture_csv: Path):
    monkeypatch.setenv("NOTES_DATA_DIR", str(fixture_csv.parent))
    monkeypatch.chdir(tmp_path)
    config = load_config(
        None,
        valid(data=[{"path": "${NOTES_DATA_DIR}/pairs.csv", "preset": "own"}], output_dir="out"),
    )
    assert config.data[0]["path"] == str(fixture_csv)
    assert config.output_dir == str(tmp_path / "out")
    with pytest.raises(ConfigError, match="data files not found: .*missing.csv"):
        load_config(None, valid(data=[{"path": "missing.csv", "preset": "own"}]))


def test_an_existing_run_folder_is_refused(tmp_path: Path, fixture_csv: Path, capsys):
    (tmp_path / "taken").mkdir()
    argv = [
        "--set",
        f"data=[{{path: {fixture_csv}, preset: own}}]",
        "--base-model",
        "tiny-phi3",
        "--output-dir",
        str(tmp_path),
        "--run-name",
        "taken",
        "--backend",
        "local",
    ]
    assert main(argv) == 2
    assert "exists: choose another run_name" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (MemoryError(), OOM_MESSAGE),
        (pytest.importorskip("torch").OutOfMemoryError("CUDA out of memory"), OOM_MESSAGE),
        (
            OSError(errno.ENOSPC, "No space left on device", "/runs/r1/adapter/model.safetensors"),
            "disk full while writing /runs/r1/adapter",
        ),
    ],
)
def test_out_of_memory_and_full_disk_exit_2_with_one_sentence(
    monkeypatch, tmp_path: Path, fixture_csv: Path, capsys, error: BaseException, message: str
):
    import training_jobs.sft_train

    def fail(config):
        raise RuntimeError("while training") from error

    monkeypatch.setattr(training_jobs.sft_train, "train", fail)
    argv = [
        "--set",
        f"data=[{{path: {fixture_csv}, preset: own}}]",
        "--base-model",
        "tiny-phi3",
        "--output-dir",
        str(tmp_path),
        "--backend",
        "local",
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.strip() == message
    assert "Traceback" not in err


def test_other_errors_keep_their_traceback(monkeypatch, tmp_path: Path, fixture_csv: Path):
    import training_jobs.sft_train

    monkeypatch.setattr(training_jobs.sft_train, "train", lambda config: 1 / 0)
    argv = [
        "--set",
        f"data=[{{path: {fixture_csv}, preset: own}}]",
        "--base-model",
        "tiny-phi3",
        "--output-dir",
        str(tmp_path),
        "--backend",
        "local",
    ]
    with pytest.raises(ZeroDivisionError):
        main(argv)


def test_failures_inside_ray_workers_are_recognised(tmp_path: Path):
    torch = pytest.importorskip("torch")
    exceptions = pytest.importorskip("ray.train.v2.api.exceptions")
    error = exceptions.WorkerGroupError("worker 0 failed", {0: torch.OutOfMemoryError("CUDA")})
    assert sft.failure_message(error, tmp_path) == OOM_MESSAGE
    assert (
        sft.failure_message(exceptions.ControllerError(OSError(errno.ENOSPC, "full")), tmp_path)
        == f"disk full while writing {tmp_path}"
    )
    assert sft.failure_message(ValueError("other"), tmp_path) is None


def test_trains_locally_without_ray(tmp_path: Path, fixture_csv: Path, tiny_phi3: Path):
    """`--backend local` runs with `ray` not importable: the job must never import it."""
    overrides = tiny_overrides(fixture_csv, tiny_phi3, tmp_path / "out", "local")
    argv = [arg for k, v in overrides.items() for arg in ("--set", f"{k}={json.dumps(v)}")]
    code = (
        "import sys; sys.modules['ray'] = None\n"
        "from training_jobs.sft import main\n"
        f"sys.exit(main({argv!r}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    steps = [e for e in events if e["event"] == "step"]
    assert [e["step"] for e in steps] == [1, 2, 3]
    assert all({"loss", "lr", "tokens_per_s", "elapsed_s"} <= set(e) for e in steps)
    [run_dir] = (tmp_path / "out").iterdir()
    check_run(run_dir)


@pytest.mark.slow
def test_trains_through_ray_train(ray_instance, tmp_path: Path, fixture_csv: Path, tiny_phi3: Path):
    config = load_config(None, tiny_overrides(fixture_csv, tiny_phi3, tmp_path / "out", "ray"))
    summary = sft.run(config)
    assert summary["steps"] == 3
    check_run(config.run_dir)


def test_merge_adapter_writes_a_full_model(tmp_path: Path, fixture_csv: Path, tiny_phi3: Path):
    from training_jobs.sft_train import merge_adapter, train

    config = load_config(None, tiny_overrides(fixture_csv, tiny_phi3, tmp_path / "out", "local"))
    train(config)
    out = merge_adapter("tiny-phi3", config.run_dir / "adapter", tmp_path / "merged", tiny_phi3)
    assert (out / "config.json").is_file() and (out / "tokenizer.model").is_file()
    assert not (out / "adapter_config.json").exists()


def test_examples_are_tokenised_whole_with_loss_on_the_completion(tiny_phi3: Path):
    from transformers import AutoTokenizer

    from models.profiles import get_profile
    from models.prompts import section_example
    from training_jobs.sft_train import tokenize

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_phi3))
    profile = get_profile("phi3")
    prompt, completion = section_example(profile, "Client: I slept badly.", "subjective", "Poor sleep.")
    [row] = tokenize([{"prompt": prompt, "completion": completion}], tokenizer, profile)
    whole = tokenizer("<s>" + prompt + completion, add_special_tokens=False)["input_ids"]
    assert row["input_ids"] == whole and row["input_ids"][0] == tokenizer.bos_token_id
    trained = [t for t in row["labels"] if t != -100]
    prompt_ids = tokenizer("<s>" + prompt, add_special_tokens=False)["input_ids"]
    assert trained == whole[len(prompt_ids) :]
    assert tokenizer.decode(trained) == completion == "Poor sleep.<|end|>\n"
    assert row["labels"][: len(whole) - len(trained)] == [-100] * (len(whole) - len(trained))


def test_a_folder_of_sessions_is_recorded_with_one_digest(tmp_path: Path) -> None:
    from models.files import sha256_data

    for name, text in (("b.json", "{}"), ("a.json", "[]")):
        (tmp_path / name).write_text(text)
    first = sha256_data(tmp_path)
    assert len(first) == 64 and first == sha256_data(tmp_path)
    (tmp_path / "a.json").write_text("[1]")
    assert sha256_data(tmp_path) != first  # a changed session changes it
