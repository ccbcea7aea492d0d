"""What a seed-conditioned model is told about its seed, the same in training and generation.

Two things, besides the frame it was fed:

* **What the seed is** (``seed_summary``): the mean and the spread of the seed's
  normalised frames, bin by bin. The model encodes it; with it, a continuation
  that takes nothing from the seed's frames still keeps the seed's key and timbre.
* **What the memory offers** (``CandidateSearch``): the seed frames that followed
  the contexts most like the last frames played (the Audio Oracle's suffix links,
  kNN-LM's neighbours), and how far each context was. The model decides, band by
  band, how much of each to take (a learned gate, as in pointer-generator networks
  and adaptive kNN-LM).

In training, the "seed" is another stretch of the same track before the window
(8-30 s, up to a minute before it), and the candidates are found on the true
frames; in generation, on what was played. Either way by ``CandidateSearch``.
"""

from __future__ import annotations

import numpy as np

from .analysis import band_log_power, band_matrix
from .features import FeatureConfig

CONTEXT_FRAMES = 6  # frames matched (140 ms at the default settings)
MATCH_BANDS = 32  # log-spaced bands the contexts are matched in
MEMORY_SECONDS = 30.0  # the seed's last seconds the memory holds, in training and generation
MIN_MEMORY_FRAMES = CONTEXT_FRAMES + 1  # one place to match: context and the frame after it


def summary_size(n_bins: int) -> int:
    return 2 * n_bins


def seed_summary(normalised_frames: np.ndarray) -> np.ndarray:
    """Per bin, the mean and the standard deviation of the seed's normalised frames."""
    frames = np.asarray(normalised_frames, np.float32)
    return np.concatenate([frames.mean(axis=0), frames.std(axis=0)]).astype(np.float32)


def gate_pooling(cfg: FeatureConfig, n_bands: int) -> tuple[np.ndarray, np.ndarray]:
    """The gate's bands: bins -> band means (bins x bands), and bands -> bins (bands x bins,
    each bin taking its own band's value)."""
    pool = band_matrix(cfg, n_bands)
    expand = (pool > 0).T.astype(np.float32)
    return pool, expand


def memory_frames(cfg: FeatureConfig) -> int:
    return int(round(MEMORY_SECONDS * cfg.frames_per_second))


class CandidateSearch:
    """The places of a seed whose context (the CONTEXT_FRAMES before them) is nearest a
    given context, in log bands.

    bands: the seed's frames in log bands (band_log_power), N x MATCH_BANDS. A place p
    (CONTEXT_FRAMES <= p < N) offers frame p, the one that followed its context.
    """

    def __init__(self, bands: np.ndarray, k: int):
        bands = np.asarray(bands, np.float32)
        n = len(bands)
        if n < MIN_MEMORY_FRAMES:
            raise ValueError(f"a memory needs at least {MIN_MEMORY_FRAMES} frames")
        self.k = min(k, n - CONTEXT_FRAMES)
        windows = np.lib.stride_tricks.sliding_window_view(bands, CONTEXT_FRAMES, axis=0)[:n - CONTEXT_FRAMES]
        self._contexts = np.ascontiguousarray(windows.transpose(0, 2, 1).reshape(n - CONTEXT_FRAMES, -1))
        self._squares = (self._contexts.astype(np.float64) ** 2).sum(axis=1)
        self._size = self._contexts.shape[1]

    def nearest(self, contexts: np.ndarray, allowed: np.ndarray | None = None,
                k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """contexts (m, CONTEXT_FRAMES, bands) -> for each, the k nearest places (m x k, nearest
        first) and their RMS distance per band and frame (log power, nepers).

        allowed: per place (CONTEXT_FRAMES to N - 1), whether it may be offered (default: all);
        k: how many (default: the search's own)."""
        flat = np.asarray(contexts, np.float32).reshape(len(contexts), -1)
        squares = self._squares[None, :] - 2.0 * (flat @ self._contexts.T) + (flat.astype(np.float64) ** 2).sum(
            axis=1, keepdims=True)
        k = min(k or self.k, len(self._squares))
        if allowed is not None and allowed.any():
            squares = np.where(allowed[None, CONTEXT_FRAMES:], squares, np.inf)
            k = min(k, int(allowed[CONTEXT_FRAMES:].sum()))
        part = np.argpartition(squares, k - 1, axis=1)[:, :k]
        order = np.take_along_axis(squares, part, axis=1).argsort(axis=1)
        best = np.take_along_axis(part, order, axis=1)
        distance = np.sqrt(np.maximum(np.take_along_axis(squares, best, axis=1), 0.0) / self._size)
        return (best + CONTEXT_FRAMES).astype(np.int64), distance.astype(np.float32)


def context_bands(log_frames: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """Log-power frames -> the bands contexts are matched in."""
    return band_log_power(log_frames, cfg, MATCH_BANDS)
