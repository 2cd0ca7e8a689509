"""Prompt evaluation and decoding speed of each llama.cpp build this venv holds, side by side.

    python bench/build_bench.py [--runs 2]

For the baseline (the package's library) and each variant under `.venv/llama-cpp-variants/` that
this CPU can run, a fresh process loads the served model (Gemma 3 270M Q4_K_M + the v2 adapter),
evaluates the first 1,600 tokens of a therapy dev session and decodes 64 tokens greedily; prints
one JSON object with tokens/s per build and the ratios to the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models import cpu  # noqa: E402

PROBE = """
import json, sys, time
from pathlib import Path
import models, llama_cpp
from models.resolve import resolve_model
r = resolve_model("gemma3-270m-notes:latest")
text = json.loads(sorted(Path("tests/data/therapy/dev").glob("*.json"))[1].read_text())["transcript"]
m = llama_cpp.Llama(str(r.path), n_ctx=4096, n_batch=512, n_threads=2, lora_path=str(r.lora_path),
                    verbose=False)
tokens = m.tokenize(text.encode())[:1600]
out = []
for _ in range(int(sys.argv[1])):
    m.reset()
    t = time.monotonic(); m.eval(tokens); prompt_s = time.monotonic() - t
    t = time.monotonic(); n = 64
    for _ in range(n):
        m.eval([m.sample(temp=0.0)])
    decode_s = time.monotonic() - t
    out.append({"prompt_tokens_per_s": len(tokens) / prompt_s, "decode_tokens_per_s": n / decode_s})
m.close()
print(json.dumps({"system_info": llama_cpp.llama_print_system_info().decode().strip(), "runs": out}))
"""


def run(env: dict[str, str], runs: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(runs)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    best = {k: round(max(r[k] for r in result["runs"]), 1) for k in result["runs"][0]}
    return {**best, "system_info": result["system_info"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2, help="runs per build (the best is kept)")
    args = parser.parse_args()
    base_env = {k: v for k, v in os.environ.items() if k != cpu.LIB_PATH_VAR}
    results = {"baseline": run({**base_env, "PSYNOTE_LLAMA_VARIANT": "baseline"}, args.runs)}
    for name, folder in cpu.runnable_variants().items():
        results[name] = run({**base_env, cpu.LIB_PATH_VAR: str(folder)}, args.runs)
    base = results["baseline"]
    ratios = {
        f"{name}_over_baseline_{k}": round(r[k] / base[k], 3)
        for name, r in results.items()
        if name != "baseline"
        for k in ("prompt_tokens_per_s", "decode_tokens_per_s")
    }
    print(json.dumps({"cpus": os.cpu_count(), "builds": results, "ratios": ratios}, indent=2))


if __name__ == "__main__":
    main()
