"""Adapting a model to the seed: a copy learns the seed, the model file stays as it was."""

import hashlib

import numpy as np
import pytest
import soundfile as sf
from synth import SR, melody

from musicgen_gui.cli import main
from musicgen_gui.core.adapt import adapt_to_seed
from musicgen_gui.core.params import MAX_ADAPT_SECONDS
from musicgen_gui.core.bundle import load_bundle
from musicgen_gui.core.errors import MusicgenError
from musicgen_gui.core.features import log_power
from musicgen_gui.core.predictor import FramePredictor
from musicgen_gui.core.session import ContinuationParams, ContinuationSession

# Not the pattern the model was trained on: other notes, and notes not a whole
# number of hops long, so that onsets fall at every phase of the frames.
NEW_TUNE = melody((196.0, 246.94, 293.66, 392.0, 493.88), 7 * 512 + 171, repeats=10)


def teacher_forced_mse(bundle, samples):
    """Next-frame error over consecutive windows as long as the training windows."""
    frames = bundle.normaliser.normalise(log_power(samples, bundle.features))
    length = bundle.training.sequence_length
    windows = np.stack([frames[s:s + length + 1] for s in range(0, len(frames) - length, length)])
    predicted = FramePredictor(bundle, batch=len(windows)).run_sequence(windows[:, :-1])
    return float(np.mean((predicted[:, 5:] - windows[:, 6:]) ** 2))


@pytest.mark.slow
def test_adapting_learns_the_seed_and_leaves_the_original_untouched(trained_model):
    bundle = load_bundle(trained_model)
    before = {k: w.copy() for k, w in bundle.weights.items()}
    seed, later = NEW_TUNE[:4 * SR], NEW_TUNE[4 * SR:]
    steps = iter(range(41))  # 40 steps, however fast the machine: stopped by count, not by the clock
    result = adapt_to_seed(bundle, log_power(seed, bundle.features), seconds=MAX_ADAPT_SECONDS, rng_seed=0,
                           should_stop=lambda: next(steps) == 40)
    assert result.steps == 40
    assert result.last_loss < 0.8 * result.first_loss
    # What it learnt carries over to the rest of the tune, which it never saw.
    assert teacher_forced_mse(result.bundle, later) < 0.8 * teacher_forced_mse(bundle, later)
    assert all(np.array_equal(bundle.weights[k], before[k]) for k in before)
    assert result.bundle.provenance["adapted_to_seed"]["steps"] == result.steps


@pytest.mark.slow
def test_cancelling_stops_adapting_and_nothing_is_generated(trained_model):
    session = ContinuationSession(load_bundle(trained_model), NEW_TUNE[:3 * SR],
                                  ContinuationParams(seconds=2.0, adapt_seconds=30.0))
    session.cancel()
    assert list(session.blocks()) == []
    assert session.adaptation.steps == 0


def test_adapt_length_is_bounded():
    with pytest.raises(MusicgenError, match="between 0 and 60 seconds"):
        ContinuationSession(load_bundle("piano"), NEW_TUNE, ContinuationParams(adapt_seconds=61.0))


@pytest.mark.slow
def test_continue_with_adapt_writes_the_length_and_keeps_the_model_file(trained_model, tmp_path, capsys):
    seed = tmp_path / "seed.wav"
    sf.write(seed, NEW_TUNE[:3 * SR], SR)
    digest = hashlib.sha256(trained_model.read_bytes()).hexdigest()
    out = tmp_path / "out.wav"
    assert main(["continue", str(seed), "-o", str(out), "--model", str(trained_model), "--seconds", "2",
                 "--adapt", "6", "--rng-seed", "1"]) == 0
    assert sf.info(out).frames == 2 * SR
    assert "adapted:" in capsys.readouterr().err
    assert hashlib.sha256(trained_model.read_bytes()).hexdigest() == digest
