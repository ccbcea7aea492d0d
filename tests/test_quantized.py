"""8-bit inference: the weights' round trip, the products, and what it does to predictions and audio."""

import gc
import subprocess
import sys
import weakref

import numpy as np
import pytest
from synth import SR, chord, drum_loop, melody
from testmodels import PATTERN_FREQS, PATTERN_NOTE_SAMPLES, random_bundle

from musicgen_gui.core.bundle import load_bundle
from musicgen_gui.core.features import log_power
from musicgen_gui.core.model import Architecture
from musicgen_gui.core.predictor import FramePredictor
from musicgen_gui.core.quantized import BLOCK, QuantizedMatrix, unavailable
from musicgen_gui.core.session import ContinuationParams, ContinuationSession

pytestmark = pytest.mark.skipif(unavailable() is not None, reason=str(unavailable()))


def test_each_weight_comes_back_within_half_a_step_of_its_block():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((70, 9)).astype(np.float32)  # 70 rows: the last block is padded
    w[:BLOCK, 0] = 0.0  # an all-zero block
    w[:, 1] = np.abs(w[:, 1]) + 1.0  # all positive: zero must stay in the range
    # Each unit vector's product is one row of the weights as the 8-bit matrix holds them.
    back = QuantizedMatrix(w)(np.eye(70, dtype=np.float32))
    assert back.shape == w.shape
    # Each column's blocks of 32 rows span their range and zero in 255 steps.
    padded = np.zeros((3 * BLOCK, 9), np.float32)
    padded[:70] = w
    blocks = padded.reshape(3, BLOCK, 9)
    step = (np.maximum(blocks.max(1), 0) - np.minimum(blocks.min(1), 0)) / 255
    step = np.repeat(step, BLOCK, axis=0)[:70]
    assert np.all(np.abs(back - w) <= step / 2 + 1e-5)
    assert np.all(back[:BLOCK, 0] == 0.0)
    assert np.abs(back - w).max() < 0.02 * np.abs(w).max()
    assert not np.array_equal(back, w)  # 8 bits, not the float32 weights


def test_products_are_within_a_percent_and_keep_leading_dimensions():
    rng = np.random.default_rng(1)
    w = (rng.standard_normal((300, 200)) * 0.05).astype(np.float32)
    matrix = QuantizedMatrix(w)
    x = rng.standard_normal((2, 5, 300)).astype(np.float32)
    y = matrix(x)
    assert y.shape == (2, 5, 200)
    exact = x @ w
    assert np.abs(y - exact).max() < 0.01 * np.abs(exact).max()
    out = np.empty((1, 200), np.float32)
    matrix.into(x[0, :1], out)
    assert np.allclose(out, y[0, :1])


@pytest.mark.slow
def test_a_trained_model_predicts_as_well_on_8_bit_weights(trained_model):
    bundle = load_bundle(trained_model)
    audio = melody(PATTERN_FREQS, PATTERN_NOTE_SAMPLES, repeats=3)
    frames = bundle.normaliser.normalise(log_power(audio, bundle.features))[None]
    target = frames[:, 1:]
    full = FramePredictor(bundle).run_sequence(frames[:, :-1])
    small = FramePredictor(bundle, int8=True).run_sequence(frames[:, :-1])
    mse_full, mse_small = ((full - target) ** 2).mean(), ((small - target) ** 2).mean()
    persistence = ((frames[:, :-1] - target) ** 2).mean()
    assert mse_full < 0.5 * persistence  # the model learned the pattern
    assert abs(mse_small / mse_full - 1) < 0.02
    # The difference is far below the noise generation feeds back at temperature 0.5.
    assert np.sqrt(((full - small) ** 2).mean()) < 0.1 * 0.5 * bundle.residual_std.mean()


def test_a_session_runs_on_8_bit_weights_unless_asked_for_float32():
    bundle = random_bundle(Architecture(cell="lstm", units=(96,), residual=True, input_noise=0.0))
    seed = chord(seconds=2.0) + drum_loop(2.0)
    frames, lengths = {}, {}
    for int8 in (True, False):
        session = ContinuationSession(bundle, seed, ContinuationParams(1.0, 0.5, 3, int8=int8))
        blocks = list(session.blocks())
        assert session.int8 == int8  # what ran
        frames[int8] = np.concatenate([b.frames for b in blocks])
        lengths[int8] = sum(len(b.samples) for b in blocks)
    assert lengths[True] == lengths[False] == SR
    # The same start: over the first half second the two engines' frames differ far less
    # than the music moves from one frame to the next. Later the feedback lets them part.
    first = slice(0, 20)
    difference = np.sqrt(((frames[True][first] - frames[False][first]) ** 2).mean())
    movement = np.sqrt((np.diff(frames[False][first], axis=0) ** 2).mean())
    assert difference < 0.25 * movement
    assert not np.array_equal(frames[True], frames[False])


def test_a_bundles_8_bit_weights_are_made_once_and_dropped_with_it():
    bundle = random_bundle(Architecture(cell="gru", units=(32,), residual=False, input_noise=0.0))
    first, second = FramePredictor(bundle, int8=True), FramePredictor(bundle, int8=True)
    matrix = first.layers[0].recurrent
    assert isinstance(matrix, QuantizedMatrix) and second.layers[0].recurrent is matrix
    other = FramePredictor(random_bundle(Architecture(cell="gru", units=(32,), residual=False, input_noise=0.0)),
                           int8=True)
    assert other.layers[0].recurrent is not matrix
    held = weakref.ref(matrix)
    del bundle, first, second, matrix
    gc.collect()
    assert held() is None


@pytest.mark.slow
def test_without_onnxruntime_a_session_generates_in_float32(tiny_bundle_path):
    code = f"""
import sys
sys.modules["onnxruntime"] = None  # as on a machine without it: any import fails
import numpy as np
from musicgen_gui.core import quantized
from musicgen_gui.core.bundle import load_bundle
from musicgen_gui.core.session import ContinuationParams, ContinuationSession
session = ContinuationSession(load_bundle({str(tiny_bundle_path)!r}),
                              np.sin(np.arange(22050) * 0.1).astype(np.float32), ContinuationParams(0.5))
audio = session.render()
print(len(audio), session.int8, quantized.unavailable())
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    length, int8, why = run.stdout.strip().split(" ", 2)
    assert (length, int8) == ("11025", "False")
    assert why == "8-bit inference needs onnx and onnxruntime (onnxruntime is missing)"
