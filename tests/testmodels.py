"""Model bundles and training material shared by the tests (no fixtures here)."""

from musicgen_gui.core.bundle import ModelBundle
from musicgen_gui.core.bundle import random_bundle as core_random_bundle
from musicgen_gui.core.model import Architecture

# A four-note pattern whose notes last a whole number of hops: periodic in frames.
PATTERN_FREQS = (220.0, 277.18, 329.63, 440.0)
PATTERN_NOTE_SAMPLES = 11 * 512


def random_bundle(arch=None, seed=0) -> ModelBundle:
    """A real model file's worth of random weights, for paths that need no training."""
    return core_random_bundle(arch or Architecture(cell="lstm", units=(32,), residual=True, input_noise=0.0), seed=seed)
