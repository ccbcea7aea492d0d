"""Log-power STFT frames: the one representation the model, the phase
reconstruction and the spectrogram view share.

Conventions (every module relies on them):

* Frames are not centred: frame ``m`` covers samples ``[m*hop, m*hop + n_fft)``.
* The window is a periodic Hann window, and the STFT is scaled by ``2/sum(w)``,
  so a full-scale sinusoid on a bin centre has magnitude 1 (log power 0).
* An ``n_fft`` of 1024 gives 513 rfft bins; the model keeps the lowest
  ``n_bins`` (512 for both presets: DC up to, not including, Nyquist).
* ``log_power = ln(|X|^2 + floor)``; the floor (1e-10, -100 dB) keeps silence finite.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .errors import ModelError

# Frames computed at once; bounds the temporary memory for hour-long files.
_CHUNK_FRAMES = 4096

DB_PER_NEPER = 10.0 / np.log(10.0)  # decibels of power per natural-log (neper) unit of power
# Sound fades in and out, and seams cross-fade, over this many samples (12 ms at 22 kHz): no click, and quick.
FADE_SAMPLES = 256


@dataclass(frozen=True)
class FeatureConfig:
    sample_rate: int = 22050
    n_fft: int = 1024
    hop: int = 512
    n_bins: int = 512
    log_floor: float = 1e-10

    def __post_init__(self):
        if self.sample_rate < 4000 or self.sample_rate > 192000:
            raise ModelError(f"sample rate {self.sample_rate} Hz is outside 4000-192000 Hz")
        if self.n_fft < 64 or self.n_fft & (self.n_fft - 1):
            raise ModelError(f"n_fft {self.n_fft} must be a power of two of at least 64")
        if not 0 < self.hop <= self.n_fft:
            raise ModelError(f"hop {self.hop} must be between 1 and n_fft ({self.n_fft})")
        if not 0 < self.n_bins <= self.n_fft // 2 + 1:
            raise ModelError(f"n_bins {self.n_bins} must be between 1 and {self.n_fft // 2 + 1}")
        if not self.log_floor > 0:
            raise ModelError("log_floor must be positive")

    @property
    def frames_per_second(self) -> float:
        return self.sample_rate / self.hop

    @property
    def min_seed_samples(self) -> int:
        """The shortest usable seed: enough frames to warm the model's state."""
        return self.n_fft + 7 * self.hop

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "FeatureConfig":
        expected = {"sample_rate", "n_fft", "hop", "n_bins", "log_floor"}
        if not isinstance(d, dict) or set(d) != expected:
            raise ModelError(f"feature settings must have exactly the keys {sorted(expected)}")
        try:
            return cls(
                sample_rate=int(d["sample_rate"]),
                n_fft=int(d["n_fft"]),
                hop=int(d["hop"]),
                n_bins=int(d["n_bins"]),
                log_floor=float(d["log_floor"]),
            )
        except (TypeError, ValueError) as exc:
            raise ModelError(f"feature settings are not numbers: {exc}") from None


def hann(n_fft: int) -> np.ndarray:
    """Periodic Hann window (the STFT's and the phase reconstruction's)."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)


def frame_level(log_frames: np.ndarray) -> np.ndarray:
    """Each frame's total power as its natural log (the log of the sum of its bins' power), in
    float64, without overflow at any level."""
    frames = np.asarray(log_frames, np.float64)
    peak = frames.max(axis=-1, keepdims=True)
    return peak[..., 0] + np.log(np.exp(frames - peak).sum(axis=-1))


def with_neighbours(x: np.ndarray, reduce=np.maximum) -> np.ndarray:
    """Each bin reduced with its two neighbouring bins (np.maximum: the louder of the three), the
    ends wrapping round as np.roll's do: SuperFlux's filter across frequency (frames x bins).
    Written in place into one new array: onset analysis runs before the first sound, and on a
    10 s clip each extra frames-sized temporary costs as much in fresh pages as in arithmetic."""
    out = x.copy()
    reduce(out[:, 1:], x[:, :-1], out=out[:, 1:])
    reduce(out[:, :-1], x[:, 1:], out=out[:, :-1])
    reduce(out[:, 0], x[:, -1], out=out[:, 0])
    reduce(out[:, -1], x[:, 0], out=out[:, -1])
    return out


def fade_in(n: int = FADE_SAMPLES) -> np.ndarray:
    """A gain rising from 0 to just short of 1 over ``n`` samples, as a raised cosine (half a Hann
    window); reversed, a fade out that ends in silence."""
    return (0.5 - 0.5 * np.cos(np.pi * np.arange(n) / n)).astype(np.float32)


def stft_scale(n_fft: int) -> float:
    return 2.0 / float(np.sum(hann(n_fft), dtype=np.float64))


def frame_count(n_samples: int, cfg: FeatureConfig) -> int:
    if n_samples < cfg.n_fft:
        return 0
    return 1 + (n_samples - cfg.n_fft) // cfg.hop


def stft(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Complex STFT of a mono signal, frames x (n_fft//2 + 1), scaled as above."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    n = 0 if len(x) < n_fft else 1 + (len(x) - n_fft) // hop
    w = hann(n_fft) * np.float32(stft_scale(n_fft))
    out = np.empty((n, n_fft // 2 + 1), np.complex64)
    if n == 0:
        return out
    import scipy.fft  # here, not at import: it is a third of the app's start-up

    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop]
    for start in range(0, n, _CHUNK_FRAMES):
        # scipy's rfft halves the time (300 s: 128 -> 67 ms); the seed is analysed before the first block.
        out[start:start + _CHUNK_FRAMES] = scipy.fft.rfft(frames[start:start + _CHUNK_FRAMES] * w, axis=1)
    return out


def power_to_log(power: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    return np.log(power + cfg.log_floor).astype(np.float32)


def log_to_magnitude(log_power: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    return np.sqrt(np.maximum(np.exp(log_power) - cfg.log_floor, 0.0)).astype(np.float32)


def log_power(x: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """Log-power frames (frames x n_bins, float32) of a mono signal at cfg's rate."""
    spec = stft(x, cfg.n_fft, cfg.hop)[:, : cfg.n_bins]
    return power_to_log(spec.real**2 + spec.imag**2, cfg)


def align_to_frames(x: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """Drop the fewest leading samples so that the last frame ends on the last sample.

    The continuation then starts exactly after the seed's final sample.
    """
    if len(x) < cfg.n_fft:
        return x
    return x[(len(x) - cfg.n_fft) % cfg.hop:]


def to_decibels(log_power_frames: np.ndarray) -> np.ndarray:
    """Natural-log power to dB (10*log10), for display and metrics."""
    return (log_power_frames * np.float32(DB_PER_NEPER)).astype(np.float32)


@dataclass
class Normaliser:
    """Per-bin standardisation of log-power frames, stored in the model bundle."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, frames: np.ndarray) -> "Normaliser":
        return cls.fit_many([frames])

    @classmethod
    def fit_many(cls, arrays: list[np.ndarray]) -> "Normaliser":
        """Statistics over all the arrays' frames, without concatenating them."""
        count = sum(len(a) for a in arrays)
        total = sum(a.sum(axis=0, dtype=np.float64) for a in arrays)
        mean = total / count
        var = sum(np.square(a - mean, dtype=np.float64).sum(axis=0) for a in arrays) / count
        std = np.maximum(np.sqrt(var), 1e-3)
        return cls(mean.astype(np.float32), std.astype(np.float32))

    def normalise(self, frames: np.ndarray) -> np.ndarray:
        return ((frames - self.mean) / self.std).astype(np.float32)

    def denormalise(self, frames: np.ndarray) -> np.ndarray:
        return (frames * self.std + self.mean).astype(np.float32)
