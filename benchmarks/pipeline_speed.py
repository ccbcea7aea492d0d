"""Generation speed of the whole pipeline (step engine + phase + blocks) per preset,
next to the naive loop (Keras ``model.predict`` per frame, same weights), in one run.

    python benchmarks/pipeline_speed.py [--seconds 20] [--repeats 3] [MODEL.musicgen ...]

Without model files it uses each preset's architecture with random weights: speed
does not depend on what the weights learned.
"""

import argparse
import os
import statistics
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from musicgen_gui.core.bundle import ModelBundle, load_bundle, random_bundle  # noqa: E402
from musicgen_gui.core.features import FeatureConfig  # noqa: E402
from musicgen_gui.core.model import PRESETS, arrays_to_keras_weights, build_keras_model  # noqa: E402
from musicgen_gui.core.session import ContinuationParams, ContinuationSession  # noqa: E402


def pipeline_frames_per_second(bundle: ModelBundle, seconds: float) -> float:
    cfg: FeatureConfig = bundle.features
    t = np.arange(10 * cfg.sample_rate) / cfg.sample_rate
    seed = (0.2 * np.sin(2 * np.pi * 220 * t) * np.exp(-(t % 0.5) * 4)).astype(np.float32)
    session = ContinuationSession(bundle, seed, ContinuationParams(seconds, 0.5, 0))
    start = time.perf_counter()
    session.render()
    return seconds * cfg.frames_per_second / (time.perf_counter() - start)


def predict_seconds_per_step(bundle: ModelBundle, steps: int = 30) -> float:
    model = build_keras_model(bundle.architecture, bundle.features.n_bins)
    arrays_to_keras_weights(model, bundle.architecture, bundle.weights)
    x = np.zeros((1, 1, bundle.features.n_bins), np.float32)
    model.predict(x, verbose=0)
    start = time.perf_counter()
    for _ in range(steps):
        # The naive loop: the whole history is not even fed back, one frame per call.
        x = model.predict(x, verbose=0)
    return (time.perf_counter() - start) / steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    bundles = [load_bundle(m) for m in args.models] or [random_bundle(p.architecture, p.features, p.training, name=n) for n, p in PRESETS.items()]
    print(f"{'model':<12} {'params':>10} {'pipeline f/s':>13} {'x real time':>11} {'predict f/s':>12} {'ratio':>7}")
    for bundle in bundles:
        rates = [pipeline_frames_per_second(bundle, args.seconds) for _ in range(args.repeats)]
        rate = statistics.median(rates)
        naive = 1.0 / predict_seconds_per_step(bundle)
        print(f"{bundle.name:<12} {bundle.parameter_count:>10,} {rate:>13.0f} "
              f"{rate / bundle.features.frames_per_second:>11.1f} {naive:>12.1f} {rate / naive:>7.0f}", flush=True)


if __name__ == "__main__":
    main()
