"""The stateful step engine: the trained network run on numpy, one frame at a time.

``model.predict`` per frame costs tens of milliseconds in call overhead; these
few matrix products per layer cost well under one. The maths follows Keras 3's
LSTM and GRU (reset_after=True) cells exactly, so a bundle trained with Keras
generates the same frames here (tests hold this to 1e-4).
"""

from __future__ import annotations

import numpy as np

from .bundle import ModelBundle


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # Same function as 1/(1+exp(-x)), without overflow warnings for large |x|.
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


class _LSTMLayer:
    def __init__(self, kernel, recurrent, bias):
        self.units = recurrent.shape[0]
        self.kernel, self.recurrent, self.bias = kernel, recurrent, bias
        # One product per step: [x, h] @ [W; U].
        self.stacked = np.ascontiguousarray(np.vstack([kernel, recurrent]))
        self.n_in = kernel.shape[0]

    def zero_state(self, batch):
        return [np.zeros((batch, self.units), np.float32), np.zeros((batch, self.units), np.float32)]

    def _gates(self, z, state):
        u = self.units
        h, c = state
        i = _sigmoid(z[:, :u])
        f = _sigmoid(z[:, u:2 * u])
        g = np.tanh(z[:, 2 * u:3 * u])
        o = _sigmoid(z[:, 3 * u:])
        c *= f
        c += i * g
        h[...] = o * np.tanh(c)
        return h

    def step(self, x, state):
        xh = np.concatenate([x, state[0]], axis=1)
        return self._gates(xh @ self.stacked + self.bias, state)

    def sequence(self, x, state):
        """x (batch, time, n_in) -> h for every step (batch, time, units)."""
        pre = x @ self.kernel + self.bias
        out = np.empty(x.shape[:2] + (self.units,), np.float32)
        for t in range(x.shape[1]):
            out[:, t] = self._gates(pre[:, t] + state[0] @ self.recurrent, state)
        return out


class _GRULayer:
    def __init__(self, kernel, recurrent, bias):
        self.units = recurrent.shape[0]
        self.kernel, self.recurrent = kernel, recurrent
        self.input_bias, self.recurrent_bias = bias[0], bias[1]
        self.n_in = kernel.shape[0]

    def zero_state(self, batch):
        return [np.zeros((batch, self.units), np.float32)]

    def _update(self, x_proj, state):
        u = self.units
        h = state[0]
        rec = h @ self.recurrent + self.recurrent_bias
        z = _sigmoid(x_proj[:, :u] + rec[:, :u])
        r = _sigmoid(x_proj[:, u:2 * u] + rec[:, u:2 * u])
        candidate = np.tanh(x_proj[:, 2 * u:] + r * rec[:, 2 * u:])
        h[...] = z * h + (1.0 - z) * candidate
        return h

    def step(self, x, state):
        return self._update(x @ self.kernel + self.input_bias, state)

    def sequence(self, x, state):
        pre = x @ self.kernel + self.input_bias
        out = np.empty(x.shape[:2] + (self.units,), np.float32)
        for t in range(x.shape[1]):
            out[:, t] = self._update(pre[:, t], state)
        return out


class FramePredictor:
    """Maps each normalised frame to the next one, carrying the recurrent state.

    ``batch`` > 1 runs independent candidates side by side at little extra cost.
    """

    def __init__(self, bundle: ModelBundle, batch: int = 1):
        w = bundle.weights
        layer_type = _LSTMLayer if bundle.architecture.cell == "lstm" else _GRULayer
        self.layers = [
            layer_type(w[f"rnn{i}/kernel"], w[f"rnn{i}/recurrent_kernel"], w[f"rnn{i}/bias"])
            for i in range(len(bundle.architecture.units))
        ]
        self.out_kernel, self.out_bias = w["out/kernel"], w["out/bias"]
        self.residual = bundle.architecture.residual
        self.reset(batch)

    def reset(self, batch: int | None = None) -> None:
        if batch is not None:
            self.batch = batch
        self.states = [layer.zero_state(self.batch) for layer in self.layers]

    def step(self, frame: np.ndarray) -> np.ndarray:
        """frame (batch, bins) -> predicted next frame (batch, bins)."""
        x = np.asarray(frame, np.float32)
        h = x
        for layer, state in zip(self.layers, self.states):
            h = layer.step(h, state)
        y = h @ self.out_kernel + self.out_bias
        return y + x if self.residual else y

    def run_sequence(self, frames: np.ndarray) -> np.ndarray:
        """Teacher-forced: frames (batch, time, bins) -> a prediction after each frame.

        Continues from (and updates) the current state; used to warm the state on
        a seed and to measure next-frame error.
        """
        x = np.asarray(frames, np.float32)
        h = x
        for layer, state in zip(self.layers, self.states):
            h = layer.sequence(h, state)
        y = h @ self.out_kernel + self.out_bias
        return y + x if self.residual else y
