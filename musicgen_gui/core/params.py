"""What a continuation is asked for, and the limits on its seed.

Apart from the generation's own modules, so that the window can show these
before any of the generator is imported.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

MAX_SECONDS = 3600.0
# Longer seed files are cropped to their start on loading (an hour of audio is
# hundreds of MB of frames, and ten minutes give the seed memory plenty to draw on).
MAX_SEED_SECONDS = 600.0
# How closely the continuation follows the seed's own material (memory.py):
# 1 stays close, 0 lets the net wander on its own.
DEFAULT_FOLLOW = 0.5
# The continuation follows the loudness of the seed's last seconds (loudness.seed_loudness).
LOUDNESS_SECONDS = 10.0
# A seed quieter than this (gated BS.1770 loudness) holds nothing to continue.
MIN_SEED_LUFS = -60.0


@dataclass
class ContinuationParams:
    seconds: float = 20.0
    temperature: float = 0.5
    rng_seed: int | None = None
    # Hold the continuation's level (LevelAnchor) and, where the model says so,
    # its spectral balance (TimbreAnchor) near the seed's.
    anchor: bool = True
    # Fine-tune a copy of the model on the seed for this long first (0: off; see adapt.py).
    adapt_seconds: float = 0.0
    # Run the net on 8-bit copies of its weights where onnxruntime is installed
    # (quantized.py: steps 2.2-2.6x faster); False: in float32, as trained.
    int8: bool = True
    follow: float = DEFAULT_FOLLOW

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> ContinuationParams:
        """From ``to_dict``'s output, or an older or newer one: unknown keys are ignored and missing
        ones take their defaults, so settings and takes saved by another version still load."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})
