"""serve_config.yaml as shipped: its arguments parse, and the limits that must agree do."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from deployments.app import AppArgs

ROOT = Path(__file__).resolve().parents[1]


def _serve_config() -> dict:
    return yaml.safe_load((ROOT / "serve_config.yaml").read_text())


def _rayservice_config() -> dict:
    manifest = yaml.safe_load((ROOT / "cluster" / "rayservice.yaml").read_text())
    return yaml.safe_load(manifest["spec"]["serveConfigV2"])


@pytest.mark.parametrize("config", [_serve_config, _rayservice_config], ids=["serve_config", "rayservice"])
def test_the_ingress_admits_what_the_note_generators_hold(config) -> None:
    """max_pending_notes = max_ongoing_requests * max_replicas + max_queued_requests: smaller, and
    generators idle while the Ingress refuses; larger, and a burst reaches the generator's queue
    again (503 after a round trip instead of at once)."""
    app = config()["applications"][0]
    args = AppArgs.model_validate(app["args"])
    generator = next(d for d in app["deployments"] if d["name"] == "NoteGenerator")
    replicas = generator.get("autoscaling_config", {}).get("max_replicas", generator.get("num_replicas", 1))
    held = generator["max_ongoing_requests"] * replicas + generator["max_queued_requests"]
    ingress = next(d for d in app["deployments"] if d["name"] == "Ingress")
    assert args.max_pending_notes == held
    assert ingress["max_ongoing_requests"] > held  # the Ingress itself must not queue a burst
