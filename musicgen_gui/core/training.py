"""Training a frame model on folders of audio, with checkpoints and resume.

Everything a run needs to go on after a crash lives in ``<model>.training/``:

* ``state.json`` - the request (preset, files, split) and the normalisation,
  written once when the run starts;
* ``checkpoint.npz`` - weights, optimizer variables and the position (epoch,
  batch), rewritten atomically every ``checkpoint_every`` batches and at each
  epoch's end; no pickle, so a damaged or hostile file cannot run code;
* ``logs/`` - TensorBoard event files.

The model file itself is (re)written atomically after each epoch, so the best
model so far is always usable. Epoch ``e`` visits its windows in an order fixed
by (seed, e), which is what lets a resumed run skip exactly the batches done.

A distributed run (``distributed=True``, one process per machine, the cluster in
``TF_CONFIG``) trains with ``tf.distribute.MultiWorkerMirroredStrategy``: every
worker builds the same window order, ``tf.data`` gives each worker its share of
every global batch, and the gradients are summed across workers. Only the chief
(worker 0) writes the state, checkpoints, logs and the model file; a resumed run
reads them on every worker, so the output folder must be one they all see.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .. import __version__
from .audio_io import AUDIO_KINDS, find_audio_files, load_audio
from .bundle import ModelBundle, save_bundle
from .errors import AudioLoadError, MusicgenError
from .features import FeatureConfig, Normaliser, log_power
from .fileio import atomic_file
from .params import training_unavailable
from .distributed import multi_worker_strategy, read_tf_config
from .distributed import optimizer as make_optimizer
from .model import (PRESETS, Architecture, Preset, TrainingConfig, build_keras_model, get_preset, import_keras,
                    keras_weights_to_arrays)

STATE_VERSION = 1
# Frames at each window's start that the residual statistics skip: the state is
# still warming up there, unlike during generation.
_RESIDUAL_SKIP = 10


@dataclass
class TrainingProgress:
    stage: str  # "loading", "note" (a message to show as is), "training", "done", "stopped"
    epoch: int = 0  # 1-based while training
    epochs: int = 0
    batch: int = 0  # batches done in this epoch
    batches: int = 0
    loss: float | None = None
    val_loss: float | None = None
    frames_per_second: float = 0.0
    eta_seconds: float | None = None
    message: str = ""


@dataclass
class Corpus:
    files: list[str]
    frames: list[np.ndarray]  # log-power frames per file
    skipped: list[str]  # "name: reason" for files that could not be read


def load_corpus(paths: Sequence[str | os.PathLike], cfg: FeatureConfig,
                progress: Callable[[TrainingProgress], None] | None = None) -> Corpus:
    files = find_audio_files(paths)
    if not files:
        raise MusicgenError(f"no audio files ({AUDIO_KINDS}) found in " + ", ".join(map(str, paths)))
    corpus = Corpus([], [], [])
    for i, path in enumerate(files):
        if progress:
            progress(TrainingProgress("loading", batch=i, batches=len(files), message=f"reading {path.name}"))
        try:
            audio = load_audio(path, cfg.sample_rate)
        except AudioLoadError as exc:
            corpus.skipped.append(str(exc))
            continue
        frames = log_power(audio.samples, cfg)
        if len(frames) < 2:
            corpus.skipped.append(f"{path.name}: shorter than two frames")
            continue
        corpus.files.append(str(path))
        corpus.frames.append(frames)
    if not corpus.files:
        raise MusicgenError("none of the audio files could be used: " + "; ".join(corpus.skipped[:3]))
    if corpus.skipped and progress:
        shown = "; ".join(corpus.skipped[:5]) + ("; ..." if len(corpus.skipped) > 5 else "")
        progress(TrainingProgress("note", message=f"skipped {len(corpus.skipped)} unusable files: {shown}"))
    return corpus


def split_files(n_files: int, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Whole files for validation (never frames of a training file)."""
    if n_files < 2 or fraction <= 0:
        return list(range(n_files)), []
    order = np.random.default_rng(seed).permutation(n_files)
    n_val = max(1, int(round(fraction * n_files)))
    return sorted(order[n_val:].tolist()), sorted(order[:n_val].tolist())


class _Windows:
    """Start indices of (sequence_length + 1)-frame windows inside one array of all frames."""

    def __init__(self, frames: list[np.ndarray], length: int):
        self.length = length
        self.data = np.concatenate(frames) if frames else np.zeros((0, 0), np.float32)
        offsets = np.cumsum([0] + [len(f) for f in frames])
        self.spans = [(int(a), int(b)) for a, b in zip(offsets[:-1], offsets[1:])]

    def starts(self, rng: np.random.Generator | None) -> np.ndarray:
        return window_starts(self.spans, self.length, rng)


def window_starts(spans: list[tuple[int, int]], length: int, rng: np.random.Generator | None,
                  skip: int = 0) -> np.ndarray:
    """Starts of non-overlapping (length + 1)-frame windows in each (start, end) span, from
    ``skip`` frames into it; with an rng, a random phase per span and a shuffled order."""
    out = []
    for a, b in spans:
        first, last = a + skip, b - (length + 1)
        if last < first:
            continue
        phase = int(rng.integers(0, length)) if rng is not None else 0
        out.append(np.arange(first + min(phase, last - first), last + 1, length))
    starts = np.concatenate(out) if out else np.zeros(0, np.int64)
    if rng is not None:
        rng.shuffle(starts)
    return starts.astype(np.int64)


def held_out_files(corpus: Corpus, validation: Sequence | None, fraction: float,
                   seed: int) -> tuple[list[int], list[int]]:
    """The corpus' training and validation files (indices): the files under ``validation``,
    or whole files held out at random without it."""
    if not validation:
        return split_files(len(corpus.files), fraction, seed)
    held_out = {str(p) for p in find_audio_files(validation)}
    val_idx = [i for i, f in enumerate(corpus.files) if f in held_out]
    train_idx = [i for i, f in enumerate(corpus.files) if f not in held_out]
    if not train_idx:
        raise MusicgenError("every training file is also in the validation folders")
    return train_idx, val_idx


def open_run(paths: Sequence, validation: Sequence | None, preset: Preset, seed: int, data_note: str,
             report: Callable[[TrainingProgress], None]) -> tuple[Corpus, Normaliser, list[int], list[int], dict]:
    """A new run: its corpus, normalisation, training and validation files, and the state that
    lets it resume (for start_state)."""
    corpus = load_corpus(list(paths) + list(validation or []), preset.features, report)
    train_idx, val_idx = held_out_files(corpus, validation, preset.training.validation_fraction, seed)
    normaliser = Normaliser.fit_many([corpus.frames[i] for i in train_idx])
    state = {"version": STATE_VERSION, "preset": preset.name, "features": preset.features.to_dict(),
             "architecture": preset.architecture.to_dict(), "training": preset.training.to_dict(),
             "files": corpus.files, "train_files": train_idx, "val_files": val_idx, "seed": seed,
             "data_note": data_note, "mean": normaliser.mean.tolist(), "std": normaliser.std.tolist()}
    return corpus, normaliser, train_idx, val_idx, state


def reopen_run(state: dict, cfg: FeatureConfig, report: Callable[[TrainingProgress], None]
               ) -> tuple[Corpus, Normaliser, list[int], list[int]]:
    """An interrupted run's corpus (the same files, or a message saying so), normalisation and split."""
    corpus = load_corpus(state["files"], cfg, report)
    if corpus.files != state["files"]:
        raise MusicgenError("the training files changed since the interrupted run; start a new run instead")
    normaliser = Normaliser(np.asarray(state["mean"], np.float32), np.asarray(state["std"], np.float32))
    return corpus, normaliser, state["train_files"], state["val_files"]


def start_state(workdir: Path, state: dict) -> None:
    """A new run: its state.json written, any checkpoint of an earlier run removed."""
    try:
        workdir.mkdir(exist_ok=True)
        with atomic_file(workdir / "state.json", "w") as f:
            f.write(json.dumps(state))
    except OSError as exc:
        raise MusicgenError(f"cannot write training state to {workdir}: {exc.strerror or exc}") from None
    (workdir / "checkpoint.npz").unlink(missing_ok=True)


def work_dir(output: Path) -> Path:
    return output.with_name(output.name + ".training")


def train(
    paths: Sequence[str | os.PathLike],
    output: str | os.PathLike,
    preset: str = "default",
    epochs: int = 20,
    resume: bool = False,
    cell: str | None = None,
    units: Sequence[int] | None = None,
    batch_size: int | None = None,
    sequence_length: int | None = None,
    checkpoint_every: int = 100,
    seed: int = 0,
    validation: Sequence[str | os.PathLike] | None = None,
    data_note: str = "",
    distributed: bool = False,
    progress: Callable[[TrainingProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Path:
    """Train (or resume) and write the model bundle to ``output``; returns its path.

    ``validation``: folders of held-out tracks; without it, whole files of
    ``paths`` are held out at random. ``data_note``: where the audio came from and
    its licence, recorded in the model's provenance. ``distributed``: one worker
    of a multi-worker run described by ``TF_CONFIG`` (see the module docstring);
    ``batch_size`` stays the global batch, split evenly over the workers.
    """
    output = Path(output)
    workdir = work_dir(output)
    state_path, ckpt_path = workdir / "state.json", workdir / "checkpoint.npz"
    report = progress or (lambda p: None)
    if epochs < 1:
        raise MusicgenError("epochs must be at least 1")
    if not output.parent.is_dir():
        raise MusicgenError(f"cannot write the model: folder {output.parent} does not exist")
    unavailable = training_unavailable()
    if unavailable:
        raise MusicgenError(unavailable)
    chosen_name = read_state(state_path)["preset"] if resume and state_path.is_file() else preset
    if chosen_name in PRESETS and PRESETS[chosen_name].architecture.conditioned:
        if distributed:
            raise MusicgenError("a seed-conditioned model trains on one machine; leave out --distributed")
        from .seed_training import train_conditioned

        chosen = get_preset(chosen_name, units=tuple(units) if units and not resume else None)
        overrides = {k: v for k, v in (("batch_size", batch_size), ("sequence_length", sequence_length)) if v}
        chosen = replace(chosen, training=replace(chosen.training, **overrides))
        return train_conditioned(paths, output, chosen, epochs, resume, checkpoint_every, seed, validation,
                                 data_note, report, should_stop)
    n_workers, worker = read_tf_config() if distributed else (1, 0)
    chief = worker == 0  # the only one that writes

    if resume:
        if not state_path.is_file():
            shared = "; every worker must see the chief's output folder" if distributed else ""
            raise MusicgenError(f"nothing to resume: {state_path} does not exist{shared}")
        state = read_state(state_path)
        chosen = Preset(state["preset"], "", FeatureConfig.from_dict(state["features"]),
                        Architecture.from_dict(state["architecture"]), TrainingConfig.from_dict(state["training"]))
        _check_batch_split(chosen.training, n_workers)
        corpus, normaliser, train_idx, val_idx = reopen_run(state, chosen.features, report)
    else:
        chosen = get_preset(preset, cell=cell, units=tuple(units) if units else None)
        training_overrides = {k: v for k, v in (("batch_size", batch_size), ("sequence_length", sequence_length))
                              if v is not None}
        if training_overrides:
            chosen = replace(chosen, training=replace(chosen.training, **training_overrides))
        _check_batch_split(chosen.training, n_workers)
        corpus, normaliser, train_idx, val_idx, state = open_run(paths, validation, chosen, seed, data_note, report)

    cfg, arch, tcfg = chosen.features, chosen.architecture, chosen.training
    if chief and not resume:  # the other workers computed the same state from the same files
        start_state(workdir, state)
    # Normalised in place, file by file: the corpus is held once (plus the windows' copy).
    for i, frames in enumerate(corpus.frames):
        corpus.frames[i] = normaliser.normalise(frames)
    train_windows = _Windows([corpus.frames[i] for i in train_idx], tcfg.sequence_length)
    val_windows = _Windows([corpus.frames[i] for i in val_idx], tcfg.sequence_length)
    frame_counts = [len(f) for f in corpus.frames]
    corpus.frames.clear()
    batches_per_epoch = len(train_windows.starts(None)) // tcfg.batch_size
    if batches_per_epoch < 1:
        seconds = (tcfg.sequence_length + 1) * tcfg.batch_size * cfg.hop / cfg.sample_rate
        raise MusicgenError(f"not enough training audio: at least {seconds:.0f} s is needed for one batch")

    keras = import_keras()
    import tensorflow as tf

    # Before any other TensorFlow op: the strategy sets up the collective ops between workers.
    strategy = multi_worker_strategy() if distributed else tf.distribute.get_strategy()
    if distributed:
        report(TrainingProgress("note", message=f"worker {worker} of {n_workers}{' (chief)' if chief else ''}: "
                                f"{tcfg.batch_size // n_workers} of each batch's {tcfg.batch_size} windows, "
                                f"{batches_per_epoch} batches an epoch"))
    keras.utils.set_random_seed(seed)
    with strategy.scope():
        model = build_keras_model(arch, cfg.n_bins)
        optimizer = make_optimizer(tcfg)
        model.compile(optimizer=optimizer, loss="mse")
        optimizer.build(model.trainable_variables)
    if worker:
        # Variables start out equal on every worker, the input noise's seed too: without
        # this, all workers would add the same noise to their windows.
        for layer in model.layers:
            if isinstance(layer, keras.layers.GaussianNoise):
                seed_state = layer.seed_generator.state
                seed_state.assign(seed_state.value + keras.ops.convert_to_tensor([worker, 0], dtype=seed_state.dtype))

    start_epoch, start_batch = 0, 0
    history: dict = {"loss": [], "val_loss": []}
    if resume and ckpt_path.is_file():
        start_epoch, start_batch, history = restore_checkpoint(ckpt_path, model)

    window = tf.range(tcfg.sequence_length + 1, dtype=tf.int64)

    def dataset(starts: np.ndarray, frames, drop_remainder: bool):
        def gather(batch_starts):
            w = tf.gather(frames, batch_starts[:, None] + window[None, :])
            return w[:, :-1], w[:, 1:]

        def shard(context: "tf.distribute.InputContext") -> "tf.data.Dataset":
            # Worker i takes windows i, i + n, i + 2n, ...: its share of every global batch.
            return (tf.data.Dataset.from_tensor_slices(starts)
                    .shard(context.num_input_pipelines, context.input_pipeline_id)
                    .batch(context.get_per_replica_batch_size(tcfg.batch_size), drop_remainder=drop_remainder)
                    .map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2))

        return strategy.distribute_datasets_from_function(shard)

    # A Variable, not a constant: the frames can be gigabytes, too big to embed in a graph.
    train_frames = tf.Variable(train_windows.data, trainable=False, name="train_frames")
    val_starts = val_windows.starts(None)
    val_starts = val_starts[: len(val_starts) - len(val_starts) % n_workers]  # as many on every worker
    val_ds = None
    if len(val_starts):
        val_ds = dataset(val_starts, tf.Variable(val_windows.data, trainable=False, name="val_frames"), False)

    state_box = {"epoch": start_epoch, "batch": start_batch, "stopped": False, "rate": 0.0}

    def save_checkpoint():
        arrays = {f"w{i}": w for i, w in enumerate(model.get_weights())}
        arrays.update({f"o{i}": v.numpy() for i, v in enumerate(optimizer.variables)})
        meta = {"epoch": state_box["epoch"], "batch": state_box["batch"], "history": history}
        arrays["meta"] = np.array(json.dumps(meta))
        with atomic_file(ckpt_path) as f:
            np.savez(f, **arrays)

    frames_per_batch = tcfg.batch_size * tcfg.sequence_length

    class Callback(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()
            self.first = state_box["batch"]

        def on_train_batch_end(self, batch, logs=None):
            state_box["batch"] = self.first + batch + 1
            done = state_box["batch"] - self.first
            rate = state_box["rate"] = done * frames_per_batch / max(time.perf_counter() - self.t0, 1e-9)
            left = (batches_per_epoch - state_box["batch"]) + (epochs - state_box["epoch"] - 1) * batches_per_epoch
            report(TrainingProgress("training", state_box["epoch"] + 1, epochs, state_box["batch"], batches_per_epoch,
                                    float(logs.get("loss", np.nan)), history["val_loss"][-1] if history["val_loss"] else None,
                                    rate, left * frames_per_batch / rate))
            if chief and state_box["batch"] % checkpoint_every == 0:
                save_checkpoint()
            if should_stop is not None and should_stop():
                state_box["stopped"] = True
                self.model.stop_training = True

    def collective(call):
        """fit() or evaluate(); in a distributed run a worker that is gone ends the run with a message."""
        try:
            return call()
        except (tf.errors.UnavailableError, tf.errors.AbortedError, tf.errors.CancelledError,
                tf.errors.DeadlineExceededError):
            if not distributed:
                raise
            raise MusicgenError("another worker stopped or cannot be reached; start every worker again "
                                "with --resume") from None

    callbacks = [Callback()]
    if chief:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(workdir / "logs"),
                                                     update_freq=max(1, checkpoint_every // 4)))
    val_loss = None
    for epoch in range(start_epoch, epochs):
        state_box["epoch"] = epoch
        rng = np.random.default_rng([seed, epoch])
        starts = train_windows.starts(rng)[: batches_per_epoch * tcfg.batch_size]
        skip = state_box["batch"] * tcfg.batch_size
        if skip < len(starts):
            result = collective(lambda: model.fit(dataset(starts[skip:], train_frames, True), epochs=epoch + 1,
                                                  initial_epoch=epoch, callbacks=callbacks, shuffle=False, verbose=0))
            losses = result.history.get("loss") or [np.nan]
        else:
            losses = [history["loss"][-1] if history["loss"] else np.nan]
        if state_box["stopped"]:
            if chief:
                save_checkpoint()
            report(TrainingProgress("stopped", epoch + 1, epochs, state_box["batch"], batches_per_epoch,
                                    message="stopped; resume to continue from here"))
            return output
        val_loss = float(collective(lambda: model.evaluate(val_ds, verbose=0))) if val_ds is not None else None
        history["loss"].append(float(losses[-1]))
        history["val_loss"].append(val_loss)
        state_box["epoch"], state_box["batch"] = epoch + 1, 0
        if chief:
            save_checkpoint()
            bundle = _make_bundle(model, chosen, normaliser, train_windows, val_windows, corpus.files, frame_counts,
                                  train_idx, val_idx,
                                  epoch + 1, history, output.stem, state.get("data_note", ""))
            save_bundle(bundle, output)
        report(TrainingProgress("training", epoch + 1, epochs, batches_per_epoch, batches_per_epoch,
                                history["loss"][-1], val_loss, state_box["rate"],
                                message=f"saved {output.name}" if chief else f"epoch {epoch + 1} done"))
    report(TrainingProgress("done", epochs, epochs, batches_per_epoch, batches_per_epoch,
                            history["loss"][-1] if history["loss"] else None, val_loss,
                            message=f"wrote {output}" if chief else "done; worker 0 writes the model"))
    if chief and not output.exists():
        # Resumed after the last epoch had finished: write the model from the checkpoint.
        save_bundle(_make_bundle(model, chosen, normaliser, train_windows, val_windows, corpus.files, frame_counts,
                                 train_idx, val_idx,
                                 epochs, history, output.stem, state.get("data_note", "")), output)
    return output


def _check_batch_split(tcfg: TrainingConfig, n_workers: int) -> None:
    # Before loading the audio, which can take minutes.
    if tcfg.batch_size % n_workers:
        raise MusicgenError(f"the batch size {tcfg.batch_size} does not split evenly over {n_workers} workers")


def read_state(path: Path) -> dict:
    try:
        state = json.loads(path.read_text())
        if state.get("version") != STATE_VERSION:
            raise MusicgenError(f"{path}: written by another version; start a new run")
        return state
    except (OSError, ValueError, AttributeError) as exc:
        raise MusicgenError(f"{path}: cannot be read ({exc}); start a new run") from None


def restore_checkpoint(path: Path, model) -> tuple[int, int, dict]:
    """Weights, optimizer state and (epoch, batch, history) from a checkpoint written by a run."""
    try:
        with np.load(path, allow_pickle=False) as ckpt:
            weights = [ckpt[f"w{i}"] for i in range(len(model.get_weights()))]
            opt_values = [ckpt[f"o{i}"] for i in range(len(model.optimizer.variables))]
            meta = json.loads(str(ckpt["meta"]))
        model.set_weights(weights)
        for var, value in zip(model.optimizer.variables, opt_values):
            var.assign(value)
    except (OSError, KeyError, ValueError) as exc:
        raise MusicgenError(f"the checkpoint {path} is damaged ({exc}); start a new run") from None
    return int(meta["epoch"]), int(meta["batch"]), meta["history"]


def _make_bundle(model, preset: Preset, normaliser: Normaliser, train_windows: _Windows, val_windows: _Windows,
                 files: list[str], frame_counts: list[int], train_idx, val_idx, epochs_done: int, history: dict,
                 name: str, data_note: str) -> ModelBundle:
    arch, tcfg = preset.architecture, preset.training
    arrays = keras_weights_to_arrays(model, arch)
    # The residual statistics: teacher-forced error on held-out windows (training
    # windows when nothing is held out), past each window's warm-up.
    source = val_windows if len(val_windows.starts(None)) else train_windows
    starts = source.starts(np.random.default_rng(0))[:256]
    windows = source.data[starts[:, None] + np.arange(tcfg.sequence_length + 1)[None, :]]
    # Direct calls, not predict(): in a distributed run only the chief gets here, and
    # predict() would wait for the other workers to take their share.
    predicted = np.concatenate([model(windows[i:i + 64, :-1], training=False) for i in range(0, len(windows), 64)])
    errors = (predicted - windows[:, 1:])[:, min(_RESIDUAL_SKIP, tcfg.sequence_length // 2):]
    residual_std = errors.reshape(-1, errors.shape[-1]).std(axis=0)
    data = train_windows.data

    def seconds(indices):
        return round(sum(frame_counts[i] for i in indices) / preset.features.frames_per_second, 1)

    return ModelBundle(
        name=name, preset=preset.name, features=preset.features, architecture=arch, normaliser=normaliser,
        residual_std=residual_std.astype(np.float32),
        frame_min=data.min(axis=0).astype(np.float32), frame_max=data.max(axis=0).astype(np.float32),
        weights=arrays, training=tcfg,
        provenance={
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "musicgen_version": __version__,
            "data": data_note,
            "train_files": [Path(files[i]).name for i in train_idx],
            "val_files": [Path(files[i]).name for i in val_idx],
            "train_seconds": seconds(train_idx), "val_seconds": seconds(val_idx),
            "epochs": epochs_done, "final_loss": history["loss"][-1] if history["loss"] else None,
            "final_val_loss": history["val_loss"][-1] if history["val_loss"] else None,
        },
    )
