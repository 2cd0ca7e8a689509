"""Time the risk scan on a 1,500-word transcript (target: under 50 ms), with and without the
learned detector (`models.risk.detector`) beside the cues, side by side.

    python bench/risk_bench.py [--words 1500] [--runs 50]

Two transcripts of --words words: "dense", the project's dev excerpts (tests/data/risk/dev.jsonl,
risky and calm) alternating with ordinary therapy talk, so that about half the turns hold a risk
cue; and "typical", ordinary therapy talk with a dev excerpt after every twelve turns. Prints the
word and turn counts, the flags found, and the median, p95 and max of --runs scans of each, in
wall-clock time and in the process's CPU time (which other load on the machine disturbs less).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from models.risk import scan
from models.text import normalize, parse_turns, word_count

DEV = Path(__file__).resolve().parents[1] / "tests" / "data" / "risk" / "dev.jsonl"
FILLER = (
    "Therapist: What did you notice in your body when that happened?\n"
    "Client: My shoulders were tight and I was breathing fast, and then I remembered the exercise we "
    "practised, so I counted my breaths and went outside for a few minutes before I called my sister.\n"
)


def transcript(words: int, every: int = 1) -> str:
    """A transcript of at least `words` words: a dev excerpt after every `every` filler turns."""
    cases = [json.loads(line)["text"] for line in DEV.read_text(encoding="utf-8").splitlines() if line]
    parts: list[str] = []
    i = 0
    while word_count("\n".join(parts)) < words:
        if len(parts) % (every + 1) == 0:
            parts.append(cases[i % len(cases)])
            i += 7  # a spread of categories and negatives
        else:
            parts.append(FILLER)
    return "\n".join(parts)


def measure(name: str, text: str, runs: int, learned: bool = True) -> str:
    """One line: the transcript's size and flags, and the scan's time over `runs` runs."""
    flags = scan(text, learned=learned)
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        scan(text, learned=learned)
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return (
        f"{name}: {word_count(text)} words, {len(parse_turns(normalize(text)))} turns, {len(flags)} flags; "
        f"wall {_summary(wall)}; CPU {_summary(cpu)}"
    )


def _summary(times: list[float]) -> str:
    times = sorted(times)
    p95 = times[min(len(times) - 1, round(0.95 * len(times)) - 1)]
    return f"median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms, max {times[-1]:.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--words", type=int, default=1500)
    ap.add_argument("--runs", type=int, default=50)
    args = ap.parse_args()
    dense = transcript(args.words)
    typical = transcript(args.words, every=12)
    for learned, how in ((False, "cues alone"), (True, "cues and detector")):
        print(measure(f"dense, {how}", dense, args.runs, learned))
        print(measure(f"typical, {how}", typical, args.runs, learned))
    print("target: under 50 ms")  # no assertion: a figure to read, not a test


if __name__ == "__main__":
    main()
