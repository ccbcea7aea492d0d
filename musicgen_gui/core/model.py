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

    def __post_init__(self):
        if self.cell not in CELLS:
            raise ModelError(f"unknown cell {self.cell!r}; expected one of {', '.join(CELLS)}")
        if not self.units or any(not isinstance(u, int) or not 1 <= u <= 8192 for u in self.units):
            raise ModelError(f"units must be 1 to 8192 per layer, got {list(self.units)}")
        if not 0.0 <= self.input_noise <= 10.0:
            raise ModelError(f"input_noise must be within 0-10, got {self.input_noise}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["units"] = list(self.units)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Architecture":
        expected = {"cell", "units", "residual", "input_noise"}
        if not isinstance(d, dict) or set(d) != expected:
            raise ModelError(f"architecture must have exactly the keys {sorted(expected)}")
        units = d["units"]
        if not isinstance(units, list) or not all(isinstance(u, int) and not isinstance(u, bool) for u in units):
            raise ModelError("architecture units must be a list of integers")
        if not isinstance(d["residual"], bool):
            raise ModelError("architecture residual must be true or false")
        if not isinstance(d["input_noise"], (int, float)) or isinstance(d["input_noise"], bool):
            raise ModelError("architecture input_noise must be a number")
        return cls(cell=str(d["cell"]), units=tuple(units), residual=d["residual"],
                   input_noise=float(d["input_noise"]))

    def weight_shapes(self, n_bins: int) -> dict[str, tuple[int, ...]]:
        """Every weight array a bundle must hold, by name, with its exact shape."""
        gates = 4 if self.cell == "lstm" else 3
        shapes: dict[str, tuple[int, ...]] = {}
        n_in = n_bins
        for i, u in enumerate(self.units):
            shapes[f"rnn{i}/kernel"] = (n_in, gates * u)
            shapes[f"rnn{i}/recurrent_kernel"] = (u, gates * u)
            # Keras' GRU (reset_after=True) keeps separate input and recurrent biases.
            shapes[f"rnn{i}/bias"] = (gates * u,) if self.cell == "lstm" else (2, gates * u)
            n_in = u
        shapes["out/kernel"] = (n_in, n_bins)
        shapes["out/bias"] = (n_bins,)
        return shapes


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


def keras_weights_to_arrays(model, arch: Architecture) -> dict:
    arrays = {}
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
    model.get_layer("out").set_weights([arrays["out/kernel"], arrays["out/bias"]])
