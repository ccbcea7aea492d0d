"""Tempo, beat grid and key of a clip, from its log-power frames.

Numpy only, a few milliseconds for a minute of audio: the generator needs the
seed's beat grid before its first block, and the app shows tempo and key as soon
as a seed is loaded (librosa's beat tracker would cost a second of import first).

* Onset strength: spectral flux (the positive change of log power in 32
  log-spaced bands) per frame, as librosa's ``onset_strength`` does on mel bands.
* Tempo: the lag of the onset envelope's autocorrelation peak between 50 and
  220 BPM, weighted by a log-normal prior around 120 BPM (librosa's default), with
  a parabolic fit for the fractional period. No beat when the normalised
  autocorrelation there is weak (a drone, speech, free-time playing).
* Beat phase: the offset whose comb of beats collects the most onset strength.
* Key: Krumhansl-Kessler profiles correlated with the clip's mean chroma (the
  power of its spectral peaks folded onto 12 pitch classes). No key when no
  profile correlates well.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .features import FeatureConfig

PITCH_CLASSES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# Krumhansl & Kessler (1982) probe-tone ratings.
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])

MIN_BPM, MAX_BPM, PRIOR_BPM, PRIOR_OCTAVES = 50.0, 220.0, 120.0, 1.0
MIN_BEAT_STRENGTH = 0.3  # normalised autocorrelation at the beat period (noise: up to 0.2)
MIN_KEY_CORRELATION = 0.5
SILENT_DB = -70.0  # a clip whose mean power is below this (dBFS-ish) has neither
_ONSET_BANDS = 32
_SMOOTHING = np.hanning(7)[1:-1] / np.hanning(7)[1:-1].sum()


@dataclass(frozen=True)
class Beat:
    period_frames: float  # one beat, in frames (fractional)
    first_frame: float  # where the first beat of the clip falls
    strength: float  # normalised autocorrelation at the period, 0..1
    frames_per_second: float

    @property
    def bpm(self) -> float:
        return 60.0 * self.frames_per_second / self.period_frames


@dataclass(frozen=True)
class Key:
    tonic: int  # pitch class, 0 = C
    minor: bool
    correlation: float

    @property
    def name(self) -> str:
        return f"{PITCH_CLASSES[self.tonic]} {'minor' if self.minor else 'major'}"


@dataclass(frozen=True)
class MusicAnalysis:
    beat: Beat | None
    key: Key | None
    silent: bool

    def describe(self) -> str:
        """For a readout: '128 BPM · A minor'; 'none' for what was not found."""
        tempo = f"{self.beat.bpm:.0f} BPM" if self.beat else "tempo none"
        key = self.key.name if self.key else "key none"
        return f"{tempo} · {key}"


@functools.lru_cache(maxsize=8)
def _band_matrix(cfg: FeatureConfig, n_bands: int) -> np.ndarray:
    """Bins -> log-spaced bands (mean of their bins), 60 Hz to Nyquist."""
    hz = np.arange(cfg.n_bins) * cfg.sample_rate / cfg.n_fft
    low, high = 60.0, cfg.sample_rate / 2
    band = np.floor(n_bands * np.log(np.maximum(hz, low) / low) / np.log(high / low)).astype(int)
    band = np.minimum(band, n_bands - 1)
    m = np.zeros((cfg.n_bins, n_bands), np.float32)
    m[np.arange(cfg.n_bins), band] = 1.0
    return m / np.maximum(m.sum(axis=0), 1.0)


def band_log_power(log_frames: np.ndarray, cfg: FeatureConfig, n_bands: int = _ONSET_BANDS) -> np.ndarray:
    """Mean log power per log-spaced band: frames x n_bands."""
    return np.asarray(log_frames, np.float32) @ _band_matrix(cfg, n_bands)


def onset_strength(log_frames: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """Spectral flux per frame (the first is 0), mean-free over the clip's positive part."""
    bands = band_log_power(log_frames, cfg)
    flux = np.zeros(len(bands), np.float64)
    if len(bands) > 1:
        flux[1:] = np.maximum(np.diff(bands, axis=0), 0.0).mean(axis=1)
    return flux


def estimate_beat(log_frames: np.ndarray, cfg: FeatureConfig) -> Beat | None:
    fps = cfg.frames_per_second
    env = onset_strength(log_frames, cfg)
    # Smoothed over a few frames: a beat of 21.5 frames then still lines up at lag 21 or 22.
    env = np.convolve(env, _SMOOTHING, mode="same")
    env = env - env.mean()
    max_lag = int(np.ceil(60.0 * fps / MIN_BPM)) + 1
    min_lag = max(2, int(np.floor(60.0 * fps / MAX_BPM)))
    if len(env) < 2 * max_lag or not env.any():
        return None
    spectrum = np.fft.rfft(env, 2 * len(env))
    ac = np.fft.irfft(spectrum * np.conj(spectrum))[:max_lag + 1]
    if ac[0] <= 0:
        return None
    # Unbiased: a lag sees fewer overlapping frames.
    ac = ac / (len(env) - np.arange(max_lag + 1)) * len(env) / ac[0]
    lags = np.arange(min_lag, max_lag)
    bpm = 60.0 * fps / lags
    prior = np.exp(-0.5 * (np.log2(bpm / PRIOR_BPM) / PRIOR_OCTAVES) ** 2)
    best = int(lags[np.argmax(np.maximum(ac[lags], 0.0) * prior)])
    strength = float(ac[best])
    if strength < MIN_BEAT_STRENGTH:
        return None
    a, b, c = ac[best - 1], ac[best], ac[best + 1]
    denom = a - 2 * b + c
    period = best + (0.5 * (a - c) / denom if denom < 0 else 0.0)
    # Phase: the comb offset collecting the most onset strength.
    beats = np.arange(0.0, len(env) - 1, period)
    phases = np.arange(0.0, period, 0.25)
    positive = np.maximum(env, 0.0)
    score = [np.interp(beats[beats + p < len(env) - 1] + p, np.arange(len(env)), positive).sum() for p in phases]
    return Beat(float(period), float(phases[int(np.argmax(score))]), min(strength, 1.0), fps)


def chroma(log_frames: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """Mean power per pitch class (12,), normalised to sum 1 (zeros for silence).

    A bin is wider than a semitone below about 360 Hz, so the pitch comes from the
    spectral peaks: each local maximum's frequency refined by a parabola through
    its log power and its neighbours', between 100 Hz and 5 kHz.
    """
    x = np.asarray(log_frames, np.float64)
    if not len(x):
        return np.zeros(12)
    left, mid, right = x[:, :-2], x[:, 1:-1], x[:, 2:]
    frame, k = np.nonzero((mid > left) & (mid >= right))
    a, b, c = left[frame, k], mid[frame, k], right[frame, k]
    curvature = a - 2 * b + c
    offset = np.where(curvature < 0, 0.5 * (a - c) / np.where(curvature < 0, curvature, -1.0), 0.0)
    hz = (k + 1 + offset) * cfg.sample_rate / cfg.n_fft
    use = (hz >= 100.0) & (hz <= 5000.0)
    pitch = np.round(12.0 * np.log2(hz[use] / 440.0) + 69.0).astype(int) % 12
    power = np.zeros((len(x), 12))
    np.add.at(power, (frame[use], pitch), np.exp(b[use]))
    # Each frame counts by its own balance, so a loud bar does not outvote the rest.
    power = power / np.maximum(power.sum(axis=1, keepdims=True), 1e-30)
    total = power.mean(axis=0)
    s = total.sum()
    return total / s if s > 0 else total


def key_correlations(profile: np.ndarray) -> np.ndarray:
    """Correlation of a 12-bin chroma profile with the 24 keys: (2, 12), [major, minor] x tonic."""
    out = np.zeros((2, 12))
    if np.ptp(profile) == 0:
        return out
    for mode, template in enumerate((_MAJOR, _MINOR)):
        for tonic in range(12):
            out[mode, tonic] = np.corrcoef(profile, np.roll(template, tonic))[0, 1]
    return out


def estimate_key(log_frames: np.ndarray, cfg: FeatureConfig) -> Key | None:
    corr = key_correlations(chroma(log_frames, cfg))
    mode, tonic = np.unravel_index(int(np.argmax(corr)), corr.shape)
    if corr[mode, tonic] < MIN_KEY_CORRELATION:
        return None
    return Key(int(tonic), bool(mode), float(corr[mode, tonic]))


def mean_level_db(log_frames: np.ndarray) -> float:
    """dB of the frames' mean total power (0 dB: a full-scale sine on a bin centre)."""
    if not len(log_frames):
        return -np.inf
    total = np.logaddexp.reduce(np.asarray(log_frames, np.float64), axis=1)
    return float(10.0 / np.log(10.0) * (np.logaddexp.reduce(total) - np.log(len(total))))


def analyse(log_frames: np.ndarray, cfg: FeatureConfig) -> MusicAnalysis:
    """Tempo and key of a clip's log-power frames (features.log_power)."""
    if mean_level_db(log_frames) < SILENT_DB:
        return MusicAnalysis(None, None, True)
    return MusicAnalysis(estimate_beat(log_frames, cfg), estimate_key(log_frames, cfg), False)
