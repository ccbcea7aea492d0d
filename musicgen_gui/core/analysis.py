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
* Key: Krumhansl-Kessler profiles correlated with the clip's mean chroma (its
  power folded onto 12 pitch classes, 300 Hz to 5 kHz, where a bin is narrower
  than a semitone). No key when no profile correlates well.
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
MIN_BEAT_STRENGTH = 0.15  # normalised autocorrelation at the beat period
MIN_KEY_CORRELATION = 0.5
SILENT_DB = -70.0  # a clip whose mean power is below this (dBFS-ish) has neither
_ONSET_BANDS = 32


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


@functools.lru_cache(maxsize=8)
def _chroma_matrix(cfg: FeatureConfig) -> np.ndarray:
    hz = np.arange(cfg.n_bins) * cfg.sample_rate / cfg.n_fft
    use = (hz >= 300.0) & (hz <= 5000.0)
    pitch = np.round(12.0 * np.log2(np.maximum(hz, 1.0) / 440.0) + 69.0).astype(int) % 12
    m = np.zeros((cfg.n_bins, 12), np.float32)
    m[np.flatnonzero(use), pitch[use]] = 1.0
    return m


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
    """Mean power per pitch class (12,), normalised to sum 1 (zeros for silence)."""
    power = np.exp(np.asarray(log_frames, np.float64)) @ _chroma_matrix(cfg)
    # Each frame counts by its own balance, so a loud bar does not outvote the rest.
    power = power / np.maximum(power.sum(axis=1, keepdims=True), 1e-30)
    total = power.mean(axis=0) if len(power) else np.zeros(12)
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
