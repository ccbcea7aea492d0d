"""Model bundles and training material shared by the tests (no fixtures here)."""

import numpy as np

from musicgen_gui.core.bundle import ModelBundle
from musicgen_gui.core.features import FeatureConfig, Normaliser
from musicgen_gui.core.model import Architecture

# A four-note pattern whose notes last a whole number of hops: periodic in frames.
PATTERN_FREQS = (220.0, 277.18, 329.63, 440.0)
PATTERN_NOTE_SAMPLES = 11 * 512


def random_bundle(arch=None, features=None, seed=0, name="random") -> ModelBundle:
    """A bundle with random weights: a real model file for paths that need no training."""
    features = features or FeatureConfig()
    arch = arch or Architecture(cell="lstm", units=(32,), residual=True, input_noise=0.0)
    rng = np.random.default_rng(seed)
    weights = {k: (rng.standard_normal(shape) * 0.1).astype(np.float32)
               for k, shape in arch.weight_shapes(features.n_bins).items()}
    n = features.n_bins
    return ModelBundle(
        name=name, features=features, architecture=arch,
        normaliser=Normaliser(np.full(n, -12.0, np.float32), np.full(n, 4.0, np.float32)),
        residual_std=np.full(n, 0.3, np.float32),
        frame_min=np.full(n, -3.0, np.float32), frame_max=np.full(n, 2.0, np.float32),
        weights=weights, provenance={"data": "random weights for tests"})
