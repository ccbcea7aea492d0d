"""The numpy step engine must generate what the Keras model computes."""

import keras
import numpy as np
import pytest

from musicgen_gui.core.bundle import ModelBundle
from musicgen_gui.core.features import FeatureConfig, Normaliser
from musicgen_gui.core.model import Architecture, build_keras_model, keras_weights_to_arrays
from musicgen_gui.core.predictor import FramePredictor

BINS = 48


def bundle_from_keras(model, arch):
    n = BINS
    return ModelBundle(
        name="k", features=FeatureConfig(n_fft=128, hop=64, n_bins=n), architecture=arch,
        normaliser=Normaliser(np.zeros(n, np.float32), np.ones(n, np.float32)),
        residual_std=np.ones(n, np.float32), frame_min=-np.ones(n, np.float32), frame_max=np.ones(n, np.float32),
        weights=keras_weights_to_arrays(model, arch))


@pytest.mark.slow
@pytest.mark.parametrize("cell,units,residual", [("lstm", (40, 24), True), ("gru", (40, 24), False),
                                                 ("lstm", (64,), False), ("gru", (32,), True)])
def test_step_engine_matches_keras_over_300_autoregressive_steps(cell, units, residual):
    keras.utils.set_random_seed(0)
    arch = Architecture(cell=cell, units=units, residual=residual, input_noise=0.5)
    model = build_keras_model(arch, BINS)
    # Larger than Keras' initial weights, so the dynamics neither die out nor settle.
    model.set_weights([w * 2.5 for w in model.get_weights()])
    rng = np.random.default_rng(3)
    seed = rng.standard_normal((1, 20, BINS)).astype(np.float32)
    predictor = FramePredictor(bundle_from_keras(model, arch))

    # Warm on the seed, then feed each prediction back, clipped as generation does.
    x = np.clip(predictor.run_sequence(seed)[:, -1], -3, 3)
    inputs = [x]
    for _ in range(299):
        x = np.clip(predictor.step(x), -3, 3)
        inputs.append(x)
    generated = np.stack(inputs, axis=1)  # (1, 300, bins): each is f(past), clipped

    # Keras sees the same input sequence in one pass (noise is off outside training).
    sequence = np.concatenate([seed, generated[:, :-1]], axis=1)
    expected = np.clip(np.asarray(model(sequence, training=False))[:, 19:], -3, 3)
    assert generated[:, :100].std(axis=1).mean() > 0.05  # the frames really change
    assert np.abs(expected - generated).max() < 1e-4


def test_batch_candidates_are_independent():
    arch = Architecture(cell="lstm", units=(16,), residual=False, input_noise=0.0)
    model = build_keras_model(arch, BINS)
    bundle = bundle_from_keras(model, arch)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 1, BINS)).astype(np.float32)
    single = FramePredictor(bundle)
    out_a = [single.step(a)]
    out_a.append(single.step(out_a[-1]))
    pair = FramePredictor(bundle, batch=2)
    first = pair.step(np.concatenate([a, b]))
    second = pair.step(first)
    assert np.allclose(second[0], out_a[1][0], atol=1e-6)
    assert not np.allclose(second[1], second[0])
