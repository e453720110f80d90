"""How far does ``--fast`` move the Wen metric from the reference protocol? (CPU-sized.)

Scores the same demo prompts with a model ``deidlint verify --ckpt tiny`` trained (its raw
model) under the reference protocol (DDIM, 50 steps, 4 generations, guidance 7.5) and under the
fast preset (10 steps, 1 generation), with the noise keys verify uses, and reports per prompt the
relative difference |fast - reference| / reference (median and maximum) and the Spearman rank
correlation of the two orderings. The result is written to
``deidlint/verify/data/protocol_deviation.json``, which every report made with ``--fast`` quotes.

    deidlint verify --ckpt tiny --fast --out verify-out        # trains verify-out/models/raw
    python benchmarks/protocol_deviation.py --model verify-out/models/raw

Prompts: all of the demo's duplicated pairs, then single pairs and held-out prompts
(``--singles``, ``--heldout``); the reference protocol costs about 25x the fast one.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

# As in `deidlint verify`: sleeping OpenMP waits keep a shared CPU from stalling (set before torch loads).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from deidlint.verify.dataset import load_demo  # noqa: E402
from deidlint.verify.experiment import HELDOUT_KEY_BASE  # noqa: E402
from deidlint.verify.metrics import ScoreConfig, roc_auc, score_prompts  # noqa: E402
from deidlint.verify.models import load_model, spec_from_args  # noqa: E402
from deidlint.verify.protocol import DEVIATION_FILE, FAST, REFERENCE, Protocol  # noqa: E402


def spearman(first: np.ndarray, second: np.ndarray) -> float:
    """Rank correlation (the scores are continuous, so ties do not occur)."""
    ranks = [np.argsort(np.argsort(values)).astype(float) for values in (first, second)]
    return float(np.corrcoef(ranks[0], ranks[1])[0, 1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("verify-out/models/raw"), help="a raw model verify trained")
    parser.add_argument("--singles", type=int, default=12, help="single (once-trained) pairs scored")
    parser.add_argument("--heldout", type=int, default=12, help="held-out prompts scored")
    parser.add_argument("--seed", type=int, default=0, help="the --seed of the verify run that trained --model")
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument("--write", type=Path, default=DEVIATION_FILE, help="where the result goes (default: the package's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if not (args.model / "unet").is_dir():
        sys.exit(f"protocol_deviation: {args.model} is not a model verify trained (run deidlint verify --ckpt tiny first)")

    train, heldout = load_demo(args.seed)
    items, rows = train.items()
    duplicated = [index for index, item_rows in enumerate(rows) if len(item_rows) > 1]
    singles = [index for index, item_rows in enumerate(rows) if len(item_rows) == 1][: args.singles]
    heldout_items = heldout.items()[0][: args.heldout]
    prompts = [items[index] for index in duplicated + singles] + heldout_items
    keys = duplicated + singles + [HELDOUT_KEY_BASE + j for j in range(len(heldout_items))]
    memorized = np.arange(len(prompts)) < len(duplicated)
    unseen = np.arange(len(prompts)) >= len(duplicated) + len(singles)
    model = load_model(spec_from_args(str(args.model)), seed=args.seed)

    def scored(protocol: Protocol) -> tuple[np.ndarray, float]:
        config = ScoreConfig(protocol.sampling_steps, protocol.generations, protocol.guidance, attribution=False,
                             batch_size=8, seed=args.seed)  # fmt: skip
        began = time.perf_counter()
        scores = score_prompts(model, prompts, keys, config, torch.device("cpu"), label=protocol.name, show_progress=False)
        return scores.wen, time.perf_counter() - began

    fast, fast_s = scored(FAST)
    reference, reference_s = scored(REFERENCE)
    relative = np.abs(fast - reference) / reference
    result = {
        "prompts": len(prompts),
        "median_relative_difference": float(np.median(relative)),
        "max_relative_difference": float(relative.max()),
        "spearman": spearman(fast, reference),
        "planted_vs_heldout_auc": {
            "fast": roc_auc(fast[memorized], fast[unseen]),
            "reference": roc_auc(reference[memorized], reference[unseen]),
        },
        "wall_s": {"fast": round(fast_s, 1), "reference": round(reference_s, 1)},
        "model": json.loads((args.model / "train.json").read_text())["config"],
        "command": f"python benchmarks/protocol_deviation.py --singles {args.singles} --heldout {args.heldout}",
        "measured": time.strftime("%Y-%m-%d"),
    }
    args.write.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{len(prompts)} prompts ({len(duplicated)} duplicated, {len(singles)} single, {len(heldout_items)} held out), "
          f"fast {fast_s:.0f} s, reference {reference_s:.0f} s")
    print(f"relative difference fast vs reference: median {result['median_relative_difference']:.3f}, "
          f"max {result['max_relative_difference']:.3f}; Spearman {result['spearman']:.3f}")
    print(f"duplicated vs held-out AUC: fast {result['planted_vs_heldout_auc']['fast']:.3f}, "
          f"reference {result['planted_vs_heldout_auc']['reference']:.3f}; wrote {args.write}")


if __name__ == "__main__":
    main()
