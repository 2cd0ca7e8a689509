"""Training benchmark on this machine's CPU, every figure from one run of this script.

    python bench/train_bench.py [--steps 6] [--rows 64]

1. The Ray Train job (`--backend ray`) against the same trl run in-process (`--backend local`):
   training tokens per second and wall time, as a ratio.
2. QLoRA (bitsandbytes NF4) against plain LoRA, both in-process: tokens per second and the peak
   resident memory of the whole process tree.
Each run is the shipped gemma3-270m config with a few steps at batch 1 on MTS-Dialog rows.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "training_jobs" / "configs" / "gemma3-270m.yaml"
ENV = {
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
    "HF_HUB_OFFLINE": "1",
}


def peak_rss(proc: subprocess.Popen, stop: threading.Event, result: dict) -> None:
    """Samples the RSS of `proc` and its descendants until `stop`; keeps the peak in MiB."""
    peak = 0
    while not stop.is_set():
        try:
            tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
            total = 0
            for p in tree:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    continue
            peak = max(peak, total)
        except psutil.Error:
            pass
        time.sleep(0.25)
    result["peak_rss_mib"] = peak / 2**20


def run(name: str, out: Path, steps: int, rows: int, *overrides: str) -> dict:
    args = [
        sys.executable,
        "-m",
        "training_jobs.sft",
        "--config",
        str(CONFIG),
        "--set",
        f"max_steps={steps}",
        "--set",
        f"max_rows={rows}",
        "--set",
        "batch_size=1",
        "--set",
        "grad_accum=1",
        "--set",
        "gradient_checkpointing=true",
        "--set",
        f"output_dir={out}",
        "--set",
        f"run_name={name}",
        *[a for o in overrides for a in ("--set", o)],
    ]
    started = time.monotonic()
    proc = subprocess.Popen(
        args,
        cwd=ROOT,
        env={**os.environ, **ENV},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    stop, memory = threading.Event(), {}
    sampler = threading.Thread(target=peak_rss, args=(proc, stop, memory))
    sampler.start()
    _, err = proc.communicate()
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed ({proc.returncode}): {err[-2000:]}")
    summary = json.loads((out / name / "train_summary.json").read_text())
    return {
        "tokens_per_s": summary["tokens_per_s"],
        "train_seconds": summary.get("train_seconds"),
        "wall_seconds": time.monotonic() - started,
        "final_train_loss": summary["final_train_loss"],
        **memory,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--rows", type=int, default=64)
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="train-bench-"))
    results = {
        "local_lora": run("local-lora", out, args.steps, args.rows, "backend=local"),
        "ray_lora": run("ray-lora", out, args.steps, args.rows, "backend=ray"),
        "local_qlora": run("local-qlora", out, args.steps, args.rows, "backend=local", "quantization=nf4"),
    }
    local, ray, qlora = results["local_lora"], results["ray_lora"], results["local_qlora"]
    results["ray_over_local_tokens_per_s"] = ray["tokens_per_s"] / local["tokens_per_s"]
    results["ray_over_local_wall"] = ray["wall_seconds"] / local["wall_seconds"]
    results["qlora_over_lora_tokens_per_s"] = qlora["tokens_per_s"] / local["tokens_per_s"]
    results["qlora_over_lora_peak_rss"] = qlora["peak_rss_mib"] / local["peak_rss_mib"]
    results["setup"] = {"steps": args.steps, "rows": args.rows, "cpus": os.cpu_count(), "batch_size": 1}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
