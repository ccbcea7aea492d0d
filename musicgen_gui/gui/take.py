"""A take: the seed actually used and the continuation generated after it so far.

The generation worker appends each Block; the GUI timer reads ``n_samples`` and
``n_frames``, which the worker publishes only after copying the data (a
latest-value hand-over: the GUI draws whatever is there when it looks, and
neither side waits for the other). ``reserve`` runs on the GUI thread before a
worker starts, so the worker never replaces an array the GUI is reading.
"""

from __future__ import annotations

import numpy as np


class Take:
    def __init__(self, sample_rate: int, seed: np.ndarray, seed_frames: np.ndarray):
        self.sample_rate = sample_rate
        self.seed = seed
        self.seed_frames = seed_frames
        self._samples = np.zeros(0, np.float32)
        self._frames = np.zeros((0, seed_frames.shape[1]), np.float32)
        self.n_samples = 0
        self.n_frames = 0

    def reserve(self, samples: int, frames: int) -> None:
        """Make room for this many more samples and frames (GUI thread, no worker running)."""
        if self.n_samples + samples > len(self._samples):
            self._samples = np.concatenate([self._samples[:self.n_samples], np.zeros(samples, np.float32)])
        if self.n_frames + frames > len(self._frames):
            extra = np.zeros((frames, self._frames.shape[1]), np.float32)
            self._frames = np.concatenate([self._frames[:self.n_frames], extra])

    def append(self, samples: np.ndarray, frames: np.ndarray) -> None:
        """Worker thread. Frames beyond the reservation are not drawn; samples always fit."""
        end = self.n_samples + len(samples)
        self._samples[self.n_samples:end] = samples
        self.n_samples = end
        k = min(len(frames), len(self._frames) - self.n_frames)
        self._frames[self.n_frames:self.n_frames + k] = frames[:k]
        self.n_frames += k

    @property
    def continuation(self) -> np.ndarray:
        return self._samples[:self.n_samples]

    def new_frames(self, since: int) -> np.ndarray:
        return self._frames[since:self.n_frames]

    def audio(self, with_seed: bool) -> np.ndarray:
        return np.concatenate([self.seed, self.continuation]) if with_seed else self.continuation.copy()
