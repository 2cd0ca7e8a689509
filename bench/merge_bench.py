"""Prompt evaluation and batched decoding with the adapter applied at run time, merged into the
base (as the service serves it, models.merge), and the base model alone, side by side.

    python bench/merge_bench.py [--model gemma3-270m-notes:latest] [--rounds 2]

For each way, in turn and `--rounds` times, the engine's llama.cpp runtime (the build the service
picks for this CPU; flash attention, n_batch 512, 2 threads) evaluates the SOAP subjective prompt
of a therapy dev session (about 2,000 tokens), shares it with three more sequences and decodes 96
steps of all four together, as a note's sections decode. Prints one JSON object: the best
tokens/s of each way, and the ratios to the runtime adapter.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.llama_runtime import Runtime, RuntimeConfig  # noqa: E402
from models.profiles import get_profile  # noqa: E402
from models.prompts import section_prompt  # noqa: E402
from models.resolve import resolve_model  # noqa: E402

SEQUENCES, STEPS, N_BATCH = 4, 96, 512


def measure(model_path: str, lora_path: str | None, prompt: str) -> dict:
    rt = Runtime(RuntimeConfig(model_path, lora_path, 16384, 8, N_BATCH, 2, flash_attn=True))
    try:
        tokens = rt.tokenize(prompt)
        started = time.monotonic()
        for i in range(0, len(tokens), N_BATCH):
            for j, token in enumerate(tokens[i : i + N_BATCH]):
                rt.add(token, i + j, 0, i + j == len(tokens) - 1)
            rt.decode()
        prompt_s = time.monotonic() - started
        for s in range(1, SEQUENCES):
            rt.share(0, s, len(tokens))
        samplers = [rt.sampler(1.0, 0, 0, None) for _ in range(SEQUENCES)]
        last = [tokens[-1]] * SEQUENCES
        started = time.monotonic()
        for step in range(STEPS):
            for s in range(SEQUENCES):
                rt.add(last[s], len(tokens) + step, s, True)
            rt.decode()
            last = [rt.sample(samplers[s], s) for s in range(SEQUENCES)]
        decode_s = time.monotonic() - started
        for sampler in samplers:
            rt.free_sampler(sampler)
        return {
            "prompt_tokens": len(tokens),
            "prompt_tokens_per_s": len(tokens) / prompt_s,
            "decode_tokens_per_s": SEQUENCES * STEPS / decode_s,
        }
    finally:
        rt.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="gemma3-270m-notes:latest", help="a LoRA artifact")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    runtime = resolve_model(args.model)
    if runtime.lora_path is None:
        sys.exit("the model has no adapter to merge")
    merged = resolve_model(args.model, merge_lora=True)
    session = sorted((ROOT / "tests/data/therapy/dev").glob("*.json"))[0]
    prompt = section_prompt(
        get_profile(runtime.profile), json.loads(session.read_text())["transcript"], "subjective"
    )
    ways = {
        "runtime_adapter": (str(runtime.path), str(runtime.lora_path)),
        "merged": (str(merged.path), None),
        "base_alone": (str(runtime.path), None),
    }
    runs: dict[str, list[dict]] = {name: [] for name in ways}
    for _ in range(args.rounds):
        for name, (model_path, lora_path) in ways.items():
            runs[name].append(measure(model_path, lora_path, prompt))
    best = {
        name: {k: round(max(r[k] for r in rs), 1) for k in rs[0] if k.endswith("per_s")}
        for name, rs in runs.items()
    }
    anchor = best["runtime_adapter"]
    print(
        json.dumps(
            {
                "model": f"{runtime.name}:{runtime.version}",
                "merged_into_file": merged.merged,
                "prompt_tokens": runs["merged"][0]["prompt_tokens"],
                "best": best,
                "ratio_to_runtime_adapter": {
                    name: {k: round(v / anchor[k], 3) for k, v in b.items()} for name, b in best.items()
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
