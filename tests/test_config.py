"""serve_config.yaml as shipped: its arguments parse, and the limits that must agree do."""

from __future__ import annotations

from pathlib import Path

import yaml

from deployments.app import AppArgs

ROOT = Path(__file__).resolve().parents[1]


def _application() -> dict:
    return yaml.safe_load((ROOT / "serve_config.yaml").read_text())["applications"][0]


def test_the_ingress_admits_what_the_note_generators_hold() -> None:
    """max_pending_notes = max_ongoing_requests * max_replicas + max_queued_requests: smaller, and
    generators idle while the Ingress refuses; larger, and a burst reaches the generator's queue
    again (503 after a round trip instead of at once)."""
    app = _application()
    args = AppArgs.model_validate(app["args"])
    generator = next(d for d in app["deployments"] if d["name"] == "NoteGenerator")
    replicas = generator.get("autoscaling_config", {}).get("max_replicas", generator.get("num_replicas", 1))
    held = generator["max_ongoing_requests"] * replicas + generator["max_queued_requests"]
    ingress = next(d for d in app["deployments"] if d["name"] == "Ingress")
    assert args.max_pending_notes == held
    assert ingress["max_ongoing_requests"] > held  # the Ingress itself must not queue a burst
