"""Cleaning against the mitigations from the literature, on the bundled demo (CPU-sized).

Runs the one command a curator would run, side by side in one process run of ``deidlint verify``:
the raw model, the cleaning strategies, and every mitigation of ``verify --mitigate`` (random word
and number insertion, prompt-embedding minimisation, a static guidance transition point, caption
randomisation and sample dropping), then prints the table of ``report.json``'s ``mitigations[]``
and the wall time. Its defaults fit 30 minutes on 2 CPU cores:

    python benchmarks/mitigation.py                       # the README's table
    python benchmarks/mitigation.py --steps 800 --fast    # longer training, the measured fast protocol

The exact command it runs is printed first. Rerunning with the same ``--out`` reuses what is
trained and scored (delete the folder to time a run from scratch). The GPU counterpart is
``benchmarks/gpu_verify.sh`` (``MITIGATE``).
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

from deidlint.verify.mitigation_records import MITIGATIONS
from deidlint.verify.mitigation_table import markdown_lines

BUDGET_S = 30 * 60


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400, help="training steps per model (default 400)")
    parser.add_argument("--sampling-steps", type=int, default=5, help="DDIM steps when scoring (default 5)")
    parser.add_argument("--generations", type=int, default=1)
    parser.add_argument("--fast", action="store_true", help="the fast protocol (10 steps, 1 generation) instead")
    parser.add_argument("--strategy", nargs="+", default=["remove"], help="cleaning strategies (default remove)")
    parser.add_argument("--mitigate", default=",".join(MITIGATIONS), help="mitigations (default: all)")
    parser.add_argument("--bootstrap", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("bench-data/mitigation"))
    args = parser.parse_args()

    command = [sys.executable, "-m", "deidlint", "verify", "--ckpt", "tiny", "--steps", str(args.steps),
               "--strategy", *args.strategy, "--mitigate", args.mitigate, "--bootstrap", str(args.bootstrap),
               "--seed", str(args.seed), "--out", str(args.out), "--no-progress"]  # fmt: skip
    command += ["--fast"] if args.fast else ["--sampling-steps", str(args.sampling_steps), "--generations", str(args.generations)]
    print("mitigation: " + shlex.join(command), flush=True)
    began = time.perf_counter()
    status = subprocess.run(command, check=False).returncode
    elapsed = time.perf_counter() - began
    if status != 0:
        print(f"mitigation: verify exited {status}", file=sys.stderr)
        return status
    report = json.loads((args.out / "report.json").read_text())
    print("\n".join(markdown_lines(report)))
    labels = report["utility"]["labels"]
    print(f"\nmitigation: label classifier balanced accuracy on real held-out images {labels['heldout_balanced_accuracy']:.3f}"
          f" (shuffled labels {labels['shuffled_labels_heldout_balanced_accuracy']:.3f})")  # fmt: skip
    raw = report["models"][0]
    if "detection" in raw:
        print(f"mitigation: raw model, planted duplicates against held-out prompts: AUC {raw['detection']['auc']:.3f}")
    print(f"mitigation: wall time {elapsed:.0f} s ({'within' if elapsed <= BUDGET_S else 'over'} the {BUDGET_S // 60}-minute "
          "budget; a rerun that reuses the output folder is faster)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
