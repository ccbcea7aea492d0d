"""8-bit weights for the step engine's matrix products.

A generation step reads every weight once and is bound by how fast they stream
from memory, so reading a quarter of the bytes makes a step 2.2-2.6x faster
(docs/PERFORMANCE.md). onnxruntime's MatMulNBits kernel does them: each
column's weights in blocks of 32 rows, each block with its own scale and zero
point, and the input quantised per block on the fly (accuracy level 4). The gate
arithmetic stays in numpy, in predictor.py, for both engines.
"""

from __future__ import annotations

import numpy as np

from .errors import MusicgenError

BLOCK = 32
BITS = 8
_LEVELS = 2 ** BITS - 1
_COLUMNS_AT_ONCE = 256
_INT8_ACTIVATIONS = 4  # MatMulNBits' accuracy_level: int8 products, the fast path


def unavailable() -> str | None:
    """Why 8-bit inference cannot run here (then the float32 engine does), or None."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        return f"8-bit inference needs onnx and onnxruntime ({exc.name} is missing)"
    return None


def quantize(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(k, n) float32 -> MatMulNBits' packed weights (n, blocks, BLOCK) uint8, scales and
    zero points (n * blocks); k is padded with zeros to whole blocks."""
    k, n = weights.shape
    blocks = -(-k // BLOCK)
    q = np.empty((n, blocks, BLOCK), np.uint8)
    scale = np.empty((n, blocks), np.float32)
    zero = np.empty((n, blocks), np.uint8)
    # A few columns at a time: the float temporaries stay a few MB, not several times the weights.
    for start in range(0, n, _COLUMNS_AT_ONCE):
        cols = slice(start, min(start + _COLUMNS_AT_ONCE, n))
        padded = np.zeros((blocks * BLOCK, cols.stop - start), np.float32)
        padded[:k] = weights[:, cols]
        per_block = padded.T.reshape(-1, blocks, BLOCK)
        low = np.minimum(per_block.min(-1), 0.0)
        high = np.maximum(per_block.max(-1), 0.0)
        step = (high - low) / _LEVELS
        step[step == 0] = 1.0  # an all-zero block
        offset = np.clip(np.round(-low / step), 0, _LEVELS)
        levels = per_block / step[..., None]
        np.round(levels, out=levels)
        levels += offset[..., None]
        np.clip(levels, 0, _LEVELS, out=levels)
        q[cols] = levels
        scale[cols], zero[cols] = step, offset
    return q, scale.ravel(), zero.ravel()


class QuantizedMatrix:
    """x (batch, k) float32 -> x @ weights (batch, n), with the weights held in 8 bits."""

    def __init__(self, weights: np.ndarray):
        import onnx
        import onnxruntime as ort
        from onnx import TensorProto, helper, numpy_helper

        weights = np.asarray(weights, np.float32)
        k, n = weights.shape
        q, scale, zero = quantize(weights)
        node = helper.make_node("MatMulNBits", ["x", "q", "scale", "zero"], ["y"], domain="com.microsoft",
                                K=k, N=n, bits=BITS, block_size=BLOCK, accuracy_level=_INT8_ACTIVATIONS)
        graph = helper.make_graph(
            [node], "matmul",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", k])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", n])],
            [numpy_helper.from_array(q, "q"), numpy_helper.from_array(scale, "scale"),
             numpy_helper.from_array(zero, "zero")])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                        helper.make_opsetid("com.microsoft", 1)])
        options = ort.SessionOptions()
        # One thread, as the float32 engine's BLAS: the app shares two cores with Qt and audio.
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: nothing on stderr in normal use
        try:
            self._session = ort.InferenceSession(model.SerializeToString(), options,
                                                 providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own types, not exported stably
            raise MusicgenError(f"cannot set up 8-bit inference: {exc}") from exc
        self.shape = (k, n)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """x (..., k) -> (..., n)"""
        x = np.ascontiguousarray(x, np.float32)
        y = self._session.run(None, {"x": x.reshape(-1, self.shape[0])})[0]
        return y.reshape(x.shape[:-1] + (self.shape[1],))

    def into(self, x: np.ndarray, out: np.ndarray) -> None:
        out[...] = self._session.run(None, {"x": x})[0]
