"""Model architecture and training presets, and the Keras builder used by training.

The architecture is plain data (``Architecture``) so that inference can run on
numpy alone; Keras is imported only by ``build_keras_model``.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, replace

from .errors import ModelError
from .features import FeatureConfig

CELLS = ("lstm", "gru")
OPTIMIZERS = ("adadelta", "adam")


@dataclass(frozen=True)
class Architecture:
    cell: str = "lstm"
    units: tuple[int, ...] = (512, 512)
    # Output = input + Dense(h): the net predicts the change from the last frame.
    residual: bool = True
    # Std of Gaussian noise added to the (normalised) input frames during training
    # only: the net learns to predict the clean next frame from a corrupted past,
    # which is what it sees when it feeds on its own predictions.
    input_noise: float = 0.3
    # Seed-conditioned (conditioning.py): the net also sees a summary of the seed and this many
    # candidate frames from the seed memory, and a learned gate takes from each, per band.
    # 0: the plain frame predictor.
    candidates: int = 0
    gate_bands: int = 32
    summary_units: int = 64

    def __post_init__(self):
        if self.cell not in CELLS:
            raise ModelError(f"unknown cell {self.cell!r}; expected one of {', '.join(CELLS)}")
        if not self.units or any(not isinstance(u, int) or not 1 <= u <= 8192 for u in self.units):
            raise ModelError(f"units must be 1 to 8192 per layer, got {list(self.units)}")
        if not 0.0 <= self.input_noise <= 10.0:
            raise ModelError(f"input_noise must be within 0-10, got {self.input_noise}")
        if not (0 <= self.candidates <= 16 and 1 <= self.gate_bands <= 128 and 1 <= self.summary_units <= 1024):
            raise ModelError("candidates must be 0-16, gate_bands 1-128 and summary_units 1-1024")
        if self.candidates and len(self.units) != 1:
            raise ModelError("a seed-conditioned model has one recurrent layer")

    @property
    def conditioned(self) -> bool:
        return self.candidates > 0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["units"] = list(self.units)
        if not self.conditioned:  # as files from before conditioning were written
            for key in _CONDITIONING_KEYS:
                del d[key]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Architecture":
        expected = {"cell", "units", "residual", "input_noise"}
        if not isinstance(d, dict) or not expected <= set(d) <= expected | set(_CONDITIONING_KEYS):
            raise ModelError(f"architecture must have the keys {sorted(expected)}, and may have "
                             f"{', '.join(_CONDITIONING_KEYS)}")
        extra = {k: d[k] for k in _CONDITIONING_KEYS if k in d}
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in extra.values()):
            raise ModelError(f"architecture {', '.join(_CONDITIONING_KEYS)} must be integers")
        units = d["units"]
        if not isinstance(units, list) or not all(isinstance(u, int) and not isinstance(u, bool) for u in units):
            raise ModelError("architecture units must be a list of integers")
        if not isinstance(d["residual"], bool):
            raise ModelError("architecture residual must be true or false")
        if not isinstance(d["input_noise"], (int, float)) or isinstance(d["input_noise"], bool):
            raise ModelError("architecture input_noise must be a number")
        return cls(cell=str(d["cell"]), units=tuple(units), residual=d["residual"],
                   input_noise=float(d["input_noise"]), **extra)

    def weight_shapes(self, n_bins: int) -> dict[str, tuple[int, ...]]:
        """Every weight array a bundle must hold, by name, with its exact shape."""
        gates = 4 if self.cell == "lstm" else 3
        shapes: dict[str, tuple[int, ...]] = {}
        n_in = n_bins
        if self.conditioned:
            shapes["enc/kernel"] = (2 * n_bins, self.summary_units)
            shapes["enc/bias"] = (self.summary_units,)
            n_in = self.conditioned_inputs(n_bins)
        for i, u in enumerate(self.units):
            shapes[f"rnn{i}/kernel"] = (n_in, gates * u)
            shapes[f"rnn{i}/recurrent_kernel"] = (u, gates * u)
            # Keras' GRU (reset_after=True) keeps separate input and recurrent biases.
            shapes[f"rnn{i}/bias"] = (gates * u,) if self.cell == "lstm" else (2, gates * u)
            n_in = u
        shapes["out/kernel"] = (n_in, n_bins)
        shapes["out/bias"] = (n_bins,)
        if self.conditioned:
            shapes["gate/kernel"] = (n_in, (self.candidates + 1) * self.gate_bands)
            shapes["gate/bias"] = ((self.candidates + 1) * self.gate_bands,)
        return shapes

    def conditioned_inputs(self, n_bins: int) -> int:
        """The recurrent layer's input: the frame, each candidate's difference from it in gate
        bands, each candidate's match distance, whether candidates are offered, the seed's code."""
        k = self.candidates
        return n_bins + k * self.gate_bands + k + 1 + self.summary_units


_CONDITIONING_KEYS = ("candidates", "gate_bands", "summary_units")


@dataclass(frozen=True)
class TrainingConfig:
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    clipnorm: float | None = 1.0
    sequence_length: int = 50  # truncated BPTT length, in frames
    batch_size: int = 32
    validation_fraction: float = 0.1

    def __post_init__(self):
        if self.optimizer not in OPTIMIZERS:
            raise ModelError(f"unknown optimizer {self.optimizer!r}")
        if self.sequence_length < 2 or self.batch_size < 1:
            raise ModelError("sequence_length must be >= 2 and batch_size >= 1")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainingConfig":
        try:
            return cls(**d)
        except TypeError as exc:
            raise ModelError(f"invalid training settings: {exc}") from None


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    features: FeatureConfig = field(default_factory=FeatureConfig)
    architecture: Architecture = field(default_factory=Architecture)
    training: TrainingConfig = field(default_factory=TrainingConfig)


PRESETS: dict[str, Preset] = {
    # The 2017 report exactly: 512 log-power bins (n_fft 1024 -> 513 bins, Nyquist
    # dropped), hop 512, one LSTM layer of 1500 units, BPTT 50, AdaDelta
    # (Keras-2 default learning rate 1.0), MSE, no tricks against error build-up.
    "seed-2017": Preset(
        "seed-2017",
        "The 2017 report: 1 x LSTM-1500, AdaDelta, MSE, BPTT 50",
        architecture=Architecture(cell="lstm", units=(1500,), residual=False, input_noise=0.0),
        training=TrainingConfig(optimizer="adadelta", learning_rate=1.0, clipnorm=None,
                                sequence_length=50, batch_size=32),
    ),
    # Two smaller layers cost a third of the 1500-unit step, predict the change
    # from the last frame, and train on noise-corrupted inputs against build-up.
    "default": Preset(
        "default",
        "2 x LSTM-512, residual output, input-noise augmentation, Adam",
        architecture=Architecture(cell="lstm", units=(512, 512), residual=True, input_noise=0.3),
        training=TrainingConfig(optimizer="adam", learning_rate=1e-3, clipnorm=1.0,
                                sequence_length=50, batch_size=32),
    ),
    # One LSTM-512 told what the seed is and what its memory offers, with a learned gate
    # over the net's own frame and the memory's candidates (conditioning.py).
    "seed-conditioned": Preset(
        "seed-conditioned",
        "1 x LSTM-512 that sees the seed's summary and its memory's candidates, with a learned gate",
        architecture=Architecture(cell="lstm", units=(512,), residual=True, input_noise=0.3, candidates=4),
        training=TrainingConfig(optimizer="adam", learning_rate=1e-3, clipnorm=1.0,
                                sequence_length=50, batch_size=32),
    ),
}


def get_preset(name: str, **overrides) -> Preset:
    """A preset by name, with optional architecture overrides (e.g. cell='gru')."""
    if name not in PRESETS:
        raise ModelError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    preset = PRESETS[name]
    arch_fields = {k: v for k, v in overrides.items() if v is not None}
    if arch_fields:
        preset = replace(preset, architecture=replace(preset.architecture, **arch_fields))
    return preset


def import_keras():
    """Keras on TensorFlow, quietly: imported only where training happens."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    return keras


def build_keras_model(arch: Architecture, n_bins: int):
    """The training graph: frames (batch, time, bins) -> next frames, same shape.

    Only built-in layers: no Lambda, nothing that needs custom deserialisation.
    """
    keras = import_keras()

    inputs = keras.Input(shape=(None, n_bins), name="frames")
    x = inputs
    if arch.input_noise > 0:
        x = keras.layers.GaussianNoise(arch.input_noise, name="input_noise")(x)
    corrupted = x
    layer = keras.layers.LSTM if arch.cell == "lstm" else keras.layers.GRU
    for i, units in enumerate(arch.units):
        x = layer(units, return_sequences=True, name=f"rnn{i}")(x)
    x = keras.layers.Dense(n_bins, name="out")(x)
    if arch.residual:
        # Residual from the corrupted input, so the net learns to undo the noise.
        x = keras.layers.Add(name="residual")([corrupted, x])
    return keras.Model(inputs, x, name="frame_predictor")


def build_conditioned_keras_model(arch: Architecture, pool, expand):
    """The seed-conditioned training graph (conditioning.py), as predictor.ConditionedPredictor runs it.

    Inputs: frames (batch, time, bins); candidates (batch, time, k, bins); distances (batch,
    time, k); offered (batch, time, 1), 1 where the memory offers candidates; summary (batch,
    2 bins). Outputs: the gated frame, and the net's own frame (trained too, so that the net
    alone predicts). ``pool``/``expand``: conditioning.gate_pooling's matrices.
    """
    keras = import_keras()
    from keras import ops

    n_bins, k = pool.shape[0], arch.candidates
    frames = keras.Input(shape=(None, n_bins), name="frames")
    candidates = keras.Input(shape=(None, k, n_bins), name="candidates")
    distances = keras.Input(shape=(None, k), name="distances")
    offered = keras.Input(shape=(None, 1), name="offered")
    summary = keras.Input(shape=(2 * n_bins,), name="summary")

    class Inputs(keras.layers.Layer):
        """The recurrent layer's input, as Architecture.conditioned_inputs lists it."""

        def call(self, x, candidates, distances, offered, code):
            difference = ops.matmul(candidates - x[:, :, None, :], pool) * offered[..., None]
            shape = ops.shape(difference)
            difference = ops.reshape(difference, (shape[0], shape[1], -1))
            code = ops.broadcast_to(code[:, None, :], (shape[0], shape[1], ops.shape(code)[-1]))
            return ops.concatenate([x, difference, distances * offered, offered, code], axis=-1)

        def compute_output_shape(self, x_shape, candidates_shape, distances_shape, offered_shape, code_shape):
            return (*x_shape[:2], arch.conditioned_inputs(n_bins))

    class Gate(keras.layers.Layer):
        """Per gate band, a softmax over the net's frame and the candidates; no candidate where
        none is offered."""

        def call(self, logits, own, candidates, offered):
            shape = ops.shape(logits)
            logits = ops.reshape(logits, (shape[0], shape[1], k + 1, -1))
            closed = ops.concatenate([ops.zeros_like(offered), (offered - 1.0) * ops.ones((1, 1, k))], axis=-1)
            weights = ops.softmax(logits + 1e4 * closed[..., None], axis=2)
            weights = ops.matmul(weights, expand)  # bands -> bins
            sources = ops.concatenate([own[:, :, None, :], candidates], axis=2)
            return ops.sum(weights * sources, axis=2)

        def compute_output_shape(self, logits_shape, own_shape, candidates_shape, offered_shape):
            return own_shape

    x = keras.layers.GaussianNoise(arch.input_noise, name="input_noise")(frames) if arch.input_noise else frames
    code = keras.layers.Dense(arch.summary_units, activation="tanh", name="enc")(summary)
    h = Inputs(name="inputs")(x, candidates, distances, offered, code)
    layer = keras.layers.LSTM if arch.cell == "lstm" else keras.layers.GRU
    h = layer(arch.units[0], return_sequences=True, name="rnn0")(h)
    own = keras.layers.Add(name="own")([x, keras.layers.Dense(n_bins, name="out")(h)])
    logits = keras.layers.Dense((k + 1) * arch.gate_bands, name="gate")(h)
    mixed = Gate(name="mixed")(logits, own, candidates, offered)
    return keras.Model([frames, candidates, distances, offered, summary], [mixed, own], name="seed_conditioned")


def keras_weights_to_arrays(model, arch: Architecture) -> dict:
    arrays = {}
    for name in ("enc", "gate") if arch.conditioned else ():
        kernel, bias = model.get_layer(name).get_weights()
        arrays.update({f"{name}/kernel": kernel, f"{name}/bias": bias})
    for i in range(len(arch.units)):
        kernel, recurrent, bias = model.get_layer(f"rnn{i}").get_weights()
        arrays.update({f"rnn{i}/kernel": kernel, f"rnn{i}/recurrent_kernel": recurrent, f"rnn{i}/bias": bias})
    kernel, bias = model.get_layer("out").get_weights()
    arrays.update({"out/kernel": kernel, "out/bias": bias})
    return arrays


def arrays_to_keras_weights(model, arch: Architecture, arrays: dict) -> None:
    for i in range(len(arch.units)):
        model.get_layer(f"rnn{i}").set_weights(
            [arrays[f"rnn{i}/kernel"], arrays[f"rnn{i}/recurrent_kernel"], arrays[f"rnn{i}/bias"]])
    for name in ("out", "enc", "gate") if arch.conditioned else ("out",):
        model.get_layer(name).set_weights([arrays[f"{name}/kernel"], arrays[f"{name}/bias"]])
