"""Sampling protocols and noise-schedule presets: what ``verify`` runs unless told otherwise.

The reference protocol is Wen et al.'s detection setting (DDIM, 50 steps, 4 generations per
prompt, guidance 7.5); every device gets it by default, so a number from a laptop and one from
a GPU mean the same thing. ``--fast`` trades fidelity for CPU time, and the report then names
the deviation from the reference that ``benchmarks/protocol_deviation.py`` measured on the demo
model (stored in :data:`DEVIATION_FILE` together with the command that produced it).

Schedule presets give a component set (``--unet --text-encoder ...``) the noise schedule its
UNet was trained with when no scheduler config ships with it: guessing Stable Diffusion's for a
RadEdit UNet would move every timestep (first DDIM step 981 instead of 999).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEVIATION_FILE = Path(__file__).resolve().parent / "data" / "protocol_deviation.json"
"""Measured deviation of the fast protocol from the reference, written by the benchmark."""


@dataclass(frozen=True)
class Protocol:
    """One named sampling protocol."""

    name: str
    sampling_steps: int
    generations: int
    guidance: float
    description: str


REFERENCE = Protocol(
    "reference", 50, 4, 7.5, "Wen et al.'s detection setting: DDIM, 50 steps, 4 generations per prompt, guidance 7.5"
)
FAST = Protocol("fast", 10, 1, 7.5, "CPU preset: DDIM, 10 steps, 1 generation per prompt, guidance 7.5")
PROTOCOLS = {protocol.name: protocol for protocol in (REFERENCE, FAST)}


def protocol_name(sampling_steps: int, generations: int, guidance: float) -> str:
    """``reference``, ``fast`` or ``custom``: the name a report gives these settings."""
    for protocol in PROTOCOLS.values():
        if (protocol.sampling_steps, protocol.generations, protocol.guidance) == (sampling_steps, generations, guidance):
            return protocol.name
    return "custom"


def measured_deviation() -> dict[str, Any] | None:
    """The fast-versus-reference measurement, or ``None`` when it has not been run."""
    if not DEVIATION_FILE.is_file():
        return None
    data = json.loads(DEVIATION_FILE.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else None


def deviation_sentence(name: str) -> str | None:
    """The caveat a report prints for a protocol other than the reference (``None`` for it)."""
    if name == "reference":
        return None
    if name == "custom":
        return (
            f"The sampling protocol is custom, not the reference ({REFERENCE.description}); its deviation from the "
            "reference has not been measured, so values are not comparable with reference-protocol runs."
        )
    deviation = measured_deviation()
    measured = (
        "its deviation from the reference has not been measured"
        if deviation is None
        else (
            f"on the demo model ({deviation['prompts']} prompts) it moved per-prompt values by a median "
            f"{deviation['median_relative_difference']:.1%} and at most {deviation['max_relative_difference']:.1%} "
            f"from the reference, Spearman rank correlation {deviation['spearman']:.3f} "
            f"(`{deviation['command']}`)"
        )
    )
    return (
        f"Scored with the {name} protocol ({PROTOCOLS[name].description}), not the reference "
        f"({REFERENCE.description}): {measured}."
    )


SCHEDULES: dict[str, dict[str, Any]] = {
    "sd": {
        "num_train_timesteps": 1000,
        "beta_start": 0.00085,
        "beta_end": 0.012,
        "beta_schedule": "scaled_linear",
        "prediction_type": "epsilon",
        "clip_sample": False,
        "set_alpha_to_one": False,
        "steps_offset": 1,
    },
    # The seed author's RadEdit sampling (Raman1121/diffusion_memorization): DDIM with linear
    # betas and trailing timestep spacing, so sampling starts at t = 999.
    "radedit": {
        "num_train_timesteps": 1000,
        "beta_start": 0.0001,
        "beta_end": 0.02,
        "beta_schedule": "linear",
        "prediction_type": "epsilon",
        "clip_sample": False,
        "set_alpha_to_one": False,
        "steps_offset": 1,
        "timestep_spacing": "trailing",
    },
}
"""Noise schedules by name for ``--schedule``: Stable Diffusion's and RadEdit's."""
