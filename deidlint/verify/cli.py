"""The ``verify`` and ``score`` subcommands.

This module is imported whenever the ``deidlint`` command starts, so it imports nothing heavy:
torch, diffusers and the rest load inside the handlers, and only after checking that the
``verify`` extra is installed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Callable
from typing import TypeVar

from deidlint.rules import STRATEGIES
from deidlint.verify.errors import VerifyError
from deidlint.verify.mitigation_records import MITIGATIONS

EXTRA_MODULES = ("torch", "diffusers", "transformers", "accelerate", "safetensors", "matplotlib")
#: The install line README gives: the torch pin takes the CPU build, where an unpinned torch
#: pulls a CUDA build of several GB.
MISSING_EXTRA = ("deidlint: error: verify needs the 'verify' extra: pip install torch==2.13.0 'deidlint[verify]' "
                 "(the pin avoids a CUDA build of several GB)")

#: The parser class of the ``deidlint`` command's subparsers, whatever its own error handling.
_Parser = TypeVar("_Parser", bound=argparse.ArgumentParser)


def register(subparsers: argparse._SubParsersAction[_Parser]) -> None:
    """Add ``verify`` and ``score`` to the ``deidlint`` command's subparsers."""
    verify = subparsers.add_parser(
        "verify",
        help="measure whether cleaning traces reduces memorization in a diffusion model",
        description=(
            "Fine-tune one copy of a text-to-image diffusion model on the raw prompts and one per cleaning "
            "strategy on the cleaned prompts (same images, seed and schedule), then score each copy for "
            "memorization (Wen et al. metric, token attribution, share above a threshold fixed on the raw model's "
            "held-out prompts, copy rate), paired per training image. "
            "With no --data it runs on the bundled demo set; rerunning with the same --out resumes."
        ),
    )
    _model_options(verify)
    _data_options(verify)
    _scoring_options(verify, default_out="verify-out")
    verify.add_argument(
        "--strategy", nargs="+", action="extend", metavar="S", help="cleaning strategies to compare with raw (default: remove)"
    )
    verify.add_argument("--steps", type=int, metavar="N", help="training steps per model (default 800 for tiny, 2000 otherwise)")
    verify.add_argument(
        "--seeds",
        type=int,
        default=1,
        metavar="N",
        help="training replicates of every model, with training seeds seed..seed+N-1; intervals then cover them (default 1)",
    )
    verify.add_argument("--batch-size", type=int, metavar="N", help="global training batch (default 8 for tiny, 4 otherwise)")
    verify.add_argument("--lr", type=float, help="learning rate (default 1e-3 tiny, 1e-5 full fine-tune, 1e-4 LoRA)")
    verify.add_argument("--warmup-steps", type=int, metavar="N", help="linear warm-up steps (default 50 tiny, 100 otherwise)")
    verify.add_argument(
        "--cond-dropout",
        type=float,
        default=0.1,
        metavar="P",
        help="share of samples trained with the empty prompt (default 0.1)",
    )
    verify.add_argument("--lora-rank", type=int, metavar="R", help="train LoRA adapters of this rank instead of the whole UNet")
    verify.add_argument("--gradient-checkpointing", action="store_true", help="trade compute for memory on large UNets")
    verify.add_argument(
        "--checkpoint-every", type=int, default=200, metavar="N", help="steps between resumable checkpoints (default 200)"
    )
    verify.add_argument(
        "--mitigate",
        type=_names,
        action="extend",
        metavar="NAME[,NAME...]",
        help="also measure these mitigations from the literature beside cleaning, on raw prompts: "
        f"{', '.join(MITIGATIONS)} (the last two train a model each)",
    )
    verify.add_argument(
        "--fail-under",
        type=float,
        metavar="X",
        help="exit 1 when a strategy's reduction of the share of training prompts above the fixed threshold "
        "(raw minus cleaned, 0 when cleaning changes nothing) is below X",
    )
    verify.set_defaults(func=_handler("run_verify"))

    score = subparsers.add_parser(
        "score",
        help="score an existing diffusion model for memorization of its training prompts",
        description=(
            "Score a model without training: Wen et al. metric, attribution, share above a threshold fixed on held-out "
            "prompts (--heldout, or the split verify uses) and copy rate on the prompts of --data."
        ),
    )
    _model_options(score)
    _data_options(score)
    _scoring_options(score, default_out="verify-out/score")
    score.add_argument(
        "--strategy", metavar="S", help="clean the prompts with S first (default: what a verify-trained model was trained on)"
    )
    score.add_argument("--name", help="model name in the report (default: its strategy, or raw)")
    score.set_defaults(func=_handler("run_score"))


def _model_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model")
    group.add_argument("--ckpt", help="diffusers folder (Stable Diffusion layout), a folder written by verify, or 'tiny'")
    group.add_argument("--unet", help="UNet folder (instead of --ckpt, e.g. for RadEdit)")
    group.add_argument("--vae", help="VAE folder (omit for pixel-space models)")
    group.add_argument("--text-encoder", help="text encoder folder")
    group.add_argument("--tokenizer", help="tokenizer folder (default: the text encoder's)")
    group.add_argument("--scheduler", help="scheduler folder (default: the model's own, beside its UNet)")
    group.add_argument(
        "--schedule",
        metavar="NAME",
        help="named noise schedule for a model that ships none: sd (Stable Diffusion) or radedit "
        "(the seed author's DDIM: linear betas, trailing spacing, first step 999)",
    )
    group.add_argument("--trust-pickle", action="store_true", help="allow pickle weights (.bin/.ckpt), which can run code")
    group.add_argument("--trust-remote-code", action="store_true", help="allow a text encoder's own modelling code (BioViL-T)")


def _data_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data")
    group.add_argument("--data", help="CSV, JSONL or Parquet of prompts and images (default: the bundled demo set)")
    group.add_argument("--column", default="text", metavar="C", help="prompt column (default text)")
    group.add_argument(
        "--image-column",
        default="image",
        metavar="C",
        help="image column: paths relative to the data file, or bytes (default image)",
    )
    group.add_argument("--image-dir", metavar="D", help="folder of images named <id>.png/.jpg instead of an image column")
    group.add_argument("--id-column", default="id", metavar="C", help="id column used with --image-dir (default id)")
    group.add_argument(
        "--label-column",
        metavar="C",
        help="a binary image label (two distinct values) for the utility measures: a classifier trained on it says "
        "whether generated images still show their prompt's label (the demo brings its own)",
    )
    group.add_argument("--heldout", metavar="FILE", help="prompts and images the model is not trained on, for calibration")
    group.add_argument(
        "--memorized",
        metavar="FILE",
        help="known memorized training prompts (.txt one per line, or CSV/JSONL/Parquet with --column): "
        "ROC AUC and TPR at 1%% FPR against held-out prompts (default on the demo: its duplicated pairs)",
    )
    group.add_argument(
        "--holdout",
        type=float,
        default=0.1,
        metavar="F",
        help="without --heldout: share of once-occurring prompts held out (default 0.1)",
    )


def _scoring_options(parser: argparse.ArgumentParser, default_out: str) -> None:
    group = parser.add_argument_group("scoring and output")
    group.add_argument("--device", choices=("cpu", "cuda"), help="default: cuda when available")
    group.add_argument(
        "--mixed-precision", choices=("auto", "no", "bf16", "fp16"), default="auto", help="default: bf16 on CUDA, none on CPU"
    )
    group.add_argument("--seed", type=int, default=0,
                       help="seed of data splits, training noise and sampling: the same seed, the same run (default 0)")
    group.add_argument(
        "--out",
        default=default_out,
        metavar="DIR",
        help=f"output folder; rerun with the same folder to resume (default {default_out})",
    )
    group.add_argument(
        "--fast",
        action="store_true",
        help="CPU preset: 10 DDIM steps x 1 generation instead of the reference 50 x 4; the report states its measured deviation",
    )
    group.add_argument("--sampling-steps", type=int, metavar="N", help="DDIM steps (default 50, the reference; 10 with --fast)")
    group.add_argument(
        "--generations", type=int, metavar="N", help="generations per prompt (default 4, the reference; 1 with --fast)"
    )
    group.add_argument("--guidance", type=float, default=7.5, help="classifier-free guidance scale (default 7.5)")
    group.add_argument("--no-attribution", action="store_true", help="skip token attribution (about 2x faster scoring)")
    group.add_argument(
        "--reference-attribution",
        action="store_true",
        help="token attribution as the seed paper's code computes it (get_text_cond_grad: conditional and unconditional "
        "embeddings swapped along the trajectory), so numbers can be set beside the paper's",
    )
    group.add_argument(
        "--score-batch-size", type=int, metavar="N", help="prompts per scoring batch (default 8 on CUDA, 16 on CPU)"
    )
    group.add_argument(
        "--quantile",
        type=float,
        default=0.95,
        help="quantile of the raw model's held-out metric fixed as the threshold for every model "
        "(default 0.95: 5%% false positives)"
    )
    group.add_argument(
        "--bootstrap", type=int, default=1000, metavar="N", help="bootstrap replicates for the intervals (default 1000)"
    )
    group.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="CPU threads for torch (default: one per core; on a busy shared machine 1 can be several times faster)",
    )
    group.add_argument(
        "--no-progress", action="store_true", help="no progress bars (they only show on a terminal; otherwise one line per phase)"
    )


def _handler(name: str) -> Callable[[argparse.Namespace], int]:
    """A handler that checks the extra, then runs ``experiment.<name>`` with one-line errors."""

    def handle(args: argparse.Namespace) -> int:
        if any(importlib.util.find_spec(module) is None for module in EXTRA_MODULES):
            print(MISSING_EXTRA, file=sys.stderr)
            return 2
        problem = _check_numbers(args)
        if problem:
            print(f"deidlint: error: {problem}", file=sys.stderr)
            return 2
        # OpenMP threads that spin while waiting stall each other as soon as another process
        # shares the cores (training measured 12x slower on a busy 2-core machine); sleeping
        # waits cost little when the machine is idle. Only effective before torch is imported.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        from deidlint.verify import experiment

        try:
            return int(getattr(experiment, name)(args))
        except VerifyError as exc:
            print(f"deidlint: error: {exc}", file=sys.stderr)
            return 2

    handle.__name__ = name
    return handle


def _names(value: str) -> list[str]:
    """A comma-separated list of names (``--mitigate a,b``), empty pieces left out."""
    return [name.strip() for name in value.split(",") if name.strip()]


def _check_numbers(args: argparse.Namespace) -> str | None:
    """Checks argparse cannot express, done before anything slow is imported."""
    strategies = args.strategy if isinstance(args.strategy, list) else [args.strategy] if args.strategy else []
    unknown = [strategy for strategy in strategies if strategy not in STRATEGIES]
    if unknown:
        return f"unknown strategy {unknown[0]!r} (choose from {', '.join(STRATEGIES)})"
    mitigate = getattr(args, "mitigate", None) or []
    unknown = [name for name in mitigate if name not in MITIGATIONS]
    if unknown:
        return f"unknown mitigation {unknown[0]!r} (choose from {', '.join(MITIGATIONS)})"
    if "embedding" in mitigate and args.reference_attribution:
        return "--reference-attribution follows the unmitigated embedding; it cannot be combined with --mitigate embedding"
    positive = (
        "steps",
        "batch_size",
        "sampling_steps",
        "generations",
        "score_batch_size",
        "checkpoint_every",
        "lora_rank",
        "bootstrap",
        "threads",
        "seeds",
    )
    for name in positive:
        value = getattr(args, name, None)
        if value is not None and value < 1:
            return f"--{name.replace('_', '-')} must be at least 1"
    if args.fast and (args.sampling_steps or args.generations):
        return "--fast sets --sampling-steps and --generations; give either --fast or those"
    if not 0 < args.quantile < 1:
        return "--quantile must be between 0 and 1"
    if not 0 <= getattr(args, "cond_dropout", 0.0) < 1:
        return "--cond-dropout must be in [0, 1)"
    return None
