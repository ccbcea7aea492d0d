"""Model quality measures that need no TensorFlow."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .audio_io import find_audio_files, load_audio
from .bundle import ModelBundle
from .errors import AudioLoadError, MusicgenError
from .features import log_power
from .predictor import FramePredictor

# Steps scored per window start after this many frames of warm-up, as in training.
WARMUP_FRAMES = 10


@dataclass
class TeacherForcedResult:
    files: int
    windows: int
    model_mse: float  # normalised units, next frame given the true past
    persistence_mse: float  # repeating the last true frame

    @property
    def ratio(self) -> float:
        return self.model_mse / self.persistence_mse if self.persistence_mse > 0 else float("inf")


def teacher_forced_error(bundle: ModelBundle, paths: Sequence[str | os.PathLike],
                         max_windows: int = 512, batch: int = 64) -> TeacherForcedResult:
    cfg, length = bundle.features, bundle.training.sequence_length
    windows = []
    files = 0
    for path in find_audio_files(paths):
        try:
            audio = load_audio(path, cfg.sample_rate)
        except AudioLoadError:
            continue
        frames = bundle.normaliser.normalise(log_power(audio.samples, cfg))
        starts = range(0, len(frames) - length, length)
        if len(starts):
            files += 1
            windows.extend(frames[s:s + length + 1] for s in starts)
    if not windows:
        raise MusicgenError(f"no audio of at least {(length + 1) / cfg.frames_per_second:.1f} s found to evaluate on")
    picked = np.random.default_rng(0).permutation(len(windows))[:max_windows]
    data = np.stack([windows[i] for i in picked])
    predictor = FramePredictor(bundle)
    model_sq, persist_sq = [], []
    for i in range(0, len(data), batch):
        chunk = data[i:i + batch]
        predictor.reset(len(chunk))
        predicted = predictor.run_sequence(chunk[:, :-1])
        target = chunk[:, 1:]
        model_sq.append(((predicted - target)[:, WARMUP_FRAMES:] ** 2).mean(axis=(1, 2)))
        persist_sq.append(((chunk[:, :-1] - target)[:, WARMUP_FRAMES:] ** 2).mean(axis=(1, 2)))
    return TeacherForcedResult(files, len(data), float(np.concatenate(model_sq).mean()),
                               float(np.concatenate(persist_sq).mean()))
