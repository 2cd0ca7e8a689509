"""Export a fine-tuning run to GGUF and publish it, versioned, to the artifact store.

    python -m training_jobs.publish --run artifacts/sft/<run_name> --name gemma3-270m-notes \
        --eval var/eval/finetuned.json --card MODEL_CARD.md [--form lora|merged] [--store models/published]

`lora` (the default, for small adapters) converts the adapter alone with llama.cpp's
convert_lora_to_gguf.py; the service loads it on top of its base GGUF, whose sha256 the manifest
records. `merged` merges the adapter into the base, converts with convert_hf_to_gguf.py and
quantises in-process to Q4_K_M (served) and Q8_0. Publication is atomic (models.artifacts).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from models.artifacts import ArtifactError, publish
from models.export import ExportError, convert_hf_to_gguf, convert_lora_to_gguf, quantize, sha256_file
from models.resolve import resolve_model
from schemas.settings import Settings

FORMS = ("lora", "merged")


def base_config_folder(config: dict, out: Path) -> Path:
    """A folder with the base model's config.json (and tokenizer, where the base has a folder)."""
    name = config["base_model"]
    if name == "gemma3-270m":
        from transformers import AutoConfig

        from training_jobs.base_models import gemma_gguf_path

        gguf = gemma_gguf_path(config.get("base_path"))
        hf_config = AutoConfig.from_pretrained(str(gguf.parent), gguf_file=gguf.name, local_files_only=True)
        # Read from a GGUF, the config names no architecture; llama.cpp's converter needs one.
        hf_config.architectures = ["Gemma3ForCausalLM"]
        hf_config.save_pretrained(out)
        return out
    if name == "tiny-phi3":
        from training_jobs.base_models import _default_tiny_folder, build_tiny_phi3

        return build_tiny_phi3(config.get("base_path") or _default_tiny_folder())
    return Path(config["base_path"])


def _base_ref(config: dict) -> dict:
    """The manifest's base_model for a LoRA artifact: the reference the service resolves, and its sha256."""
    if config["base_model"] != "gemma3-270m" or config.get("base_path"):
        raise ValueError("a LoRA artifact needs a base the service can resolve: use --form merged")
    base = resolve_model("embedded")
    return {"ref": "embedded", "name": base.name, "version": base.version, "sha256": base.sha256}


def export(run_dir: Path, form: str, work: Path) -> tuple[dict[str, Path], dict[str, Any]]:
    """The files to publish for a run and the manifest fields that describe them."""
    summary = json.loads((run_dir / "train_summary.json").read_text())
    config = summary["config"]
    fields: dict[str, Any] = {
        "profile": config["profile"] or ("gemma3" if config["base_model"].startswith("gemma") else "phi3"),
        "training_config": config,
        "data": {Path(d["path"]).name: d["sha256"] for d in summary.get("data", [])},
        "training": {
            k: summary.get(k)
            for k in (
                "rows",
                "steps",
                "final_train_loss",
                "eval_loss",
                "tokens_per_s",
                "seconds",
                "device",
                "dtype",
                "versions",
            )
        },
    }
    if form == "lora":
        base_folder = base_config_folder(config, work / "base")
        adapter = convert_lora_to_gguf(run_dir / "adapter", base_folder, work / "adapter-f16.gguf")
        return {"adapter-f16.gguf": adapter}, {**fields, "kind": "lora", "base_model": _base_ref(config)}
    from training_jobs.sft import merge_adapter

    merged = merge_adapter(
        config["base_model"], run_dir / "adapter", work / "merged", base_path=config.get("base_path")
    )
    f16 = convert_hf_to_gguf(merged, work / "model-f16.gguf")
    files = {
        f"model-{kind.lower()}.gguf": quantize(f16, work / f"model-{kind.lower()}.gguf", kind)
        for kind in ("Q4_K_M", "Q8_0")
    }
    return files, {
        **fields,
        "kind": "gguf",
        "gguf": "model-q4_k_m.gguf",
        "base_model": {"name": config["base_model"], "merged": True, "f16_sha256": sha256_file(f16)},
    }


def publish_run(
    run_dir: Path,
    name: str,
    store: Path,
    form: str = "lora",
    eval_report: Path | None = None,
    card: Path | None = None,
    evaluate: Callable[[dict[str, Path]], Path] | None = None,
    version: str | None = None,
) -> Path:
    """Export `run_dir` and publish it as `version` of `name` (default: the next); returns the
    version folder.

    `evaluate`, when given, is called with the exported files before publication and returns the
    evaluation report to record (instead of `eval_report`): what is published is what was measured.
    """
    with tempfile.TemporaryDirectory(prefix="publish-") as tmp:
        files, fields = export(run_dir, form, Path(tmp))
        if evaluate is not None:
            eval_report = evaluate(files)
        if eval_report is not None:
            report = json.loads(eval_report.read_text())
            fields["metrics"] = {
                "data": report.get("data"),
                "task": report.get("task"),
                "n": report.get("n"),
                **report.get("metrics", {}),
            }
        if card is not None:
            files["MODEL_CARD.md"] = card
        return publish(store, name, files, fields, version=version)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--run", type=Path, required=True, help="a training run folder (adapter/, train_summary.json)"
    )
    parser.add_argument("--name", required=True, help="artifact name, e.g. gemma3-270m-notes")
    parser.add_argument("--store", type=Path, default=None, help="artifact store root (default: settings)")
    parser.add_argument("--form", choices=FORMS, default="lora")
    parser.add_argument("--eval", type=Path, default=None, help="training_jobs.evaluate report to record")
    parser.add_argument("--card", type=Path, default=None, help="model card to publish beside the model")
    parser.add_argument(
        "--version",
        default=None,
        help="version to publish as, e.g. v6 (default: the next v<N>; an existing one is refused)",
    )
    args = parser.parse_args(argv)
    try:
        folder = publish_run(
            args.run,
            args.name,
            args.store or Settings().artifact_store,
            args.form,
            args.eval,
            args.card,
            version=args.version,
        )
    except (ExportError, ArtifactError, ValueError, OSError) as e:
        print(f"publish failed: {e}", file=sys.stderr)
        return 2
    print(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
