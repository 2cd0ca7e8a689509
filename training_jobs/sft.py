"""ray job submit --working-dir . -- python -m training_jobs.sft --config training_jobs/configs/gemma3-270m.yaml
python -m training_jobs.sft --config training_jobs/configs/gemma3-270m.yaml --backend local

Supervised LoRA/QLoRA fine-tuning of a base model on transcript -> note-section pairs. Any field
of `SFTConfig` can be overridden: `--set max_steps=2 --set max_rows=8` or `--max-steps 2`. Data
paths may use `${NOTES_DATA_DIR}` (default `../shared/data`); relative paths resolve against the
current directory. Under `ray job submit` the job runs in a copy of the working directory, so
set NOTES_DATA_DIR (`--runtime-env-json '{"env_vars": {"NOTES_DATA_DIR": "/data"}}'`) and an
absolute `output_dir`. Progress is printed as JSON lines; the run writes
`<output_dir>/<run_name>/adapter/` and `<output_dir>/<run_name>/train_summary.json`.
`backend: local` never imports Ray.
"""  # noqa: E501

from __future__ import annotations

import argparse
import dataclasses
import errno
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import yaml

from training_jobs.sft_config import ConfigError, SFTConfig, load_config, new_run_name

__all__ = [
    "ConfigError",
    "SFTConfig",
    "load_config",
    "main",
    "merge_adapter",
    "new_run_name",
    "run",
]

OOM_MESSAGE = "out of memory: lower batch_size or max_seq_len, or use quantization: nf4"
#: Offline, and progress lines printed once and as they are (Ray Train re-logs print calls).
WORKER_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "RAY_TRAIN_ENABLE_PRINT_PATCH": "0",
}


def _parse_args(argv: list[str] | None) -> tuple[str | None, dict[str, Any]]:
    parser = argparse.ArgumentParser(
        prog="python -m training_jobs.sft",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", help="YAML file of SFTConfig fields (the defaults below)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one field; VALUE is read as YAML",
    )
    for f in dataclasses.fields(SFTConfig):
        parser.add_argument(
            "--" + f.name.replace("_", "-"),
            dest=f.name,
            metavar="VALUE",
            help=f.metadata["help"],
            default=argparse.SUPPRESS,
        )
    args = vars(parser.parse_args(argv))
    overrides: dict[str, Any] = {}
    for item in args.pop("set"):
        key, sep, raw = item.partition("=")
        if not sep:
            parser.error(f"--set expects KEY=VALUE, got {item!r}")
        overrides[key.strip()] = raw
    config_path = args.pop("config")
    overrides.update(args)
    return config_path, {k: yaml.safe_load(v) if v != "" else v for k, v in overrides.items()}


def failure_message(error: BaseException, run_dir: Path) -> str | None:
    """The one-sentence message for an out-of-memory or disk-full failure, else None.

    Looks through Ray's wrappers (worker failures) and chained causes.
    """
    seen, stack = set(), [error]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, MemoryError) or type(e).__name__ == "OutOfMemoryError":
            return OOM_MESSAGE
        if isinstance(e, OSError) and e.errno == errno.ENOSPC:
            where = Path(e.filename).parent if e.filename else run_dir
            return f"disk full while writing {where}"
        stack += [e.__cause__, e.__context__, getattr(e, "controller_failure", None)]
        stack += list(getattr(e, "worker_failures", {}).values())
    return None


def run(config: SFTConfig) -> dict:
    """Train with `config` on its backend; the run's summary."""
    if config.run_dir.exists():
        raise ConfigError(f"run folder {config.run_dir} exists: choose another run_name")
    if config.backend == "local":
        from training_jobs.sft_train import train

        return train(config)
    return _run_on_ray(config)


def _run_on_ray(config: SFTConfig) -> dict:
    import ray
    import torch
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    if not ray.is_initialized():
        ray.init(include_dashboard=False)
    resources = ray.cluster_resources()
    if resources.get("CPU", 0) < config.num_threads:
        raise ConfigError(
            f"num_threads {config.num_threads} exceeds the Ray cluster's "
            f"{resources.get('CPU', 0):g} CPUs: lower num_threads"
        )
    trainer = TorchTrainer(
        _ray_worker,
        train_loop_config=asdict(config),
        scaling_config=ScalingConfig(
            num_workers=1,
            use_gpu=torch.cuda.is_available() or resources.get("GPU", 0) > 0,
            resources_per_worker={"CPU": config.num_threads},
        ),
        run_config=RunConfig(
            name=config.run_name,
            storage_path=config.output_dir,
            worker_runtime_env={"env_vars": WORKER_ENV},
        ),
    )
    trainer.fit()
    # Ray Train keeps metrics only with checkpoints; the worker wrote the summary to storage.
    return json.loads((config.run_dir / "train_summary.json").read_text(encoding="utf-8"))


def merge_adapter(base: str | Path, adapter_dir: str | Path, out_dir: str | Path, **kw: Any) -> Path:
    """Merge a LoRA adapter into its base; see `training_jobs.sft_train.merge_adapter`."""
    from training_jobs.sft_train import merge_adapter as merge

    return merge(base, adapter_dir, out_dir, **kw)


def publish_after_training(config: SFTConfig) -> Path:
    """Export the run, evaluate the exported model (when `eval_data` is set; the report goes to
    `<run_dir>/eval/`) and publish it to `artifact_store`; returns the version folder."""
    from training_jobs.publish import publish_run

    def evaluate(files: dict[str, Path]) -> Path:
        from training_jobs import evaluate as evaluation

        out = config.run_dir / "eval" / "report.json"
        if "adapter-f16.gguf" in files:
            model = ["--model", "embedded", "--lora", str(files["adapter-f16.gguf"])]
        else:
            model = ["--model", str(files["model-q4_k_m.gguf"])]
        task = "note" if Path(config.eval_data).is_dir() else "section"
        argv = [*model, "--profile", config.profile, "--data", config.eval_data, "--task", task]
        argv += ["--out", str(out)] + (["--limit", str(config.eval_limit)] if config.eval_limit else [])
        if evaluation.main(argv) != 0:
            raise RuntimeError("the evaluation of the exported model failed")
        return out

    card = Path(__file__).resolve().parents[1] / "models" / "cards" / f"{config.publish_name}.md"
    return publish_run(
        config.run_dir,
        config.publish_name,
        Path(config.artifact_store),
        config.publish_form,
        card=card if card.is_file() else None,
        evaluate=evaluate if config.eval_data else None,
    )


def _ray_worker(values: dict) -> None:
    """The Ray Train loop: the same training function as the local backend."""
    from training_jobs.sft_train import train

    train(SFTConfig(**values))


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; 0 on success, 2 on a bad config, out of memory or full disk."""
    config_path, overrides = _parse_args(argv)
    config = None
    try:
        config = load_config(config_path, overrides)
        summary = run(config)
        if config.publish_name:
            folder = publish_after_training(config)
            print(json.dumps({"event": "published", "folder": str(folder)}), flush=True)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        return 2
    except ModuleNotFoundError as e:
        if e.name not in ("torch", "transformers", "peft", "trl"):
            raise
        print(
            f"error: {e.name} is not installed for {sys.executable}. Install the training extra "
            "(make setup-dev) and run the job with that Python: for `ray job submit`, start the "
            "cluster from the project's venv (`source .venv/bin/activate && ray start --head`).",
            file=sys.stderr,
            flush=True,
        )
        return 2
    except Exception as e:
        message = failure_message(e, config.run_dir if config else Path.cwd())
        if message is None:
            raise
        print(message, file=sys.stderr, flush=True)
        return 2
    print(
        json.dumps({"event": "done", "run_dir": str(config.run_dir), "eval_loss": summary.get("eval_loss")}),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
