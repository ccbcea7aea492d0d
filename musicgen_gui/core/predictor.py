"""The stateful step engine: the trained network run on numpy, one frame at a time.

``model.predict`` per frame costs tens of milliseconds in call overhead; these
few matrix products per layer cost well under one. The maths follows Keras 3's
LSTM and GRU (reset_after=True) cells exactly, so a bundle trained with Keras
generates the same frames here (tests hold this to 1e-4).

A step is bound by memory bandwidth: every weight is read once per frame (48 MB
for the 1500-unit preset). So the weights are used as the bundle holds them (no
stacked or reordered copy: that doubled the memory and cost 100 ms per session
start), and the gate arithmetic runs in place on buffers allocated per batch size.
"""

from __future__ import annotations

import numpy as np

from .bundle import ModelBundle


def _sigmoid_(x: np.ndarray) -> None:
    # In place; same function as 1/(1+exp(-x)), without overflow warnings for large |x|.
    x *= 0.5
    np.tanh(x, out=x)
    x += 1.0
    x *= 0.5


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
        np.matmul(x, self.kernel, out=z)
        np.matmul(state[0], self.recurrent, out=rec)
        z += rec
        z += self.bias
        return self._gates(z, state)

    def sequence(self, x, state):
        """x (batch, time, n_in) -> h for every step (batch, time, units)."""
        pre = x @ self.kernel + self.bias
        z = state[2]
        out = np.empty(x.shape[:2] + (self.units,), np.float32)
        for t in range(x.shape[1]):
            np.matmul(state[0], self.recurrent, out=z)
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
        np.matmul(h, self.recurrent, out=rec)
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
        np.matmul(x, self.kernel, out=x_proj)
        x_proj += self.input_bias
        return self._update(x_proj, state)

    def sequence(self, x, state):
        pre = x @ self.kernel + self.input_bias
        x_proj = state[1]
        out = np.empty(x.shape[:2] + (self.units,), np.float32)
        for t in range(x.shape[1]):
            x_proj[...] = pre[:, t]
            out[:, t] = self._update(x_proj, state)
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
        """frame (batch, bins) -> predicted next frame (batch, bins), a new array."""
        x = np.asarray(frame, np.float32)
        h = x
        for layer, state in zip(self.layers, self.states):
            h = layer.step(h, state)
        y = h @ self.out_kernel
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
        y = h @ self.out_kernel + self.out_bias
        return y + x if self.residual else y
