"""A learned onset detector: how likely each frame is to hold the start of a note.

Spectral flux finds struck notes, but a choir or a string section changes
note with no burst of energy, and its flux stands no higher than noise's. As
in madmom (Böck and Schedl), a small network trained on notes whose onsets are
known hears those changes too: a perceptron over a few frames of each band's
rise and fall and its level. It was trained on Bach chorales rendered on 31
General MIDI programs at random tempi, labelled with every note's onset from
the score (resources/models/onsets.py). The analysis adds its output to the
spectral-flux bands before the tempo is read (core/analysis.py).

Numpy only, about 4 ms of CPU per 10 s of audio.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from .bundle import models_dir
from .errors import ModelError
from .features import DB_PER_NEPER, FeatureConfig, with_neighbours

FILE_NAME = "onsets.npz"
RISE_BANDS, LEVEL_BANDS = 48, 32
FLOOR_DB = 80.0  # the frames are read this far below the clip's loudest bin, no further
_LAYERS = 3


def onset_inputs(log_frames: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """The network's inputs per frame (frames x 128): each bin's rise over the louder of its
    neighbours a frame before and its fall under the quieter of them (SuperFlux's maximum filter,
    both ways: in a legato change one note fades as the next grows), each pooled into RISE_BANDS
    log-spaced bands, and the level in LEVEL_BANDS bands; all relative to the clip's loudest."""
    from .analysis import band_matrix  # here: analysis imports this module

    frames = np.asarray(log_frames, np.float32)
    frames = frames - frames.max()
    np.maximum(frames, np.float32(-FLOOR_DB / DB_PER_NEPER), out=frames)
    before = np.concatenate([frames[:1], frames[:-1]])
    rise, fall = with_neighbours(before), with_neighbours(before, np.minimum)
    np.subtract(frames, rise, out=rise)
    np.subtract(fall, frames, out=fall)
    np.maximum(rise, 0.0, out=rise)
    np.maximum(fall, 0.0, out=fall)
    level = frames @ band_matrix(cfg, LEVEL_BANDS)
    return np.concatenate([rise @ band_matrix(cfg, RISE_BANDS), fall @ band_matrix(cfg, RISE_BANDS),
                           level - level.max()], axis=1)


@functools.lru_cache(maxsize=2)
def load_detector(path: Path | None = None) -> tuple[int, tuple[np.ndarray, ...], tuple[int, int, int]]:
    """The detector's context (frames either side), its layers' weights and biases, and the frames
    it was trained on (sample rate, n_fft, hop)."""
    path = path or models_dir() / FILE_NAME
    try:
        with np.load(path, allow_pickle=False) as f:
            context = int(f["context"])
            layers = tuple(np.asarray(f[f"{kind}{i}"], np.float32) for i in range(_LAYERS) for kind in ("w", "b"))
            framing = (int(f["sample_rate"]), int(f["n_fft"]), int(f["hop"]))
    except (OSError, KeyError, ValueError) as exc:
        raise ModelError(f"the onset detector {path} is missing or damaged ({exc}); "
                         "rebuild it with: bash resources/models/rebuild.sh onsets") from None
    width = (2 * context + 1) * (2 * RISE_BANDS + LEVEL_BANDS)
    if layers[0].shape[0] != width or layers[-2].shape[1] != 1:
        raise ModelError(f"the onset detector {path} does not fit its inputs; "
                         "rebuild it with: bash resources/models/rebuild.sh onsets")
    return context, layers, framing


def fits(cfg: FeatureConfig) -> bool:
    """Whether the detector reads frames like these: its context is a number of frames, and its
    bands a number of bins, so another rate or framing would show it other music."""
    return load_detector()[2] == (cfg.sample_rate, cfg.n_fft, cfg.hop)


def onset_activation(log_frames: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """Per frame, the detector's probability (0..1) that a note starts there (frames as ``fits``)."""
    context, layers, _ = load_detector()
    inputs = onset_inputs(log_frames, cfg)
    n, width = inputs.shape
    padded = np.pad(inputs, ((context, context), (0, 0)), mode="edge")  # edges repeated, as in training
    # The first layer sees each frame's window of 2 * context + 1 frames, flattened in time order; it
    # is applied frame by frame of the window and summed, so no frame's window is copied.
    first = layers[0].reshape(2 * context + 1, width, -1)
    h = layers[1] + sum(padded[k:k + n] @ first[k] for k in range(2 * context + 1))
    h = np.maximum(h, 0.0)
    for i in range(2, len(layers) - 2, 2):
        h = np.maximum(h @ layers[i] + layers[i + 1], 0.0)
    logit = (h @ layers[-2] + layers[-1])[:, 0]
    return 1.0 / (1.0 + np.exp(-np.clip(logit, -30.0, 30.0)))
