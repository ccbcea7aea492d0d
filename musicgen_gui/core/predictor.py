"""The stateful step engine: the trained network run on numpy, one frame at a time.

``model.predict`` per frame costs tens of milliseconds in call overhead; these
few matrix products per layer cost well under one. The maths follows Keras 3's
LSTM and GRU (reset_after=True) cells exactly, so a bundle trained with Keras
generates the same frames here (tests hold this to 1e-4).

A step is bound by memory bandwidth: every weight is read once per frame (48 MB
for the 1500-unit preset). So the weights are used as the bundle holds them (no
stacked or reordered copy: that doubled the memory and cost 100 ms per session
start), and the gate arithmetic runs in place on buffers allocated per batch size.
With ``int8=True`` the products read 8-bit copies of the weights instead
(quantized.py): about a quarter of the bytes, within about 1 % of float32.
"""

from __future__ import annotations

import weakref

import numpy as np

from . import quantized
from .bundle import ModelBundle
from .conditioning import gate_pooling

# Teacher-forced error is read after this many frames of each window (its state starts from zero, as in training).
WARMUP_FRAMES = 10


def _sigmoid_(x: np.ndarray) -> None:
    # In place; same function as 1/(1+exp(-x)), without overflow warnings for large |x|.
    x *= 0.5
    np.tanh(x, out=x)
    x += 1.0
    x *= 0.5


class _Float32Matrix:
    """The weights as the bundle holds them, multiplied by numpy's BLAS."""

    def __init__(self, weights: np.ndarray):
        self.weights = weights
        self.shape = weights.shape

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return x @ self.weights

    def into(self, x: np.ndarray, out: np.ndarray) -> None:
        np.matmul(x, self.weights, out=out)


# Quantizing the 1500-unit preset takes about 0.1 s, so each bundle's 8-bit
# weights are made once, and dropped with the bundle.
_int8_matrices: dict[int, dict[str, object]] = {}


def _int8_weights(bundle: ModelBundle) -> dict[str, object]:
    key = id(bundle)
    if key not in _int8_matrices:
        _int8_matrices[key] = {name: quantized.QuantizedMatrix(w) for name, w in bundle.weights.items()
                               if w.ndim == 2}
        weakref.finalize(bundle, _int8_matrices.pop, key, None)
    return _int8_matrices[key]


class _LSTMLayer:
    def __init__(self, kernel, recurrent, bias):
        self.units = recurrent.shape[0]
        self.kernel, self.recurrent, self.bias = kernel, recurrent, bias

    def zero_state(self, batch):
        """h and c, then two scratch buffers for the gates' pre-activations."""
        u = self.units
        return [np.zeros((batch, u), np.float32), np.zeros((batch, u), np.float32),
                np.empty((batch, 4 * u), np.float32), np.empty((batch, 4 * u), np.float32)]

    def _gates(self, z, state):
        """z: the pre-activations (overwritten); updates h and c in place and returns h."""
        u = self.units
        h, c = state[0], state[1]
        _sigmoid_(z[:, :2 * u])  # input and forget gates
        _sigmoid_(z[:, 3 * u:])  # output gate
        g = z[:, 2 * u:3 * u]
        np.tanh(g, out=g)
        c *= z[:, u:2 * u]
        g *= z[:, :u]
        c += g
        np.tanh(c, out=h)
        h *= z[:, 3 * u:]
        return h

    def step(self, x, state):
        z, rec = state[2], state[3]
        self.kernel.into(x, z)
        self.recurrent.into(state[0], rec)
        z += rec
        z += self.bias
        return self._gates(z, state)

    def sequence(self, x, state):
        """x (batch, time, n_in) -> h for every step (batch, time, units)."""
        pre = self.kernel(x) + self.bias
        z = state[2]
        out = np.empty(x.shape[:2] + (self.units,), np.float32)
        for t in range(x.shape[1]):
            self.recurrent.into(state[0], z)
            z += pre[:, t]
            out[:, t] = self._gates(z, state)
        return out


class _GRULayer:
    def __init__(self, kernel, recurrent, bias):
        self.units = recurrent.shape[0]
        self.kernel, self.recurrent = kernel, recurrent
        self.input_bias, self.recurrent_bias = bias[0], bias[1]

    def zero_state(self, batch):
        """h, then scratch buffers for the input and the recurrent projections."""
        u = self.units
        return [np.zeros((batch, u), np.float32), np.empty((batch, 3 * u), np.float32),
                np.empty((batch, 3 * u), np.float32)]

    def _update(self, x_proj, state):
        """x_proj: the input projection with its bias (overwritten); updates h in place."""
        u = self.units
        h, rec = state[0], state[2]
        self.recurrent.into(h, rec)
        rec += self.recurrent_bias
        gates = x_proj[:, :2 * u]  # update (z) and reset (r) gates
        gates += rec[:, :2 * u]
        _sigmoid_(gates)
        candidate = x_proj[:, 2 * u:]
        rec_c = rec[:, 2 * u:]
        rec_c *= x_proj[:, u:2 * u]
        candidate += rec_c
        np.tanh(candidate, out=candidate)
        z = x_proj[:, :u]
        # h = z*h + (1-z)*candidate
        h *= z
        np.subtract(1.0, z, out=z)
        z *= candidate
        h += z
        return h

    def step(self, x, state):
        x_proj = state[1]
        self.kernel.into(x, x_proj)
        x_proj += self.input_bias
        return self._update(x_proj, state)

    def sequence(self, x, state):
        pre = self.kernel(x) + self.input_bias
        x_proj = state[1]
        out = np.empty(x.shape[:2] + (self.units,), np.float32)
        for t in range(x.shape[1]):
            x_proj[...] = pre[:, t]
            out[:, t] = self._update(x_proj, state)
        return out


class FramePredictor:
    """Maps each normalised frame to the next one, carrying the recurrent state.

    ``batch`` > 1 runs independent candidates side by side at little extra cost.
    ``int8``: the products on 8-bit weights (quantized.py), where onnxruntime is
    installed; ``self.int8`` says whether they are.
    """

    def __init__(self, bundle: ModelBundle, batch: int = 1, int8: bool = False):
        w = bundle.weights
        # Imports onnx and onnxruntime the first time (0.2 s): make predictors off the GUI thread.
        self.int8 = int8 and quantized.unavailable() is None
        matrices = _int8_weights(bundle) if self.int8 else {k: _Float32Matrix(v) for k, v in w.items() if v.ndim == 2}
        layer_type = _LSTMLayer if bundle.architecture.cell == "lstm" else _GRULayer
        self.layers = [
            layer_type(matrices[f"rnn{i}/kernel"], matrices[f"rnn{i}/recurrent_kernel"], w[f"rnn{i}/bias"])
            for i in range(len(bundle.architecture.units))
        ]
        self.out_kernel, self.out_bias = matrices["out/kernel"], w["out/bias"]
        self.residual = bundle.architecture.residual
        self.reset(batch)

    def reset(self, batch: int | None = None) -> None:
        if batch is not None:
            self.batch = batch
        self.states = [layer.zero_state(self.batch) for layer in self.layers]

    def step(self, frame: np.ndarray) -> np.ndarray:
        """frame (batch, bins) -> predicted next frame (batch, bins), a new array."""
        x = np.asarray(frame, np.float32)
        h = x
        for layer, state in zip(self.layers, self.states):
            h = layer.step(h, state)
        y = self.out_kernel(h)
        y += self.out_bias
        if self.residual:
            y += x
        return y

    def run_sequence(self, frames: np.ndarray) -> np.ndarray:
        """Teacher-forced: frames (batch, time, bins) -> a prediction after each frame.

        Continues from (and updates) the current state; used to warm the state on
        a seed and to measure next-frame error.
        """
        x = np.asarray(frames, np.float32)
        h = x
        for layer, state in zip(self.layers, self.states):
            h = layer.sequence(h, state)
        y = self.out_kernel(h) + self.out_bias
        return y + x if self.residual else y


def teacher_forced_squares(predictor: FramePredictor, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Windows (batch, length + 1, bins), each run from a zero state: per window, the mean
    squared error of the net's next-frame predictions and of persistence (repeating the
    last true frame), after WARMUP_FRAMES. Leaves the predictor's batch at len(windows)."""
    predictor.reset(len(windows))
    predicted = predictor.run_sequence(windows[:, :-1])
    target = windows[:, 1:]
    return (((predicted - target)[:, WARMUP_FRAMES:] ** 2).mean(axis=(1, 2)),
            ((windows[:, :-1] - target)[:, WARMUP_FRAMES:] ** 2).mean(axis=(1, 2)))


class ConditionedPredictor:
    """A seed-conditioned model (conditioning.py) run one frame at a time, as
    model.build_conditioned_keras_model computes it.

    summary: conditioning.seed_summary of the seed, encoded once here.
    """

    def __init__(self, bundle: ModelBundle, summary: np.ndarray, int8: bool = False):
        arch, w = bundle.architecture, bundle.weights
        self.int8 = int8 and quantized.unavailable() is None
        matrices = _int8_weights(bundle) if self.int8 else {k: _Float32Matrix(v) for k, v in w.items() if v.ndim == 2}
        layer_type = _LSTMLayer if arch.cell == "lstm" else _GRULayer
        self.layer = layer_type(matrices["rnn0/kernel"], matrices["rnn0/recurrent_kernel"], w["rnn0/bias"])
        self.out_kernel, self.out_bias = matrices["out/kernel"], w["out/bias"]
        self.gate_kernel, self.gate_bias = matrices["gate/kernel"], w["gate/bias"]
        self.k, self.bands = arch.candidates, arch.gate_bands
        self.pool, self.expand = gate_pooling(bundle.features, arch.gate_bands)
        self.code = np.tanh(np.asarray(summary, np.float32) @ w["enc/kernel"] + w["enc/bias"]).astype(np.float32)
        self._input = np.zeros((1, arch.conditioned_inputs(bundle.features.n_bins)), np.float32)
        self.reset()

    def reset(self) -> None:
        self.state = self.layer.zero_state(1)

    def step(self, frame: np.ndarray, candidates: np.ndarray | None, distances: np.ndarray | None,
             bias: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """frame (bins,) fed; candidates (k, bins) and their distances (k,), or None where the memory
        offers none; bias: added to the candidates' gate logits (Follow).

        Returns the gated frame and the net's own frame (bins,), and the gate's weights
        ((k + 1) x gate bands, the net's own first)."""
        x = np.asarray(frame, np.float32)
        n, k = len(x), self.k
        v = self._input[0]
        v[:n] = x
        offered = candidates is not None
        if offered:
            v[n:n + k * self.bands] = ((candidates - x) @ self.pool).reshape(-1)
            v[n + k * self.bands:n + k * self.bands + k] = distances
        else:
            v[n:n + k * self.bands + k] = 0.0
        v[n + k * self.bands + k] = float(offered)
        v[n + k * self.bands + k + 1:] = self.code
        h = self.layer.step(self._input, self.state)
        own = (self.out_kernel(h) + self.out_bias)[0] + x
        logits = (self.gate_kernel(h) + self.gate_bias)[0].reshape(k + 1, self.bands)
        if not offered:
            return own, own, np.eye(k + 1, 1).repeat(self.bands, axis=1).astype(np.float32)
        logits[1:] += bias
        logits -= logits.max(axis=0, keepdims=True)
        weights = np.exp(logits)
        weights /= weights.sum(axis=0, keepdims=True)
        per_bin = weights @ self.expand
        mixed = per_bin[0] * own + (per_bin[1:] * candidates).sum(axis=0)
        return mixed.astype(np.float32), own, weights
