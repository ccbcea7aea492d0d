"""Adapting a model to the seed: a short fine-tune of an in-memory copy on the
seed's own frames, before continuing it. The model file is never touched.

It needs TensorFlow (training), imported only when asked for.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from .bundle import ModelBundle
from .errors import MusicgenError
from .model import arrays_to_keras_weights, build_keras_model, import_keras, keras_weights_to_arrays
from .params import MAX_ADAPT_SECONDS, training_unavailable

# A tenth of training's rate: at training's own (1e-3) the next-frame error on the
# music after the seed rose (x1.00-1.02, 6 piano seeds); at 1e-4 it fell 4 %.
LEARNING_RATE = 1e-4
BATCH_SIZE = 16


@dataclass
class Adaptation:
    bundle: ModelBundle  # the adapted copy
    steps: int
    seconds: float  # fine-tuning wall time
    startup_seconds: float  # loading TensorFlow and building the model (once per process, mostly)
    first_loss: float  # on the first batch, before any update
    last_loss: float


def adapt_to_seed(bundle: ModelBundle, seed_frames: np.ndarray, seconds: float, rng_seed: int | None = None,
                  should_stop: Callable[[], bool] | None = None) -> Adaptation:
    """Fine-tune a copy of ``bundle`` on windows of ``seed_frames`` (log power) for
    at most ``seconds`` of wall time, after TensorFlow has loaded and the model is
    built (seconds the first time in a process, which would otherwise eat a short
    budget whole on a busy machine)."""
    if not 0 < seconds <= MAX_ADAPT_SECONDS:
        raise MusicgenError(f"adapting to the seed takes between 0 and {MAX_ADAPT_SECONDS:.0f} seconds")
    unavailable = training_unavailable()
    if unavailable:
        raise MusicgenError(f"cannot adapt to the seed: {unavailable}")
    began = time.perf_counter()
    arch, length = bundle.architecture, bundle.training.sequence_length
    frames = bundle.normaliser.normalise(np.asarray(seed_frames, np.float32))
    length = min(length, len(frames) - 1)  # a short seed gives shorter windows
    if length < 2:
        raise MusicgenError("the seed is too short to adapt to")
    starts = np.arange(len(frames) - length)
    windows = frames[starts[:, None] + np.arange(length + 1)[None, :]]

    keras = import_keras()
    model = build_keras_model(arch, bundle.features.n_bins)
    arrays_to_keras_weights(model, arch, bundle.weights)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=LEARNING_RATE, clipnorm=1.0), loss="mse")
    rng = np.random.default_rng(rng_seed)
    losses: list[float] = []
    started = time.perf_counter()
    startup = started - began
    while time.perf_counter() - started < seconds and not (should_stop and should_stop()):
        batch = windows[rng.choice(len(windows), min(BATCH_SIZE, len(windows)), replace=False)]
        losses.append(float(model.train_on_batch(batch[:, :-1], batch[:, 1:])))
    if not losses:
        return Adaptation(bundle, 0, time.perf_counter() - started, startup, float("nan"), float("nan"))
    adapted = replace(bundle, weights=keras_weights_to_arrays(model, arch),
                      provenance={**bundle.provenance, "adapted_to_seed": {"steps": len(losses)}})
    return Adaptation(adapted, len(losses), time.perf_counter() - started, startup, losses[0], losses[-1])
