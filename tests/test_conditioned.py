"""The seed-conditioned model: its memory search, its numpy step against Keras, and its training."""

import keras
import numpy as np
import pytest

from musicgen_gui.core.bundle import ModelBundle, load_bundle, save_bundle
from musicgen_gui.core.conditioning import CONTEXT_FRAMES, CandidateSearch, gate_pooling, seed_summary
from musicgen_gui.core.features import FeatureConfig, Normaliser
from musicgen_gui.core.model import Architecture, build_conditioned_keras_model, keras_weights_to_arrays
from musicgen_gui.core.predictor import ConditionedPredictor

CFG = FeatureConfig(n_fft=128, hop=64, n_bins=48)
BINS = CFG.n_bins


def test_the_search_finds_where_a_context_came_before_and_how_far_the_others_are():
    rng = np.random.default_rng(0)
    bands = rng.standard_normal((200, 8)).astype(np.float32)
    search = CandidateSearch(bands, k=3)
    context = bands[120 - CONTEXT_FRAMES:120]
    places, distance = search.nearest(context[None])
    assert places[0, 0] == 120  # the frame that followed this very context
    assert distance[0, 0] == pytest.approx(0.0, abs=1e-3)
    assert (np.diff(distance[0]) >= 0).all() and distance[0, 1] > 1.0  # random contexts are far
    shifted = context + 0.5  # half a neper louder everywhere: RMS distance 0.5
    assert search.nearest(shifted[None])[1][0, 0] == pytest.approx(0.5, abs=1e-3)


def test_a_memory_shorter_than_one_context_is_refused():
    with pytest.raises(ValueError):
        CandidateSearch(np.zeros((CONTEXT_FRAMES, 8), np.float32), k=2)


def _bundle(model, arch):
    return ModelBundle(
        name="c", features=CFG, architecture=arch,
        normaliser=Normaliser(np.zeros(BINS, np.float32), np.ones(BINS, np.float32)),
        residual_std=np.ones(BINS, np.float32), frame_min=-np.ones(BINS, np.float32),
        frame_max=np.ones(BINS, np.float32), weights=keras_weights_to_arrays(model, arch), preset="seed-conditioned")


@pytest.mark.parametrize("offered", [1.0, 0.0])
def test_the_step_engine_matches_keras(offered, tmp_path):
    keras.utils.set_random_seed(0)
    arch = Architecture(cell="lstm", units=(24,), residual=True, input_noise=0.3, candidates=3, gate_bands=6,
                        summary_units=5)
    model = build_conditioned_keras_model(arch, *gate_pooling(CFG, arch.gate_bands))
    model.set_weights([w * 2.0 for w in model.get_weights()])
    rng = np.random.default_rng(1)
    steps = 40
    frames = rng.standard_normal((1, steps, BINS)).astype(np.float32)
    candidates = rng.standard_normal((1, steps, 3, BINS)).astype(np.float32) * offered
    distances = rng.random((1, steps, 3)).astype(np.float32) * offered
    summary = seed_summary(rng.standard_normal((100, BINS)))[None]
    mixed, own = model([frames, candidates, distances, np.full((1, steps, 1), offered, np.float32), summary],
                       training=False)
    # Saved and loaded: the file holds what the engine needs.
    bundle = load_bundle(save_bundle(_bundle(model, arch), tmp_path / "c.musicgen"))
    predictor = ConditionedPredictor(bundle, summary[0])
    for t in range(steps):
        got_mixed, got_own, weights = predictor.step(frames[0, t], candidates[0, t] if offered else None,
                                                     distances[0, t] if offered else None)
        assert np.abs(got_own - np.asarray(own)[0, t]).max() < 1e-4
        assert np.abs(got_mixed - np.asarray(mixed)[0, t]).max() < 1e-4
        assert weights.shape == (4, 6) and np.allclose(weights.sum(axis=0), 1.0)
    if not offered:
        assert np.allclose(mixed, own)  # no candidates: the net's own frame


def test_follow_bias_moves_the_gate_towards_the_candidates():
    keras.utils.set_random_seed(2)
    arch = Architecture(cell="lstm", units=(16,), residual=True, input_noise=0.0, candidates=2, gate_bands=4,
                        summary_units=3)
    bundle = _bundle(build_conditioned_keras_model(arch, *gate_pooling(CFG, 4)), arch)
    rng = np.random.default_rng(0)
    frame, candidates = rng.standard_normal(BINS), rng.standard_normal((2, BINS))
    shares = []
    for bias in (-3.0, 0.0, 3.0):
        predictor = ConditionedPredictor(bundle, np.zeros(2 * BINS, np.float32))
        shares.append(predictor.step(frame, candidates, np.ones(2), bias)[2][1:].sum(axis=0).mean())
    assert shares[0] < 0.2 < shares[1] < shares[2] and shares[2] > 0.8
