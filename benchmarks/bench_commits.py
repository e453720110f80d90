"""The fixer's speed at two commits, side by side: did a change make ``fix`` slower?

    python benchmarks/bench_commits.py BASE [NEW] [--reports N] [--repeats R] [--strategy S]

``bench_fix.py`` compares ``fix`` with ``check`` and a naive fix in one run, but two such runs on
different days differ by more than most changes do (this machine is shared). Here each commit is
checked out in a temporary git worktree and timed in its own process, the two alternating, on
the same generated MIMIC-style reports (``deidlint.synth`` of this checkout, seed 7, so both
read the same text); only ``fix_texts`` is timed, not start-up or generation. ``NEW`` defaults
to the working tree as it is (uncommitted changes included). It prints each run, the medians and
their ratio (NEW / BASE; above 1: slower).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Run by each commit's checkout: read the reports both sides share, time the fix alone.
_TIMED = r"""
import json, sys, time
try:
    from deidlint.fix import fix_texts
except ImportError:  # before 09cbf6b the repair was one module: the fixer issue 11 started from
    from deidlint.fixing import fix_texts
texts = json.load(open(sys.argv[1], encoding="utf-8"))
start = time.perf_counter()
fix_texts(texts, strategy=sys.argv[2])
print(time.perf_counter() - start)
"""


def _time(tree: Path, corpus: Path, strategy: str) -> float:
    proc = subprocess.run([sys.executable, "-c", _TIMED, str(corpus), strategy], cwd=tree, capture_output=True,
                          text=True, env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"})
    if proc.returncode != 0:
        sys.exit(f"bench_commits: the fix failed in {tree}: {proc.stderr.strip().splitlines()[-1:]}")
    return float(proc.stdout.split()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", help="the commit to compare against (a revision git understands)")
    parser.add_argument("new", nargs="?", help="the newer commit (default: the working tree)")
    parser.add_argument("--reports", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--strategy", default="remove")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from deidlint.synth import generate

    with tempfile.TemporaryDirectory(prefix="bench-commits-") as tmp:
        corpus = Path(tmp) / "reports.json"
        corpus.write_text(json.dumps([r.text for r in generate(args.reports, seed=7, style="mimic")]), "utf-8")
        trees: dict[str, Path] = {}
        for label, rev in (("base", args.base), ("new", args.new)):
            if rev is None:
                trees[label] = ROOT
                continue
            trees[label] = Path(tmp) / label
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(trees[label]), rev],
                           check=True)
        try:
            runs: dict[str, list[float]] = {"base": [], "new": []}
            for i in range(args.repeats):
                for label in ("base", "new"):
                    runs[label].append(_time(trees[label], corpus, args.strategy))
                print(f"run {i + 1}: base {runs['base'][-1]:.2f} s, new {runs['new'][-1]:.2f} s", flush=True)
        finally:
            for tree in trees.values():
                if tree != ROOT:
                    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
    base, new = statistics.median(runs["base"]), statistics.median(runs["new"])
    print(f"\n`fix_texts(strategy={args.strategy!r})` on {args.reports:,} generated MIMIC-style reports, "
          f"median of {args.repeats}:")
    print(f"| commit | median s | range s |\n|---|---:|---:|\n"
          f"| base {args.base} | {base:.2f} | {min(runs['base']):.2f}-{max(runs['base']):.2f} |\n"
          f"| new {args.new or 'working tree'} | {new:.2f} | {min(runs['new']):.2f}-{max(runs['new']):.2f} |")
    print(f"ratio new / base: {new / base:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
