"""Model bundles: one ``.musicgen`` file that holds everything inference needs.

The file is a zip archive with ``config.json`` and one ``.npy`` array per weight.
Loading never unpickles (``allow_pickle=False``), runs no code from the file, and
checks every field and every weight shape; any mismatch is a ModelError that
says what is wrong.
"""

from __future__ import annotations

import io
import json
import math
import os
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ModelError
from .features import FeatureConfig, Normaliser
from .fileio import atomic_file
from .model import Architecture, TrainingConfig

FORMAT = "musicgen-model"
FORMAT_VERSION = 1
MAX_SHAPE_BOOST = 4.0
EXTENSION = ".musicgen"
DEFAULT_MODEL = "piano"
_MAX_ARCHIVE_BYTES = 512 * 1024 * 1024  # no bundle is this big; refuses zip bombs
_MAX_MEMBERS = 256


def resources_dir() -> Path:
    """The repository's ``resources/``, or its copy inside the frozen app."""
    return Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parents[2])) / "resources"


def models_dir() -> Path:
    """Where bundled models live: $MUSICGEN_MODELS_DIR, the frozen app, or the repo."""
    if os.environ.get("MUSICGEN_MODELS_DIR"):
        return Path(os.environ["MUSICGEN_MODELS_DIR"])
    return resources_dir() / "models"


@dataclass
class ModelBundle:
    name: str
    features: FeatureConfig
    architecture: Architecture
    normaliser: Normaliser
    # Per-bin std of the teacher-forced prediction error, in normalised units:
    # the scale of the sampling noise at temperature 1.
    residual_std: np.ndarray
    # Per-bin range of normalised training frames; generation clips to it.
    frame_min: np.ndarray
    frame_max: np.ndarray
    weights: dict[str, np.ndarray]
    training: TrainingConfig = field(default_factory=TrainingConfig)
    provenance: dict = field(default_factory=dict)
    preset: str = "default"
    # Generation settings chosen on validation (they help some genres and ruin
    # others): measure the level as mean power rather than mean dB (session.LevelAnchor).
    level_mean_power: bool = False
    # The seed memory's share of the broad spectral shape, as a multiple of its
    # share of each bin (memory.SeedMemory): above 1 pulls a net that drifts to its
    # own instrument's timbre back to the seed's.
    memory_shape_boost: float = 1.0
    # Whether what is heard gets the seed's attacks back (session.SpreadRestorer), and from which
    # frequency up (0: all bands): kept above the key reader's notes where the continuations carry
    # drums, whose raised attacks there masked the notes.
    restore_rises: bool = True
    rises_from_hz: float = 0.0
    # Whether what is heard gets the seed's detail across bins back (session.DetailRestorer): off where
    # the continuations keep it as they are.
    restore_detail: bool = True
    # Whether the variation fed to a wandering net comes on the seed's beat (session.BeatVariation): off
    # where the net keeps a beat of its own and the kicks cost its timbre.
    vary_on_beat: bool = True

    def config_dict(self) -> dict:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "preset": self.preset,
            "features": self.features.to_dict(),
            "architecture": self.architecture.to_dict(),
            "normalisation": {
                "mean": self.normaliser.mean.tolist(),
                "std": self.normaliser.std.tolist(),
                "residual_std": self.residual_std.tolist(),
                "frame_min": self.frame_min.tolist(),
                "frame_max": self.frame_max.tolist(),
            },
            "training": self.training.to_dict(),
            "provenance": self.provenance,
            "generation": {"level_mean_power": self.level_mean_power, "memory_shape_boost": self.memory_shape_boost,
                           "restore_rises": self.restore_rises, "rises_from_hz": self.rises_from_hz,
                           "restore_detail": self.restore_detail, "vary_on_beat": self.vary_on_beat},
        }

    @property
    def parameter_count(self) -> int:
        return int(sum(w.size for w in self.weights.values()))


def random_bundle(architecture: Architecture, features: FeatureConfig | None = None,
                  training: TrainingConfig | None = None, seed: int = 0, name: str = "random") -> ModelBundle:
    """A valid bundle with small random weights: for tests and speed measurements,
    where what the weights learned does not matter."""
    features = features or FeatureConfig()
    rng = np.random.default_rng(seed)
    weights = {k: (rng.standard_normal(shape) * 0.1).astype(np.float32)
               for k, shape in architecture.weight_shapes(features.n_bins).items()}
    n = features.n_bins
    return ModelBundle(
        name=name, features=features, architecture=architecture,
        normaliser=Normaliser(np.full(n, -12.0, np.float32), np.full(n, 4.0, np.float32)),
        residual_std=np.full(n, 0.3, np.float32),
        frame_min=np.full(n, -3.0, np.float32), frame_max=np.full(n, 2.0, np.float32),
        weights=weights, training=training or TrainingConfig(), provenance={"data": "random weights"})


def save_bundle(bundle: ModelBundle, path: str | os.PathLike) -> Path:
    """Write atomically (temp file + rename), so a crash never leaves half a model."""
    path = Path(path)
    _validate_weights(bundle.weights, bundle.architecture, bundle.features.n_bins)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path) as raw:
            with zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as zf:
                zf.writestr("config.json", json.dumps(bundle.config_dict(), indent=1))
                for name, array in bundle.weights.items():
                    buf = io.BytesIO()
                    np.lib.format.write_array(buf, np.ascontiguousarray(array, np.float32), allow_pickle=False)
                    zf.writestr(f"weights/{name}.npy", buf.getvalue())
    except OSError as exc:
        raise ModelError(f"cannot write model {path}: {exc.strerror or exc}") from None
    return path


def bundled_model_names() -> list[str]:
    folder = models_dir()
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob(f"*{EXTENSION}"))


def resolve_model(name_or_path: str | os.PathLike) -> Path:
    """A bundled model's name, or a path to a bundle file."""
    text = str(name_or_path)
    candidate = Path(text)
    if candidate.suffix != EXTENSION and os.sep not in text and "/" not in text:
        bundled = models_dir() / f"{text}{EXTENSION}"
        if bundled.is_file():
            return bundled
        if not candidate.exists():
            names = ", ".join(bundled_model_names()) or "none installed"
            raise ModelError(f"no bundled model named {text!r} (bundled: {names}); pass a path to a {EXTENSION} file")
    if not candidate.exists():
        raise ModelError(f"model file {text} does not exist")
    if candidate.is_dir():
        raise ModelError(f"model path {text} is a folder, not a {EXTENSION} file")
    return candidate


def load_bundle(name_or_path: str | os.PathLike) -> ModelBundle:
    path = resolve_model(name_or_path)
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
            if len(members) > _MAX_MEMBERS or sum(m.file_size for m in members) > _MAX_ARCHIVE_BYTES:
                raise ModelError(f"{path.name}: too large or too many entries to be a model")
            names = {m.filename for m in members}
            if "config.json" not in names:
                raise ModelError(f"{path.name}: not a musicgen model (no config.json inside)")
            config = json.loads(zf.read("config.json").decode("utf-8"))
            weights = {}
            for member in names - {"config.json"}:
                if not (member.startswith("weights/") and member.endswith(".npy")):
                    raise ModelError(f"{path.name}: unexpected entry {member!r}")
                with zf.open(member) as f:
                    weights[member[len("weights/"):-len(".npy")]] = np.lib.format.read_array(
                        io.BytesIO(f.read()), allow_pickle=False)
    except ModelError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError):
        raise ModelError(f"{path.name}: not a musicgen model file (not a valid archive)") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ModelError(f"{path.name}: model config is not valid JSON") from None
    except ValueError as exc:
        # numpy's refusal of pickled object arrays lands here too.
        raise ModelError(f"{path.name}: corrupted weights ({exc})") from None
    except OSError as exc:
        raise ModelError(f"{path.name}: cannot be read ({exc.strerror or exc})") from None
    try:
        return _bundle_from_config(config, weights, default_name=path.stem)
    except ModelError as exc:
        raise ModelError(f"{path.name}: {exc}") from None


def _bundle_from_config(config, weights: dict, default_name: str) -> ModelBundle:
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelError("not a musicgen model (wrong format tag)")
    version = config.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelError(f"model format version {version!r} is not supported (this app reads version {FORMAT_VERSION})")
    required = {"format", "format_version", "name", "preset", "features", "architecture",
                "normalisation", "training", "provenance"}
    missing = required - set(config)
    if missing:
        raise ModelError(f"model config lacks {', '.join(sorted(missing))}")
    features = FeatureConfig.from_dict(config["features"])
    arch = Architecture.from_dict(config["architecture"])
    norm = config["normalisation"]
    if not isinstance(norm, dict):
        raise ModelError("normalisation must be an object")
    vectors = {}
    for key in ("mean", "std", "residual_std", "frame_min", "frame_max"):
        vectors[key] = _vector(norm.get(key), key, features.n_bins)
    if (vectors["std"] <= 0).any() or (vectors["residual_std"] < 0).any():
        raise ModelError("normalisation std values must be positive")
    if not isinstance(config["provenance"], dict):
        raise ModelError("provenance must be an object")
    if not isinstance(config["training"], dict):
        raise ModelError("training settings must be an object")
    generation = config.get("generation", {})  # optional: files from before it existed lack it
    # Files from before the timbre anchor held every model's balance say whether it did
    # (anchor_timbre): read and checked, and no longer needed.
    switches = ("level_mean_power", "restore_rises", "restore_detail", "vary_on_beat", "anchor_timbre")
    if not isinstance(generation, dict) or set(generation) - {*switches, "memory_shape_boost", "rises_from_hz"} or \
            not all(isinstance(generation.get(k, False), bool) for k in switches):
        raise ModelError("generation settings must be an object of a true/false level_mean_power, "
                         "restore_rises, restore_detail and vary_on_beat and a number memory_shape_boost")
    boost = generation.get("memory_shape_boost", 1.0)
    if isinstance(boost, bool) or not isinstance(boost, (int, float)) or not 1.0 <= boost <= MAX_SHAPE_BOOST:
        raise ModelError(f"generation setting memory_shape_boost must be a number from 1 to {MAX_SHAPE_BOOST:g}")
    rises_from = generation.get("rises_from_hz", 0.0)
    nyquist = features.sample_rate / 2
    if isinstance(rises_from, bool) or not isinstance(rises_from, (int, float)) or not 0.0 <= rises_from <= nyquist:
        raise ModelError(f"generation setting rises_from_hz must be a number from 0 to {nyquist:g}")
    _validate_weights(weights, arch, features.n_bins)
    return ModelBundle(
        name=str(config["name"] or default_name),
        preset=str(config["preset"]),
        features=features,
        architecture=arch,
        normaliser=Normaliser(vectors["mean"], vectors["std"]),
        residual_std=vectors["residual_std"],
        frame_min=vectors["frame_min"],
        frame_max=vectors["frame_max"],
        weights={k: np.ascontiguousarray(v, np.float32) for k, v in weights.items()},
        training=TrainingConfig.from_dict(config["training"]),
        provenance=config["provenance"],
        level_mean_power=generation.get("level_mean_power", False),
        memory_shape_boost=float(boost),
        restore_rises=generation.get("restore_rises", True),
        rises_from_hz=float(rises_from),
        restore_detail=generation.get("restore_detail", True),
        vary_on_beat=generation.get("vary_on_beat", True),
    )


def _vector(values, key: str, n: int) -> np.ndarray:
    if not isinstance(values, list) or len(values) != n:
        raise ModelError(f"normalisation {key} must be a list of {n} numbers")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values):
        raise ModelError(f"normalisation {key} holds a value that is not a finite number")
    return np.asarray(values, np.float32)


def _validate_weights(weights: dict, arch: Architecture, n_bins: int) -> None:
    expected = arch.weight_shapes(n_bins)
    missing, extra = set(expected) - set(weights), set(weights) - set(expected)
    if missing or extra:
        detail = []
        if missing:
            detail.append(f"missing {', '.join(sorted(missing))}")
        if extra:
            detail.append(f"unexpected {', '.join(sorted(extra))}")
        raise ModelError(f"weights do not match the architecture ({'; '.join(detail)})")
    for name, shape in expected.items():
        w = weights[name]
        if tuple(w.shape) != shape:
            raise ModelError(f"weight {name} has shape {tuple(w.shape)}, expected {shape}")
        if w.dtype.kind != "f":
            raise ModelError(f"weight {name} is {w.dtype}, not floating point")
        if not np.isfinite(w).all():
            raise ModelError(f"weight {name} holds NaN or infinite values")
