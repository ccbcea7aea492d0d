"""What a continuation is asked for, the limits on it and on its seed, and whether this
installation can adapt a model to the seed (or train one).

Apart from the generation's and training's own modules, so that the window can show these
before any of the generator is imported.
"""

from __future__ import annotations

import dataclasses
import importlib.util
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
# Adapting to the seed (adapt.py) fine-tunes for this long by default, and at most.
DEFAULT_ADAPT_SECONDS = 15.0
MAX_ADAPT_SECONDS = 60.0


def training_unavailable() -> str | None:
    """Why this installation cannot train (TensorFlow or Keras missing), or None; imports neither."""
    missing = [shown for name, shown in (("tensorflow", "TensorFlow"), ("keras", "Keras"))
               if importlib.util.find_spec(name) is None]
    if not missing:
        return None
    return (f"training needs {' and '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not installed "
            "here; install musicgen-gui with its 'train' extra (bash packaging/setup.sh does)")


@dataclass
class ContinuationParams:
    seconds: float = 20.0
    temperature: float = 0.5
    rng_seed: int | None = None
    # Hold the continuation's pitch classes (PitchAnchor), spectral balance (TimbreAnchor) and
    # level (LevelAnchor) near the seed's.
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
