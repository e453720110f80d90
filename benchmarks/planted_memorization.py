"""Does the Wen et al. metric find memorization we plant on purpose? (CPU-sized.)

Train the built-in tiny model (``--ckpt tiny``) on PneumoniaMNIST images paired with synthetic
reports, where a few pairs are duplicated many times, as in the de-duplication studies behind
Wen et al. (ICLR 2024). Then score every distinct training prompt and ``--heldout`` prompts never
trained on with the detection metric ``||eps(x_t, c) - eps(x_t, empty)||`` and report, as Wen
et al. do, ROC AUC and the true-positive rate at 1% false positives of the duplicated
(memorized) prompts against the held-out prompts, and against single pairs (trained once).
``verify``'s conclusions rest on this measurement, so it has to work on the same model and code
path first.

    python benchmarks/planted_memorization.py            # defaults fit a 2-core CPU
    python benchmarks/planted_memorization.py --steps 3000 --device cuda

The last line printed is ``planted memorization AUC: X, TPR at 1% FPR: Y`` (against held-out prompts).
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
from accelerate import Accelerator  # noqa: E402
from diffusers import UNet2DConditionModel  # noqa: E402

from deidlint import synth  # noqa: E402
from deidlint.verify.compare import detection  # noqa: E402
from deidlint.verify.dataset import DEMO_FILE, load_images  # noqa: E402
from deidlint.verify.experiment import HELDOUT_KEY_BASE  # noqa: E402
from deidlint.verify.metrics import ScoreConfig, score_prompts, thumbnails_of  # noqa: E402
from deidlint.verify.models import build_tiny  # noqa: E402
from deidlint.verify.replication import build_detector, describe  # noqa: E402
from deidlint.verify.train import TrainConfig, build_training_set, load_result, train  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--singles", type=int, default=112, help="pairs that occur once")
    parser.add_argument("--duplicated", type=int, default=16, help="pairs that are duplicated")
    parser.add_argument("--copies", type=int, default=16, help="occurrences of each duplicated pair")
    parser.add_argument("--heldout", type=int, default=64, help="prompts never trained on (the negatives)")
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--sampling-steps", type=int, default=10)
    parser.add_argument("--generations", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", type=Path, default=Path("bench-data/planted"), help="training folder (reused when rerun)")
    args = parser.parse_args()

    with np.load(DEMO_FILE) as bundle:
        images, labels = bundle["images"], bundle["labels"].astype(int)
    pairs = args.singles + args.duplicated
    if pairs > len(images):
        parser.error(f"the bundled set has {len(images)} images; ask for at most that many pairs")
    chosen = np.random.default_rng(args.seed).permutation(len(images))[:pairs]
    prompts = [report.text for report in synth.generate(pairs, seed=args.seed, labels=labels[chosen].tolist())]
    unseen = [report.text for report in synth.generate(args.heldout, seed=args.seed + 1)]
    unseen = [prompt for prompt in unseen if prompt not in set(prompts)]
    duplicated = np.arange(pairs) < args.duplicated
    rows = list(range(pairs)) + [index for index in range(args.duplicated) for _ in range(args.copies - 1)]

    accelerator = Accelerator(cpu=args.device == "cpu", mixed_precision="bf16" if args.device == "cuda" else "no")
    model = build_tiny(args.seed)
    model.to(accelerator.device)
    pixels = load_images([images[chosen[row]] for row in rows], model.resolution, model.image_channels)
    training_set = build_training_set(model, [prompts[row] for row in rows], pixels)
    config = TrainConfig(
        steps=args.steps,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        warmup_steps=50,
        cond_dropout=0.1,
        seed=args.seed,
        mixed_precision=str(accelerator.mixed_precision),
    )
    data_key = json.dumps({"pairs": pairs, "duplicated": args.duplicated, "copies": args.copies, "seed": args.seed})
    bars = sys.stderr.isatty()  # as in verify: a log file would get every redraw as a line
    began = time.perf_counter()
    result = load_result(args.out, config, data_key)
    if result is None:
        result = train(
            model, model.unet, training_set, config, args.out, accelerator, data_key=data_key, strategy=None, label="planted",
            show_progress=bars,
        )
    else:
        model.unet = UNet2DConditionModel.from_pretrained(args.out / "unet", local_files_only=True, use_safetensors=True)
    train_s = time.perf_counter() - began
    # verify's copy detector, validated on these pairs' images; its null is checked on the images left out.
    unused = np.setdiff1d(np.arange(len(images)), chosen)
    side = model.resolution
    detector = build_detector(
        thumbnails_of(load_images([images[i] for i in chosen], side, 1), side),
        thumbnails_of(load_images([images[i] for i in unused], side, 1), side),
        args.seed,
    )
    print(f"copy detector: {describe(detector)}")

    scoring = ScoreConfig(
        sampling_steps=args.sampling_steps,
        generations=args.generations,
        attribution=False,
        batch_size=16,
        seed=args.seed,
        mixed_precision=str(accelerator.mixed_precision),
    )
    model.unet.to(accelerator.device).eval()
    began = time.perf_counter()
    scores = score_prompts(model, prompts, list(range(pairs)), scoring, accelerator.device, label="score", show_progress=bars)
    never = score_prompts(
        model, unseen, [HELDOUT_KEY_BASE + j for j in range(len(unseen))], scoring, accelerator.device, label="held out",
        show_progress=bars,
    )
    score_s = time.perf_counter() - began
    against_heldout = detection(scores.wen[duplicated], never.wen)
    against_singles = detection(scores.wen[duplicated], scores.wen[~duplicated])
    print(
        f"{pairs} pairs ({args.duplicated} duplicated x{args.copies}, {len(rows)} rows), {args.steps} steps at batch "
        f"{args.batch_size}: training {train_s:.0f} s ({result['steps_per_s']} steps/s), scoring {score_s:.0f} s"
    )
    print(
        f"Wen metric mean: duplicated {scores.wen[duplicated].mean():.4f}, single {scores.wen[~duplicated].mean():.4f}, "
        f"held out {never.wen.mean():.4f}; sampling {args.sampling_steps} DDIM steps x {args.generations} generation(s)"
    )
    print(f"duplicated vs single pairs: AUC {against_singles['auc']:.3f}, TPR at 1% FPR {against_singles['tpr_at_1pct_fpr']:.3f}")
    print(
        f"planted memorization AUC: {against_heldout['auc']:.3f}, TPR at 1% FPR: {against_heldout['tpr_at_1pct_fpr']:.3f} "
        f"({against_heldout['positives']} duplicated against {against_heldout['negatives']} held-out prompts)"
    )


if __name__ == "__main__":
    main()
