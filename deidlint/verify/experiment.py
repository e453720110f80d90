"""The ``verify`` and ``score`` runs: clean, fine-tune, score, compare, report, resume.

A run lives in its output folder: ``models/<name>/`` (fine-tuned UNet, ``train.json``, a
checkpoint while training), ``scores/<name>.npz`` (per-prompt scores) and the reports. Each
piece carries a key of everything that determines it, so rerunning the same command resumes
where it stopped and reuses what is done, while a changed setting recomputes only what it
affects.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import hashlib
import json
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate import Accelerator
from diffusers import UNet2DConditionModel

from deidlint.verify import dataset as ds
from deidlint.verify import mitigation_table as mt
from deidlint.verify import replication, review
from deidlint.verify import report as rp
from deidlint.verify.errors import VerifyError
from deidlint.verify.metrics import THUMBNAIL, PromptScores, ScoreConfig, score_prompts, thumbnails_of
from deidlint.verify.mitigations import MITIGATIONS, prompt_mitigation, vocabulary_words
from deidlint.verify.models import DiffusionModel, ModelSpec, load_model, spec_from_args
from deidlint.verify.protocol import FAST, REFERENCE, deviation_sentence, protocol_name
from deidlint.verify.train import TrainConfig, build_training_set, load_result, train

HELDOUT_KEY_BASE = 1_000_000
"""Noise keys of held-out prompts start here, apart from the training items' keys."""


@dataclass
class Prepared:
    """What both commands need before any model runs."""

    accelerator: Accelerator
    base: DiffusionModel
    train: ds.PairedData
    heldout: ds.PairedData
    items: list[str]
    """Distinct raw training prompts (the scored items)."""
    item_rows: list[list[int]]
    heldout_items: list[str]
    heldout_item_rows: list[list[int]]
    score_config: ScoreConfig
    out: Path
    show_progress: bool
    memorized_items: np.ndarray | None
    """Per scored item: a known memorized prompt (``--memorized`` or the demo's duplicates)."""
    ground_truth: str | None


def log(message: str, accelerator: Accelerator | None = None) -> None:
    """A status line on stderr (main process only, so multi-GPU runs do not repeat it)."""
    if accelerator is None or accelerator.is_main_process:
        print(f"deidlint: {message}", file=sys.stderr, flush=True)


def run_verify(args: argparse.Namespace) -> int:
    """``deidlint verify``: returns 0, or 1 when ``--fail-under`` is not met."""
    strategies = list(dict.fromkeys(args.strategy or ["remove"]))
    clean = _cleaner()
    started = time.perf_counter()
    prep = _prepare(args, command="verify")
    accelerator = prep.accelerator
    is_tiny = prep.base.spec.kind == "tiny"
    config = TrainConfig(
        steps=args.steps if args.steps is not None else (800 if is_tiny else 2000),
        batch_size=args.batch_size or (8 if is_tiny else 4),
        learning_rate=args.lr or (1e-3 if is_tiny else 1e-4 if args.lora_rank else 1e-5),
        warmup_steps=args.warmup_steps if args.warmup_steps is not None else (50 if is_tiny else 100),
        cond_dropout=args.cond_dropout,
        seed=args.seed,
        mixed_precision=str(accelerator.mixed_precision),
        gradient_checkpointing=bool(args.gradient_checkpointing),
        lora_rank=args.lora_rank or 0,
        checkpoint_every=args.checkpoint_every,
    )
    if config.warmup_steps > config.steps:
        log(f"warning: warm-up ({config.warmup_steps} steps) exceeds --steps {config.steps}: the learning rate never "
            "reaches its set value", accelerator)
    mitigate = list(dict.fromkeys(args.mitigate or []))
    trained_mitigations = [name for name in mitigate if MITIGATIONS[name].stage == "training"]
    runs: list[rp.ModelRun] = []
    for replicate in range(args.seeds):
        replicate_config = dataclasses.replace(config, seed=args.seed + replicate)
        for model in ["raw", *strategies, *trained_mitigations]:
            runs.append(_train_and_score(prep, clean, args, replicate_config, model, replicate))
        inference = [name for name in mitigate if name not in trained_mitigations]
        if inference:
            raw = next(run for run in runs if run.is_raw and run.replicate == replicate)
            raw_model = _trained_model(prep, raw.name, None)  # read once for all the mitigations that score it
            for name in inference:
                runs.append(_mitigated_run(prep, args, raw, raw_model, name, replicate))
    return _finish(prep, runs, args, command="verify", train_config=config, started=started)


def _trained_model(prep: Prepared, name: str, strategy: str | None) -> DiffusionModel:
    """The base model with the fine-tuned UNet of ``models/<name>`` (the text encoder and VAE are
    frozen, so only the UNet has to be read back)."""
    folder = prep.out / "models" / name
    unet = UNet2DConditionModel.from_pretrained(folder / "unet", local_files_only=True, use_safetensors=True)
    return dataclasses.replace(prep.base, unet=unet.to(prep.accelerator.device), strategy=strategy)


def _mitigated_run(
    prep: Prepared, args: argparse.Namespace, raw: rp.ModelRun, raw_model: DiffusionModel, name: str, replicate: int
) -> rp.ModelRun:
    """Score the trained raw model with an inference-time mitigation: on rewritten prompts
    (``prompt`` stage; each prompt's draw is seeded by its item, so every replicate sees the same
    rewrite) or with a mitigated sampler (``embedding``, ``guidance``)."""
    config = prep.score_config
    items, heldout_items = raw.items, raw.heldout_items
    if MITIGATIONS[name].stage == "prompt":
        rewrite = prompt_mitigation(name, vocabulary_words(prep.base.tokenizer))
        items = [rewrite(item, np.random.default_rng([args.seed, i])) for i, item in enumerate(items)]
        heldout_items = [
            rewrite(item, np.random.default_rng([args.seed, HELDOUT_KEY_BASE + i])) for i, item in enumerate(heldout_items)
        ]
    else:
        # Wen et al. stop optimising at a target loss; here: the raw model's median first-step
        # metric on held-out prompts, what an unmemorized prompt gives.
        target = float(np.median(raw.heldout.wen_per_step[:, :, 0].mean(axis=1))) if name == "embedding" else None
        config = dataclasses.replace(config, mitigation=name, mitigation_target=target)
    run_name = name if replicate == 0 else f"{name}-rep{replicate}"
    key = _digest({"raw": raw.training, "score": config.to_dict(), "items": items, "heldout": heldout_items})
    run = _score_model(dataclasses.replace(prep, score_config=config), raw_model, run_name, None, items, heldout_items,
                       key, raw.training)  # fmt: skip
    return dataclasses.replace(run, replicate=replicate, model=name, mitigation=name)


def _train_and_score(
    prep: Prepared, clean: Any, args: argparse.Namespace, config: TrainConfig, model: str, replicate: int
) -> rp.ModelRun:
    """Train (or reuse) one replicate of one model and score it; replicate 0 keeps the bare name.

    ``model`` is ``raw``, a cleaning strategy, or a training-time mitigation (raw prompts)."""
    accelerator = prep.accelerator
    name = model if replicate == 0 else f"{model}-rep{replicate}"
    mitigation = model if model in MITIGATIONS else None
    strategy = None if model == "raw" or mitigation else model
    config = dataclasses.replace(config, mitigation=mitigation)
    items, heldout_items, row_prompts = prep.items, prep.heldout_items, prep.train.prompts
    if strategy is not None:
        cleaned = _clean_distinct(clean, prep.items + prep.heldout_items, strategy, args.seed)
        items = [cleaned[prompt] for prompt in prep.items]
        heldout_items = [cleaned[prompt] for prompt in prep.heldout_items]
        row_prompts = [cleaned[prompt] for prompt in prep.train.prompts]
    model_data = ds.PairedData(row_prompts, prep.train.images, prep.train.source)
    data_key = _digest({"base": prep.base.spec.to_dict(), "seed": args.seed, "data": model_data.fingerprint()})
    folder = prep.out / "models" / name
    result = load_result(folder, config, data_key)
    if result is not None:
        log(f"{name}: already trained in {folder}, reusing it", accelerator)
    else:
        log(
            f"{name}: fine-tuning {config.steps} steps on {len(row_prompts)} rows ({len(set(row_prompts))} distinct prompts)",
            accelerator,
        )
        pixels = ds.load_images(prep.train.images, prep.base.resolution, prep.base.image_channels)
        training_set = build_training_set(prep.base, row_prompts, pixels)
        result = train(
            prep.base,
            copy.deepcopy(prep.base.unet),
            training_set,
            config,
            folder,
            accelerator,
            data_key=data_key,
            strategy=strategy,
            label=name,
            show_progress=prep.show_progress,
        )
        if result["resumed_from_step"]:
            log(f"{name}: resumed from the checkpoint at step {result['resumed_from_step']}", accelerator)
        log(f"{name}: trained in {result['wall_s']:.0f} s, loss {result['loss_last_50']:.4f} over the last 50 steps",
            accelerator)
    trained = _trained_model(prep, name, strategy)
    key = _digest(
        {"train": data_key, "config": config.to_dict(), "score": prep.score_config.to_dict(), "heldout": heldout_items}
    )
    run = _score_model(prep, trained, name, strategy, items, heldout_items, key, result)
    return dataclasses.replace(run, replicate=replicate, model=model, mitigation=mitigation)


def run_score(args: argparse.Namespace) -> int:
    """``deidlint score``: score an existing model on its training prompts without training."""
    started = time.perf_counter()
    prep = _prepare(args, command="score")
    strategy = args.strategy or prep.base.strategy
    items, heldout_items = prep.items, prep.heldout_items
    if strategy is not None:
        cleaned = _clean_distinct(_cleaner(), prep.items + prep.heldout_items, strategy, args.seed)
        items = [cleaned[prompt] for prompt in prep.items]
        heldout_items = [cleaned[prompt] for prompt in prep.heldout_items]
    name = args.name or (strategy or "raw")
    key = _digest(
        {
            "model": prep.base.spec.to_dict(),
            "weights": _weights_stamp(prep.base.spec),
            "seed": args.seed,
            "score": prep.score_config.to_dict(),
            "items": items,
            "heldout": heldout_items,
        }
    )
    run = _score_model(prep, prep.base, name, strategy, items, heldout_items, key, None)
    return _finish(prep, [run], args, command="score", train_config=None, started=started)


def _prepare(args: argparse.Namespace, command: str) -> Prepared:
    device = _device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    spec = _spec(args)
    if args.data is None:
        train_data, heldout_data = ds.load_demo(args.seed)
        if args.heldout is not None:
            raise VerifyError("--heldout needs --data (the demo data brings its own held-out split)")
    else:
        label = getattr(args, "label_column", None)
        full = ds.load_table(args.data, args.column, args.image_column, args.image_dir, args.id_column, label)
        if args.heldout is not None:
            train_data = full
            heldout_data = ds.load_table(args.heldout, args.column, args.image_column, args.image_dir, args.id_column,
                                         label)  # fmt: skip
        else:
            train_data, heldout_data = ds.split_heldout(full, args.holdout, args.seed)
    mixed = args.mixed_precision if args.mixed_precision != "auto" else ("bf16" if device.type == "cuda" else "no")
    accelerator = Accelerator(cpu=device.type == "cpu", mixed_precision=mixed)
    if accelerator.device.type != device.type:
        raise VerifyError(f"accelerate chose {accelerator.device}, but --device {device.type} was asked for")
    base = load_model(spec, seed=args.seed, trust_pickle=args.trust_pickle, trust_remote_code=args.trust_remote_code)
    on_gpu = device.type == "cuda"
    preset = FAST if args.fast else REFERENCE
    score_config = ScoreConfig(
        sampling_steps=args.sampling_steps or preset.sampling_steps,
        generations=args.generations or preset.generations,
        guidance=args.guidance,
        attribution=not args.no_attribution,
        batch_size=args.score_batch_size or (8 if on_gpu else 16),
        seed=args.seed,
        mixed_precision=mixed,
        reference_attribution=bool(getattr(args, "reference_attribution", False)),
    )
    base.to(accelerator.device, _frozen_dtype(score_config))
    items, item_rows = train_data.items()
    heldout_items, heldout_item_rows = heldout_data.items()
    overlap = set(items) & set(heldout_items)
    if overlap:
        raise VerifyError(f"{len(overlap)} held-out prompt(s) also occur in the training data; held-out prompts must be unseen")
    memorized_items, ground_truth = _ground_truth(args, items, item_rows)
    out = Path(args.out)
    if accelerator.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
    log(
        f"{command}: {len(train_data)} training rows, {len(items)} distinct prompts, {len(heldout_items)} held out; "
        f"device {accelerator.device}",
        accelerator,
    )
    return Prepared(
        accelerator=accelerator,
        base=base,
        train=train_data,
        heldout=heldout_data,
        items=items,
        item_rows=item_rows,
        heldout_items=heldout_items,
        heldout_item_rows=heldout_item_rows,
        score_config=score_config,
        out=out,
        # Bars redraw in place on a terminal; in a CI log every redraw would be a line of its own.
        show_progress=not args.no_progress and sys.stderr.isatty(),
        memorized_items=memorized_items,
        ground_truth=ground_truth,
    )


def _spec(args: argparse.Namespace) -> ModelSpec:
    return spec_from_args(args.ckpt, args.unet, args.vae, args.text_encoder, args.tokenizer, args.scheduler, args.schedule)


def _ground_truth(args: argparse.Namespace, items: list[str], item_rows: list[list[int]]) -> tuple[np.ndarray | None, str | None]:
    """Which scored items are known to be memorized: ``--memorized``, else the demo's planted duplicates."""
    if args.memorized is not None:
        listed = {ds.normalise_prompt(prompt) for prompt in ds.load_prompt_list(args.memorized, args.column)}
        flags = np.array([ds.normalise_prompt(item) in listed for item in items])
        if not flags.any():
            raise VerifyError(f"none of the {len(listed)} prompts in --memorized {args.memorized} is a training prompt")
        if flags.all():
            raise VerifyError(f"every training prompt is listed in --memorized {args.memorized}; nothing is left to compare")
        return flags, f"{int(flags.sum())} prompts listed in {args.memorized}"
    if args.data is None:
        flags = np.array([len(rows) > 1 for rows in item_rows])
        return flags, f"the demo's {int(flags.sum())} planted duplicated pairs"
    return None, None


def _score_model(
    prep: Prepared,
    model: DiffusionModel,
    name: str,
    strategy: str | None,
    items: list[str],
    heldout_items: list[str],
    key: str,
    training: dict[str, Any] | None,
) -> rp.ModelRun:
    """Score (or reload the cached scores of) one model on its training and held-out prompts."""
    path = prep.out / "scores" / f"{name}.npz"
    cached = rp.load_scores(path, key)
    if cached is not None:
        log(f"{name}: reusing scores from {path}", prep.accelerator)
        train_scores, heldout_scores, timing = cached
    else:
        log(f"{name}: scoring {len(items)} training and {len(heldout_items)} held-out prompts", prep.accelerator)
        began = time.perf_counter()
        train_scores = _score_split(prep, model, items, list(range(len(items))), f"score {name}")
        # Held-out prompts only calibrate the threshold, so they skip the (costly) attribution.
        heldout_scores = _score_split(
            prep,
            model,
            heldout_items,
            [HELDOUT_KEY_BASE + i for i in range(len(heldout_items))],
            f"calibrate {name}",
            attribution=False,
        )
        elapsed = time.perf_counter() - began
        timing = {"wall_s": round(elapsed, 3), "prompts_per_s": round((len(items) + len(heldout_items)) / elapsed, 3)}
        log(f"{name}: scored in {elapsed:.0f} s", prep.accelerator)
        if prep.accelerator.is_main_process:
            rp.save_scores(path, key, train_scores, heldout_scores, timing)
    return rp.ModelRun(
        name=name,
        strategy=strategy,
        items=items,
        heldout_items=heldout_items,
        train=train_scores,
        heldout=heldout_scores,
        training=training,
        scoring=timing,
    )


def _score_split(
    prep: Prepared, model: DiffusionModel, prompts: list[str], keys: list[int], label: str, attribution: bool = True
) -> PromptScores:
    """Score prompts, spreading them over the processes of an ``accelerate launch``."""
    accelerator = prep.accelerator
    show = prep.show_progress and accelerator.is_main_process
    config = dataclasses.replace(prep.score_config, attribution=prep.score_config.attribution and attribution)
    if accelerator.num_processes == 1:
        return score_prompts(model, prompts, keys, config, accelerator.device, label=label, show_progress=show)
    from accelerate.utils import gather_object

    with accelerator.split_between_processes(list(zip(prompts, keys, strict=True))) as mine:
        part = score_prompts(
            model, [p for p, _ in mine], [k for _, k in mine], config, accelerator.device, label=label, show_progress=show
        )
    parts = gather_object([part])
    return rp.concat_scores(parts)


def _finish(
    prep: Prepared,
    runs: list[rp.ModelRun],
    args: argparse.Namespace,
    *,
    command: str,
    train_config: TrainConfig | None,
    started: float,
) -> int:
    accelerator = prep.accelerator
    accelerator.wait_for_everyone()
    if not accelerator.is_main_process:
        return 0
    counts = np.array([len(rows) for rows in prep.item_rows])
    image_side = min(prep.base.resolution, THUMBNAIL)
    train_pixels = ds.load_images(prep.train.images, prep.base.resolution, prep.base.image_channels)
    heldout_images = [prep.heldout.images[rows[0]] for rows in prep.heldout_item_rows]
    heldout_pixels = ds.load_images(heldout_images, prep.base.resolution, prep.base.image_channels)
    train_thumbnails = thumbnails_of(train_pixels, image_side)
    images = replication.TrainingImages.of(train_thumbnails, [rows[0] for rows in prep.item_rows])
    heldout_thumbnails = thumbnails_of(heldout_pixels, image_side)
    detector = replication.build_detector(images.thumbnails, heldout_thumbnails, args.seed)
    settings = {
        "command": command,
        "model": prep.base.spec.to_dict() if command == "score" else _spec(args).to_dict(),
        "data": args.data or "demo",
        "heldout": args.heldout,
        "holdout_fraction": args.holdout if args.heldout is None and args.data is not None else None,
        "column": args.column,
        "device": str(accelerator.device),
        "processes": accelerator.num_processes,
        "seed": args.seed,
        "strategies": list(dict.fromkeys(run.strategy for run in runs if run.strategy)),
        "mitigations": list(dict.fromkeys(run.mitigation for run in runs if run.mitigation)),
        "training": train_config.to_dict() if train_config else None,
        "scoring": prep.score_config.to_dict(),
        "replicates": getattr(args, "seeds", 1),
        "protocol": _protocol(prep.score_config),
        "precision": _precision(prep.score_config, train_config),
        "threshold_quantile": args.quantile,
        "bootstrap_replicates": args.bootstrap,
        "max_prompt_tokens": prep.base.max_length,
        "fail_under": getattr(args, "fail_under", None),
        "cpu_threads": torch.get_num_threads(),
    }
    report = rp.build_report(
        runs,
        counts=counts,
        images=images,
        detector=detector,
        settings=settings,
        versions=_versions(),
        data_info={
            "source": prep.train.source,
            "training_rows": len(prep.train),
            "training_prompts": len(prep.items),
            "heldout_prompts": len(prep.heldout_items),
            "duplicated_prompts": int((counts > 1).sum()),
            "rows_of_duplicated_prompts": int(counts[counts > 1].sum()),
            "fingerprint": prep.train.fingerprint(),
            "notes": prep.train.notes,
        },
        quantile=args.quantile,
        replicates=args.bootstrap,
        seed=args.seed,
        memorized_items=prep.memorized_items,
        ground_truth=prep.ground_truth,
    )
    report["wall_s"] = round(time.perf_counter() - started, 1)
    report["caveats"] = _caveats(prep, train_config, settings)
    review.add_sections(report, runs, seed=args.seed, replicates=args.bootstrap)
    if command == "verify":
        _add_mitigation_table(report, prep, runs, train_thumbnails, heldout_thumbnails, detector, args)
    paths = rp.write_all(report, runs, images, prep.out)
    paths.append(review.write_html(report, runs, images, prep.out))
    log(f"wrote {', '.join(str(path) for path in paths)}", accelerator)
    for line in rp.summary_lines(report):
        print(line)
    fail_under = getattr(args, "fail_under", None)
    failing = [c for c in report["comparisons"] if fail_under is not None and c["memorized_rate_reduction"] < fail_under]
    for comparison in failing:
        print(
            f"deidlint: {comparison['strategy']}: reduction of the share above the fixed threshold "
            f"{comparison['memorized_rate_reduction']:+.3f} is below --fail-under {fail_under}",
            file=sys.stderr,
        )
    return 1 if failing else 0


def _add_mitigation_table(
    report: dict[str, Any],
    prep: Prepared,
    runs: list[rp.ModelRun],
    train_thumbnails: np.ndarray,
    heldout_thumbnails: np.ndarray,
    detector: replication.CopyDetector,
    args: argparse.Namespace,
) -> None:
    """``utility`` (what the utility columns are measured with) and ``mitigations[]`` (the table)."""
    first_rows = [rows[0] for rows in prep.item_rows]
    labels = prep.train.labels
    utility = mt.build_utility(
        train_thumbnails[first_rows],
        [labels[row] for row in first_rows] if labels is not None else None,
        heldout_thumbnails,
        [prep.heldout.labels[rows[0]] for rows in prep.heldout_item_rows] if prep.heldout.labels is not None else None,
        detector,
        prep.train.label_names,
        args.seed,
    )
    report["utility"] = utility.summary
    report["mitigations"] = mt.rows(report, runs, utility, replicates=args.bootstrap, seed=args.seed)
    report["calibration"]["utility"] = (
        "Label agreement: balanced accuracy of a small CNN, trained on the real training images' labels, on the generated "
        "images against the label of the prompt they were generated from (0.5: the image does not show the prompt's "
        "label). KID: unbiased squared MMD, cubic polynomial kernel, between generated and real held-out images in the copy "
        f"descriptor's feature space, times {mt.KID_SCALE} (0 in expectation for images from the held-out distribution)."
        if utility.summary["labels"]
        else "No image labels (pass --label-column): label agreement is not measured; KID as for labelled data."
    )


def _cleaner() -> Any:
    try:
        from deidlint.fix import fix_texts
    except ImportError as exc:
        raise VerifyError("cleaning needs deidlint.fix.fix_texts, which this installation lacks") from exc
    return fix_texts


def _protocol(config: ScoreConfig) -> dict[str, Any]:
    """The sampling protocol by name, with its measured deviation from the reference."""
    name = protocol_name(config.sampling_steps, config.generations, config.guidance)
    return {
        "name": name,
        "sampler": "DDIM",
        "sampling_steps": config.sampling_steps,
        "generations": config.generations,
        "guidance": config.guidance,
        "deviation": deviation_sentence(name),
    }


def _precision(config: ScoreConfig, train_config: TrainConfig | None) -> dict[str, str | None]:
    """Number formats as the code applies them: accelerate's mixed precision in training; in
    scoring, autocast only for bf16 (:func:`~deidlint.verify.metrics.score_prompts`), else fp32."""
    mixed = {"no": "fp32", "bf16": "bf16 autocast (fp32 weights)", "fp16": "fp16 autocast (fp32 weights)"}
    return {
        "training": mixed.get(train_config.mixed_precision, train_config.mixed_precision) if train_config else None,
        "scoring": mixed["bf16"] if config.mixed_precision == "bf16" else "fp32",
        "frozen": "bf16" if _frozen_dtype(config) == torch.bfloat16 else "fp32",
    }


def _caveats(prep: Prepared, train_config: TrainConfig | None, settings: dict[str, Any]) -> list[str]:
    """What a reader must know before drawing conclusions from this run's numbers."""
    caveats = []
    if settings["protocol"]["deviation"]:
        caveats.append(settings["protocol"]["deviation"])
    if train_config is not None and train_config.warmup_steps > train_config.steps:
        caveats.append(
            f"Warm-up ({train_config.warmup_steps} steps) exceeds the {train_config.steps} training steps: the learning "
            "rate never reached its set value."
        )
    if settings["replicates"] == 1 and settings["command"] == "verify":
        caveats.append(
            "One training replicate per model: the intervals cover the sampling of images, not how much another training "
            "seed would move the result (pass --seeds N)."
        )
    if prep.base.spec.kind == "tiny":
        caveats.append(
            "The tiny model is a 32x32 UNet trained from a random initialisation on a CPU budget: its numbers show that "
            "the measurement works and how memorization of duplicated pairs appears, not how a pretrained model behaves."
        )
    if "embedding" in settings.get("mitigations", []):
        caveats.append(
            "The embedding mitigation optimises the Wen metric itself (at the first sampling step), so its reduction of "
            "the metric and of the share above the threshold is partly by construction; replication and utility are its "
            "independent measures."
        )
    caveats.append(
        f"Prompts are truncated to {prep.base.max_length} tokens; traces beyond that cannot influence the model "
        "(see trace_findings_within_context per model)."
    )
    caveats.append(
        f"The threshold is fixed on {len(prep.heldout_items)} held-out prompts; with few of them the share above it moves "
        "in steps."
    )
    return caveats


def _clean_distinct(clean: Any, prompts: list[str], strategy: str, seed: int) -> dict[str, str]:
    """Clean each distinct prompt once, so duplicated rows stay identical after cleaning.

    (Otherwise a random surrogate could turn one duplicated report into several different
    prompts, and the comparison would measure de-duplication rather than trace removal.)
    """
    distinct = list(dict.fromkeys(prompts))
    return dict(zip(distinct, clean(distinct, strategy, seed=seed), strict=True))


def _device(requested: str | None) -> torch.device:
    if requested is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested not in {"cpu", "cuda"}:
        raise VerifyError(f"--device must be cpu or cuda, not {requested!r}")
    if requested == "cuda" and not torch.cuda.is_available():
        raise VerifyError("--device cuda was asked for, but torch sees no CUDA device")
    return torch.device(requested)


def _frozen_dtype(config: ScoreConfig) -> torch.dtype:
    """Frozen text encoder and VAE run in bf16 when mixed precision is on (halves their memory)."""
    return torch.bfloat16 if config.mixed_precision == "bf16" else torch.float32


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _weights_stamp(spec: ModelSpec) -> list[str]:
    """Sizes and times of a model's weight files, so re-scoring notices changed weights."""
    roots = [Path(value) for key, value in spec.to_dict().items() if key not in ("kind", "schedule")]
    stamps = []
    for root in roots:
        files = [root] if root.is_file() else sorted(root.rglob("*.safetensors")) + sorted(root.rglob("*.bin"))
        stamps += [f"{item}:{item.stat().st_size}:{item.stat().st_mtime_ns}" for item in files if item.is_file()]
    return stamps


def _versions() -> dict[str, str]:
    import accelerate
    import diffusers
    import transformers

    from deidlint import __version__

    return {
        "deidlint": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "transformers": transformers.__version__,
        "accelerate": accelerate.__version__,
        "numpy": np.__version__,
        "cuda": torch.version.cuda or "none",
        "platform": platform.platform(),
    }
