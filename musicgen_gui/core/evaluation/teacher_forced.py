"""Next-frame error given the true past (``musicgen evaluate``'s first figure): the model's MSE
in its normalised units, against persistence (repeating the last true frame)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..audio_io import find_audio_files, load_audio
from ..bundle import ModelBundle
from ..conditioning import context_bands
from ..errors import AudioLoadError, MusicgenError
from ..features import log_power
from ..predictor import WARMUP_FRAMES, ConditionedPredictor, FramePredictor, teacher_forced_squares


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
                         max_windows: int = 512, batch: int = 64, int8: bool = True) -> TeacherForcedResult:
    if bundle.architecture.conditioned:
        return _conditioned_teacher_forced_error(bundle, paths, max_windows // 2, int8)
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
    predictor = FramePredictor(bundle, int8=int8)
    model_sq, persist_sq = [], []
    for i in range(0, len(data), batch):
        model, persistence = teacher_forced_squares(predictor, data[i:i + batch])
        model_sq.append(model)
        persist_sq.append(persistence)
    return TeacherForcedResult(files, len(data), float(np.concatenate(model_sq).mean()),
                               float(np.concatenate(persist_sq).mean()))


def _conditioned_teacher_forced_error(bundle: ModelBundle, paths: Sequence[str | os.PathLike], max_windows: int,
                                      int8: bool) -> TeacherForcedResult:
    """As teacher_forced_error, for a seed-conditioned model: each window's memory and summary from
    the 8-30 s of its track before it, as in its training (seed_training.WindowBatches)."""
    from ..seed_training import WindowBatches

    cfg, length = bundle.features, bundle.training.sequence_length
    tracks = []
    for path in find_audio_files(paths):
        try:
            tracks.append(log_power(load_audio(path, cfg.sample_rate).samples, cfg))
        except AudioLoadError:
            continue
    log_frames = np.concatenate(tracks) if tracks else np.zeros((0, cfg.n_bins), np.float32)
    spans = np.cumsum([0] + [len(t) for t in tracks])
    windows = WindowBatches(bundle.normaliser.normalise(log_frames), context_bands(log_frames, cfg),
                            list(zip(spans[:-1].tolist(), spans[1:].tolist())), bundle.architecture, length,
                            cfg.frames_per_second, no_memory_share=0.0)
    starts = windows.starts(np.random.default_rng(0))[:max_windows]
    if not len(starts):
        raise MusicgenError(f"no audio of at least {windows.min_seed / cfg.frames_per_second + 1:.0f} s found "
                            "to evaluate on")
    (x, candidates, distances, _, summary), (target, _) = windows.batch(starts, np.random.default_rng(0))
    model_sq = persist_sq = 0.0
    for i in range(len(starts)):
        predictor = ConditionedPredictor(bundle, summary[i], int8)
        predicted = np.stack([predictor.step(x[i, t], candidates[i, t], distances[i, t])[0] for t in range(length)])
        model_sq += float(((predicted - target[i])[WARMUP_FRAMES:] ** 2).mean())
        persist_sq += float(((x[i] - target[i])[WARMUP_FRAMES:] ** 2).mean())
    return TeacherForcedResult(sum(1 for a, b in zip(spans[:-1], spans[1:]) if b - a > windows.min_seed + length),
                               len(starts), model_sq / len(starts), persist_sq / len(starts))
