"""Download a base model from the Hugging Face Hub into the artifact store.

    python -m training_jobs.download_base --model phi3-mini --store models/published

Run it on a machine with internet access (unset HF_HUB_OFFLINE; HF_TOKEN if the repo needs
one). It publishes two artifacts with checksums: the Hugging Face weights (kind hf, the base
for fine-tuning; e.g. `phi3-mini-hf:v1`) and the official GGUF (kind gguf, servable as is;
e.g. `phi3-mini-4k-instruct-q4:v1`). This is the only code of the project that talks to a model
hub, and nothing calls it implicitly.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.artifacts import ArtifactError, publish


@dataclass(frozen=True)
class BaseModel:
    """A base model on the hub: its weights repo and its official GGUF."""

    profile: str
    hf_repo: str
    hf_name: str
    gguf_repo: str
    gguf_file: str
    gguf_name: str
    #: Files of the weights repo that fine-tuning and GGUF conversion need.
    hf_patterns: tuple[str, ...] = ("*.json", "*.safetensors", "tokenizer.model")


BASE_MODELS = {
    "phi3-mini": BaseModel(
        profile="phi3",
        hf_repo="microsoft/Phi-3-mini-4k-instruct",
        hf_name="phi3-mini-hf",
        gguf_repo="microsoft/Phi-3-mini-4k-instruct-gguf",
        gguf_file="Phi-3-mini-4k-instruct-q4.gguf",
        gguf_name="phi3-mini-4k-instruct-q4",
    ),
}


def _commit_sha(repo_id: str, revision: str | None) -> str:
    """The commit that `revision` (default: main) of `repo_id` points at, to pin the download."""
    from huggingface_hub import HfApi

    return str(HfApi().model_info(repo_id, revision=revision).sha)


def _snapshot_download(**kwargs: Any) -> str:
    from huggingface_hub import snapshot_download

    return str(snapshot_download(**kwargs))


def download(model: str, store: Path, revision: str | None = None) -> list[str]:
    """Download `model`'s weights and GGUF and publish both; returns their `name:version` refs."""
    spec = BASE_MODELS[model]
    store = Path(store)
    store.mkdir(parents=True, exist_ok=True)
    refs = []
    jobs = [
        ("hf", spec.hf_name, spec.hf_repo, list(spec.hf_patterns)),
        ("gguf", spec.gguf_name, spec.gguf_repo, [spec.gguf_file]),
    ]
    for kind, name, repo, patterns in jobs:
        # Download inside the store so that publishing moves files instead of copying them.
        with tempfile.TemporaryDirectory(dir=store, prefix=".download-") as tmp:
            sha = _commit_sha(repo, revision if kind == "hf" else None)
            _snapshot_download(repo_id=repo, revision=sha, local_dir=tmp, allow_patterns=patterns)
            files = _downloaded_files(Path(tmp))
            if not files:
                raise ArtifactError(f"nothing matching {patterns} in {repo}@{sha}")
            fields: dict[str, Any] = {
                "kind": kind,
                "profile": spec.profile,
                "source": {"hub_repo": repo, "revision": sha, "patterns": patterns},
            }
            if kind == "gguf":
                fields["gguf"] = spec.gguf_file
            path = publish(store, name, files, fields, move=True)
        refs.append(f"{name}:{path.name}")
    return refs


def _downloaded_files(folder: Path) -> dict[str, Path]:
    """Relative path -> file, without the hub client's own bookkeeping folder (.cache/)."""
    return {
        p.relative_to(folder).as_posix(): p
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.relative_to(folder).parts[0] != ".cache"
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training_jobs.download_base")
    parser.add_argument("--model", required=True, choices=sorted(BASE_MODELS), help="base model")
    parser.add_argument("--store", type=Path, required=True, help="artifact store root folder")
    parser.add_argument("--revision", help="weights repo revision (default: main)")
    args = parser.parse_args(argv)
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        print("error: HF_HUB_OFFLINE is set; unset it to download from the hub", file=sys.stderr)
        return 2
    try:
        for ref in download(args.model, args.store, args.revision):
            print(ref)
    except ArtifactError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
