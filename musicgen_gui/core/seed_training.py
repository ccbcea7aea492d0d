"""Training a seed-conditioned model (conditioning.py) with its memory in the loop.

Each training window of ``sequence_length`` frames gets a "seed": another stretch
of the same track (8-30 s) that ends right before the window or up to a minute
before it, as a continuation's seed lies ever further behind it. Its summary and,
at every step, the candidates its memory offers for the true context are found
exactly as generation finds them. On a fifth of the windows the memory offers
nothing, so that the net alone (Follow at "wander") is trained too.

Against error build-up (the 2017 report's "bull-whip"), the frames fed are
corrupted with Gaussian noise, as in the default preset; the memory's candidates
are real frames of the seed, which the gate learns to trust by how well their
contexts matched.

The run's state lives in ``<model>.training/`` as in training.py: ``state.json``
(request, files, normalisation), ``checkpoint.npz`` (weights, optimizer, position),
rewritten atomically; the model file is rewritten after each epoch.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .. import __version__
from .bundle import ModelBundle, save_bundle
from .conditioning import (CONTEXT_FRAMES, MEMORY_SECONDS, CandidateSearch, context_bands, gate_pooling,
                           seed_summary)
from .distributed import optimizer as make_optimizer
from .errors import MusicgenError
from .features import Normaliser
from .fileio import atomic_file
from .model import (Architecture, Preset, TrainingConfig, build_conditioned_keras_model, import_keras,
                    keras_weights_to_arrays)
from .training import (TrainingProgress, open_run, read_state, reopen_run, restore_checkpoint, start_state,
                       window_starts, work_dir)

MIN_SEED_SECONDS = 8.0
MAX_GAP_SECONDS = 60.0
NO_MEMORY_SHARE = 0.2  # windows trained without candidates
OWN_LOSS_WEIGHT = 0.5  # the net's own frame is trained too, at this weight
VALIDATION_BATCHES = 40


class WindowBatches:
    """Batches of training windows, each with its seed's summary and its memory's candidates.

    frames: normalised frames of all tracks, one after another; bands: the same frames' log
    bands (conditioning.context_bands of the log-power frames); spans: each track's (start, end);
    no_memory_share: the share of windows whose memory offers nothing.
    """

    def __init__(self, frames: np.ndarray, bands: np.ndarray, spans: list[tuple[int, int]], arch: Architecture,
                 length: int, frames_per_second: float, no_memory_share: float = NO_MEMORY_SHARE):
        self.frames, self.bands, self.spans = frames, bands, spans
        self.no_memory_share = no_memory_share
        self.k, self.length = arch.candidates, length
        self.min_seed = int(MIN_SEED_SECONDS * frames_per_second)
        self.max_seed = int(MEMORY_SECONDS * frames_per_second)
        self.max_gap = int(MAX_GAP_SECONDS * frames_per_second)

    def starts(self, rng: np.random.Generator | None) -> np.ndarray:
        """Windows with at least a short seed before them in their track."""
        return window_starts(self.spans, self.length, rng, skip=self.min_seed)

    def _track_start(self, start: int) -> int:
        return next(a for a, b in self.spans if a <= start < b)

    def batch(self, starts: np.ndarray, rng: np.random.Generator):
        """The model's inputs and targets for these windows."""
        t = np.arange(self.length)
        n = len(starts)
        x = self.frames[starts[:, None] + t]
        target = self.frames[starts[:, None] + t + 1]
        index = np.zeros((n, self.length, self.k), np.int64)
        distance = np.zeros((n, self.length, self.k), np.float32)
        offered = (rng.random(n) >= self.no_memory_share).astype(np.float32)
        summary = np.zeros((n, 2 * self.frames.shape[1]), np.float32)
        for i, w in enumerate(starts):
            room = int(w - self._track_start(int(w)))
            gap = 0 if rng.random() < 0.5 else int(rng.integers(0, min(self.max_gap, room - self.min_seed) + 1))
            end = int(w) - gap
            size = int(rng.integers(self.min_seed, self.max_seed + 1))
            begin = max(end - size, int(w) - room)
            summary[i] = seed_summary(self.frames[begin:end])
            contexts = np.lib.stride_tricks.sliding_window_view(
                self.bands[w - CONTEXT_FRAMES + 1:w + self.length], CONTEXT_FRAMES, axis=0).transpose(0, 2, 1)
            places, distance[i] = CandidateSearch(self.bands[begin:end], self.k).nearest(contexts)
            index[i] = begin + places
        candidates = self.frames[index] * offered[:, None, None, None]
        inputs = (x, candidates, distance * offered[:, None, None],
                  np.broadcast_to(offered[:, None, None], (n, self.length, 1)).copy(), summary)
        return inputs, (target, target)


def train_conditioned(paths: Sequence, output: Path, preset: Preset, epochs: int, resume: bool,
                      checkpoint_every: int, seed: int, validation: Sequence | None, data_note: str,
                      report: Callable[[TrainingProgress], None],
                      should_stop: Callable[[], bool] | None) -> Path:
    """training.train for a seed-conditioned preset (the same arguments, checked there)."""
    workdir = work_dir(output)
    state_path, ckpt_path = workdir / "state.json", workdir / "checkpoint.npz"
    if resume:
        state = read_state(state_path)
        arch = Architecture.from_dict(state["architecture"])
        tcfg = TrainingConfig.from_dict(state["training"])
        preset = replace(preset, architecture=arch, training=tcfg)
        corpus, normaliser, train_idx, val_idx = reopen_run(state, preset.features, report)
    else:
        corpus, normaliser, train_idx, val_idx, state = open_run(paths, validation, preset, seed, data_note, report)
        start_state(workdir, state)
    cfg, arch, tcfg = preset.features, preset.architecture, preset.training

    def batches_of(indices):
        frames = [corpus.frames[i] for i in indices]
        spans = np.cumsum([0] + [len(f) for f in frames])
        data = np.concatenate(frames) if frames else np.zeros((0, cfg.n_bins), np.float32)
        bands = context_bands(data, cfg)
        # Normalised in place: the corpus is held twice at most, while it is copied.
        data -= normaliser.mean
        data /= normaliser.std
        return WindowBatches(data, bands, list(zip(spans[:-1].tolist(), spans[1:].tolist())), arch,
                             tcfg.sequence_length, cfg.frames_per_second)

    train_data, val_data = batches_of(train_idx), batches_of(val_idx)
    frame_counts = [len(f) for f in corpus.frames]
    corpus.frames.clear()
    # As many batches every epoch: a track's random phase can cost it one window.
    per_epoch = (len(train_data.starts(None)) - len(train_data.spans)) // tcfg.batch_size
    if per_epoch < 1:
        raise MusicgenError(f"not enough training audio: each of {tcfg.batch_size} windows needs "
                            f"{MIN_SEED_SECONDS:g} s of its track before it")

    keras = import_keras()
    keras.utils.set_random_seed(seed)
    pool, expand = gate_pooling(cfg, arch.gate_bands)
    model = build_conditioned_keras_model(arch, pool, expand)
    optimizer = make_optimizer(tcfg)
    model.compile(optimizer=optimizer, loss=["mse", "mse"], loss_weights=[1.0, OWN_LOSS_WEIGHT])
    optimizer.build(model.trainable_variables)
    epoch0, batch0, history = 0, 0, {"loss": [], "val_loss": []}
    if resume and ckpt_path.is_file():
        epoch0, batch0, history = restore_checkpoint(ckpt_path, model)

    def save_checkpoint(epoch, batch):
        arrays = {f"w{i}": w for i, w in enumerate(model.get_weights())}
        arrays.update({f"o{i}": v.numpy() for i, v in enumerate(optimizer.variables)})
        arrays["meta"] = np.array(json.dumps({"epoch": epoch, "batch": batch, "history": history}))
        with atomic_file(ckpt_path) as f:
            np.savez(f, **arrays)

    val_starts = val_data.starts(np.random.default_rng(seed))[:VALIDATION_BATCHES * tcfg.batch_size]
    frames_per_batch = tcfg.batch_size * tcfg.sequence_length
    val_loss = None
    for epoch in range(epoch0, epochs):
        rng = np.random.default_rng([seed, epoch])
        starts = train_data.starts(rng)[:per_epoch * tcfg.batch_size].reshape(per_epoch, tcfg.batch_size)
        t0, losses, rate = time.perf_counter(), [], 0.0
        for b in range(batch0, per_epoch):
            # Each batch's draws (seed stretch, gap, memory or none) fixed by (seed, epoch, batch): resumable.
            inputs, targets = train_data.batch(starts[b], np.random.default_rng([seed, epoch, b]))
            loss = model.train_on_batch(inputs, targets)
            losses.append(float(loss[0] if isinstance(loss, list) else loss))
            rate = (b + 1 - batch0) * frames_per_batch / (time.perf_counter() - t0)
            left = (per_epoch - b - 1 + (epochs - epoch - 1) * per_epoch) * frames_per_batch / rate
            report(TrainingProgress("training", epoch + 1, epochs, b + 1, per_epoch, float(np.mean(losses[-50:])),
                                    history["val_loss"][-1] if history["val_loss"] else None, rate, left))
            if (b + 1) % checkpoint_every == 0:
                save_checkpoint(epoch, b + 1)
            if should_stop is not None and should_stop():
                save_checkpoint(epoch, b + 1)
                report(TrainingProgress("stopped", epoch + 1, epochs, b + 1, per_epoch,
                                        message="stopped; resume to continue from here"))
                return output
        batch0 = 0
        val_loss = _validation_loss(model, val_data, val_starts, tcfg.batch_size, seed)
        history["loss"].append(float(np.mean(losses)) if losses else None)
        history["val_loss"].append(val_loss)
        save_checkpoint(epoch + 1, 0)
        save_bundle(_bundle(model, preset, normaliser, train_data, val_data, val_starts, corpus.files, frame_counts,
                            train_idx, val_idx, epoch + 1, history, output.stem, state.get("data_note", ""), seed),
                    output)
        report(TrainingProgress("training", epoch + 1, epochs, per_epoch, per_epoch, history["loss"][-1], val_loss,
                                rate, message=f"saved {output.name}"))
    report(TrainingProgress("done", epochs, epochs, per_epoch, per_epoch, history["loss"][-1] if history["loss"]
                            else None, val_loss, message=f"wrote {output}"))
    return output


def _validation_loss(model, data: WindowBatches, starts: np.ndarray, batch_size: int, seed: int) -> float | None:
    losses = []
    for i in range(0, len(starts) - batch_size + 1, batch_size):
        inputs, targets = data.batch(starts[i:i + batch_size], np.random.default_rng([seed, i]))
        loss = model.test_on_batch(inputs, targets)
        losses.append(float(loss[0] if isinstance(loss, list) else loss))
    return float(np.mean(losses)) if losses else None


def _bundle(model, preset: Preset, normaliser: Normaliser, train_data: WindowBatches, val_data: WindowBatches,
            val_starts: np.ndarray, files: list[str], frame_counts: list[int], train_idx, val_idx, epochs_done: int,
            history: dict, name: str, data_note: str, seed: int) -> ModelBundle:
    arch = preset.architecture
    # The sampling noise's scale: the gated frame's error on held-out windows (training ones if none).
    source, starts = (val_data, val_starts) if len(val_starts) else (train_data, train_data.starts(None)[:256])
    errors = []
    for i in range(0, min(len(starts), 256), 32):
        inputs, (target, _) = source.batch(starts[i:i + 32], np.random.default_rng([seed, i]))
        mixed, _ = model(inputs, training=False)
        errors.append((np.asarray(mixed) - target)[:, CONTEXT_FRAMES:].reshape(-1, target.shape[-1]))
    residual_std = np.concatenate(errors).std(axis=0) if errors else np.full(preset.features.n_bins, 0.3)

    def seconds(indices):
        return round(sum(frame_counts[i] for i in indices) / preset.features.frames_per_second, 1)

    return ModelBundle(
        name=name, preset=preset.name, features=preset.features, architecture=arch, normaliser=normaliser,
        residual_std=residual_std.astype(np.float32),
        frame_min=train_data.frames.min(axis=0).astype(np.float32),
        frame_max=train_data.frames.max(axis=0).astype(np.float32),
        weights=keras_weights_to_arrays(model, arch), training=preset.training,
        provenance={
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "musicgen_version": __version__, "data": data_note,
            "train_files": [Path(files[i]).name for i in train_idx],
            "val_files": [Path(files[i]).name for i in val_idx],
            "train_seconds": seconds(train_idx), "val_seconds": seconds(val_idx),
            "epochs": epochs_done, "final_loss": history["loss"][-1] if history["loss"] else None,
            "final_val_loss": history["val_loss"][-1] if history["val_loss"] else None,
        },
    )
