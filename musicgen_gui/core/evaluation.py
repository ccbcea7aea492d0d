"""Model quality measures that need no TensorFlow.

* ``teacher_forced_error``: next-frame MSE in the model's normalised units, given
  the true past, against persistence (repeat the last true frame).
* Free-running continuations (``musicgen evaluate``): held-out seeds are continued
  through the real pipeline (``ContinuationSession``) and the audio is compared
  with the seed, the true continuation and a "frozen last frame" baseline.

The continuation metrics work on log-mel frames: the power of ``features.stft``
(all ``n_fft // 2 + 1`` bins) through librosa's 64-band mel filterbank with
unit-peak triangles (``norm=None``, so a band holds the summed power of its bins),
in dB, floored ``DYNAMIC_RANGE_DB`` below the seed's loudest band so that
inaudible near-silent bands cannot dominate the distances. The metric functions
are pure: dB frames in, numbers out.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from .audio_io import find_audio_files, load_audio
from .bundle import ModelBundle
from .errors import AudioLoadError, MusicgenError
from .analysis import analyse
from .features import FeatureConfig, log_power, power_to_log, stft, to_decibels
from .fileio import atomic_file
from .labels import key_agrees, label_at, read_labels, tempo_agrees
from .phase import StreamingPhaseReconstructor
from .predictor import FramePredictor, teacher_forced_squares
from .session import ContinuationParams, ContinuationSession

N_MELS = 64
DYNAMIC_RANGE_DB = 80.0
WINDOW_SECONDS = 1.0  # level, silence and copy are judged per window
BLOCK_SECONDS = 0.5  # the change ratio compares consecutive mean spectra this long
SILENCE_DB = 30.0  # a window this far below the seed's level counts as silent
COPY_TOLERANCE_DB = 2.0  # RMS over bands to the nearest seed frame
REPEAT_SEGMENT_SECONDS = 1.0  # self-repetition compares segments this long
MIN_EVAL_SECONDS = 1.0  # at least two blocks and one window each side of the seam

# Targets (issue 4): a seed passes when its continuation meets all of them.
MAX_SILENT_FRACTION = 0.0
MAX_ABS_LEVEL_DB = 6.0
MIN_CHANGE_RATIO = 0.5
MAX_COPY_FRACTION = 0.2
MAX_TEACHER_FORCED_RATIO = 0.8


@dataclass
class TeacherForcedResult:
    files: int
    windows: int
    model_mse: float  # normalised units, next frame given the true past
    persistence_mse: float  # repeating the last true frame

    @property
    def ratio(self) -> float:
        return self.model_mse / self.persistence_mse if self.persistence_mse > 0 else float("inf")


def teacher_forced_error(bundle: ModelBundle, paths: Sequence[str | os.PathLike],
                         max_windows: int = 512, batch: int = 64, int8: bool = True) -> TeacherForcedResult:
    cfg, length = bundle.features, bundle.training.sequence_length
    windows = []
    files = 0
    for path in find_audio_files(paths):
        try:
            audio = load_audio(path, cfg.sample_rate)
        except AudioLoadError:
            continue
        frames = bundle.normaliser.normalise(log_power(audio.samples, cfg))
        starts = range(0, len(frames) - length, length)
        if len(starts):
            files += 1
            windows.extend(frames[s:s + length + 1] for s in starts)
    if not windows:
        raise MusicgenError(f"no audio of at least {(length + 1) / cfg.frames_per_second:.1f} s found to evaluate on")
    picked = np.random.default_rng(0).permutation(len(windows))[:max_windows]
    data = np.stack([windows[i] for i in picked])
    predictor = FramePredictor(bundle, int8=int8)
    model_sq, persist_sq = [], []
    for i in range(0, len(data), batch):
        model, persistence = teacher_forced_squares(predictor, data[i:i + batch])
        model_sq.append(model)
        persist_sq.append(persistence)
    return TeacherForcedResult(files, len(data), float(np.concatenate(model_sq).mean()),
                               float(np.concatenate(persist_sq).mean()))


# --- log-mel frames and the metrics on them -------------------------------------------------------

@functools.lru_cache(maxsize=4)
def _mel_filters(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    import librosa  # seconds to import: only when scoring

    return librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, norm=None).astype(np.float32)


def mel_db(samples: np.ndarray, cfg: FeatureConfig, n_mels: int = N_MELS) -> np.ndarray:
    """Log-mel frames (frames x n_mels, dB; the log floor gives -100 dB) of a mono signal."""
    spec = stft(samples, cfg.n_fft, cfg.hop)
    power = (spec.real**2 + spec.imag**2) @ _mel_filters(cfg.sample_rate, cfg.n_fft, n_mels).T
    return to_decibels(power_to_log(power, cfg))


def frames_in(seconds: float, frames_per_second: float) -> int:
    return max(1, int(round(seconds * frames_per_second)))


def _chunks(values: np.ndarray, size: int) -> np.ndarray:
    """Consecutive whole chunks of ``size`` along the first axis (a shorter input is one chunk)."""
    size = max(1, min(size, len(values)))
    n = len(values) // size
    return values[:n * size].reshape((n, size) + values.shape[1:])


def _power(frames_db: np.ndarray) -> np.ndarray:
    return 10.0 ** (np.asarray(frames_db, np.float64) / 10.0)


def window_levels_db(frames_db: np.ndarray, size: int) -> np.ndarray:
    """Level (dB of the mean power summed over bands) of each window of ``size`` frames."""
    return 10.0 * np.log10(_chunks(_power(frames_db).sum(axis=1), size).mean(axis=1))


def block_changes_db(frames_db: np.ndarray, size: int) -> np.ndarray:
    """RMS-over-bands dB distance between consecutive mean spectra of ``size`` frames."""
    means = 10.0 * np.log10(_chunks(_power(frames_db), size).mean(axis=1))
    return np.sqrt(np.mean(np.diff(means, axis=0) ** 2, axis=1))


def nearest_distance_db(frames_db: np.ndarray, reference_db: np.ndarray, rows: int = 1024) -> np.ndarray:
    """For each frame, the RMS-over-bands dB distance to the nearest reference frame."""
    ref = np.asarray(reference_db, np.float64)
    ref_sq = (ref**2).sum(axis=1)
    out = np.empty(len(frames_db))
    for start in range(0, len(frames_db), rows):  # bounds the distance matrix's memory
        a = np.asarray(frames_db[start:start + rows], np.float64)
        d2 = (a**2).sum(axis=1)[:, None] + ref_sq[None, :] - 2.0 * a @ ref.T
        out[start:start + rows] = d2.min(axis=1)
    return np.sqrt(np.maximum(out, 0.0) / ref.shape[1])


def seed_level_db(seed_db: np.ndarray, frames_per_second: float) -> float:
    """The seed's reference level: the median of its window levels (robust to a quiet bar)."""
    return float(np.median(window_levels_db(seed_db, frames_in(WINDOW_SECONDS, frames_per_second))))


def level_difference_db(continuation_db: np.ndarray, seed_db: np.ndarray, frames_per_second: float) -> float:
    """Median over 1 s windows of the continuation's level minus the seed's."""
    levels = window_levels_db(continuation_db, frames_in(WINDOW_SECONDS, frames_per_second))
    return float(np.median(levels)) - seed_level_db(seed_db, frames_per_second)


def silent_fraction(continuation_db: np.ndarray, seed_db: np.ndarray, frames_per_second: float) -> float:
    """Share of the continuation's 1 s windows more than SILENCE_DB below the seed's level."""
    levels = window_levels_db(continuation_db, frames_in(WINDOW_SECONDS, frames_per_second))
    return float(np.mean(levels < seed_level_db(seed_db, frames_per_second) - SILENCE_DB))


def _seed_change_db(seed_db: np.ndarray, frames_per_second: float) -> float:
    # A perfectly steady seed would divide by zero; 0.01 dB is far below any audible change.
    return max(float(np.median(block_changes_db(seed_db, frames_in(BLOCK_SECONDS, frames_per_second)))), 0.01)


def change_ratio(continuation_db: np.ndarray, seed_db: np.ndarray, frames_per_second: float) -> float:
    """Median change between consecutive 0.5 s mean spectra, the continuation's over the seed's.

    A frozen drone or stationary noise scores near 0, music like the seed's near 1.
    """
    changes = block_changes_db(continuation_db, frames_in(BLOCK_SECONDS, frames_per_second))
    return float(np.median(changes)) / _seed_change_db(seed_db, frames_per_second)


def copy_fraction(continuation_db: np.ndarray, seed_db: np.ndarray,
                  tolerance_db: float = COPY_TOLERANCE_DB) -> float:
    """Share of continuation frames within ``tolerance_db`` (RMS over bands) of some seed frame."""
    return float(np.mean(nearest_distance_db(continuation_db, seed_db) <= tolerance_db))


def self_repetition(frames_db: np.ndarray, frames_per_second: float,
                    segment_seconds: float = REPEAT_SEGMENT_SECONDS,
                    tolerance_db: float = COPY_TOLERANCE_DB) -> float:
    """Share of ``segment_seconds`` segments (one per frame) within ``tolerance_db``
    (RMS over frames and bands) of an earlier, non-overlapping segment of the same signal.

    The copy fraction only compares with the seed; a continuation stuck in a
    limit cycle of its own (the same phrase every 2 s) scores high here. Whole
    segments are compared, not frames, because music reuses its notes (and a
    synthetic or sampled note is the same frames every time) far more often than
    its phrases. A loop of the model's own frames lines up with the hop; a
    repeat in recorded music generally does not and scores lower for it. Music
    repeats phrases too, so read it next to the true continuation's score.
    """
    x = np.asarray(frames_db, np.float64)
    length = frames_in(segment_seconds, frames_per_second)
    n = len(x) - length + 1  # segment starts
    if n <= length:
        return 0.0
    sq = (x**2).sum(axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * x @ x.T, 0.0)  # about 50 MB for 60 s
    segment = np.zeros((n, n))
    for k in range(length):  # sums along the diagonals: segment i against segment j
        segment += d2[k:k + n, k:k + n]
    # Only earlier segments that do not overlap this one count.
    segment[np.arange(n)[None, :] > np.arange(n)[:, None] - length] = np.inf
    nearest = segment[length:].min(axis=1)
    return float(np.mean(np.sqrt(nearest / (length * x.shape[1])) <= tolerance_db))


def frechet_distance(frames_a: np.ndarray, frames_b: np.ndarray) -> float:
    """Fréchet distance (dB²) between Gaussians fitted to two sets of frames (at least 2 each).

    Uses tr sqrt(Ca Cb) = tr sqrt(Sa Cb Sa) with Sa = Ca^(1/2): the matrix is
    symmetric positive semi-definite, so ``eigh`` is exact and a singular
    covariance (a frozen frame has almost no spread) needs no regularising.
    """
    a, b = np.asarray(frames_a, np.float64), np.asarray(frames_b, np.float64)
    if len(a) < 2 or len(b) < 2:
        raise MusicgenError("the Fréchet distance needs at least two frames on each side")
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(cov_a)
    root_a = (v * np.sqrt(np.maximum(w, 0.0))) @ v.T
    cross = np.sqrt(np.maximum(np.linalg.eigvalsh(root_a @ cov_b @ root_a), 0.0)).sum()
    mean_sq = float(np.sum((a.mean(axis=0) - b.mean(axis=0)) ** 2))
    return max(0.0, mean_sq + float(np.trace(cov_a) + np.trace(cov_b) - 2.0 * cross))


# --- fidelity to the seed (issue 11): key, beat, timbre, replay, loudness, peaks ------------------
# A judge independent of the generator: these read the audio with librosa and pyloudnorm, never
# core.analysis (which the generator itself uses to follow the seed).

SKIP_SECONDS = 2.0  # the seam's first seconds are not scored: the protocol
HORIZON_SECONDS = 20.0  # scored from SKIP_SECONDS on, and so is the whole length
ANALYSIS_FFT = 4096  # 5.4 Hz bins for the band levels and the tuning
ONSET_HOP = 512

MIN_KEY_CORRELATION = 0.3
MIN_BEAT_STRENGTH = 0.25
MIN_ONSET_SPREAD_DB = 0.5  # a seed whose onset strength varies less has no onsets to make a beat
TIMBRE_BANDS = 8
TIMBRE_LOW_HZ = 100.0  # below, a piano's lowest octave: whether the left hand goes there is not timbre
TIMBRE_RANGE_DB = 60.0  # bands this far below a signal's loudest are inaudible: floored there
MAX_TIMBRE_DB = 8.0
REPLAY_WINDOW_SECONDS = 2.0
REPLAY_RANGE_DB = 40.0  # below this under the seed's loudest band: a noise floor, not the seed's material
REPLAY_CORRELATION = 0.75  # a window this correlated with some 2 s of the seed replays it
MAX_REPLAY_FRACTION = 0.5
LOUDNESS_WINDOW_SECONDS = 3.0  # BS.1770 short-term loudness
LOUDNESS_HOP_SECONDS = 1.0
LOUDNESS_SKIP_SECONDS = 0.5
LOUDNESS_FLOOR_LUFS = -70.0  # BS.1770's absolute gate: silence reads this, not -inf
MAX_LOUDNESS_LU = 2.0
FULL_SCALE = 0.999
TRUE_PEAK_OVERSAMPLING = 4


def mean_chroma(samples: np.ndarray, sample_rate: int, tuning: float = 0.0) -> np.ndarray:
    """The 12-bin pitch-class profile: librosa's constant-Q chroma (each frame scaled to
    its strongest class) averaged over the signal; ``tuning`` in fractions of a bin, so
    that two signals are read on the same pitch grid.

    Constant-Q, not STFT chroma: an STFT's bins fall unevenly on the pitch classes, so
    white noise gets a fixed profile that correlated 0.4 with a C-major melody's.
    """
    import librosa  # seconds to import: only when scoring

    chroma = librosa.feature.chroma_cqt(y=np.asarray(samples, np.float32), sr=sample_rate, tuning=tuning)
    return chroma.mean(axis=1)


def estimate_tuning(samples: np.ndarray, sample_rate: int) -> float:
    """The seed's deviation from A440 in fractions of a chroma bin (0 for a signal without pitch)."""
    import librosa

    return float(librosa.estimate_tuning(y=np.asarray(samples, np.float32), sr=sample_rate, n_fft=ANALYSIS_FFT))


def key_correlation(chroma: np.ndarray, seed_chroma: np.ndarray) -> float:
    """Key kept: Pearson correlation of two mean chroma profiles.

    Catches a continuation that leaves the seed's key and harmony: a transposed or
    unrelated melody correlates near 0 or below, more of the same pitches near 1,
    whatever the order of the notes. A flat profile (noise, silence) has no key and
    scores 0.
    """
    a, b = chroma - chroma.mean(), seed_chroma - seed_chroma.mean()
    norm = float(np.sqrt((a @ a) * (b @ b)))
    return float(a @ b) / norm if norm > 0 else 0.0


def onset_envelope(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """librosa's onset strength (spectral flux on a mel spectrogram), one value per ONSET_HOP."""
    import librosa

    return librosa.onset.onset_strength(y=np.asarray(samples, np.float32), sr=sample_rate, hop_length=ONSET_HOP)


def beat_period_frames(envelope: np.ndarray, sample_rate: int) -> float:
    """The beat period, in onset-envelope frames, of librosa's tempo estimate (0 when none)."""
    import librosa

    tempo = float(librosa.feature.tempo(onset_envelope=envelope, sr=sample_rate, hop_length=ONSET_HOP)[0])
    return 60.0 / tempo * sample_rate / ONSET_HOP if tempo > 0 else 0.0


def periodicity(envelope: np.ndarray, period_frames: float) -> float:
    """Beat kept: the normalised autocorrelation of the mean-removed onset envelope at
    ``period_frames``, the largest over that lag ±1 frame (the tempo estimate is rounded).

    Catches a continuation whose onsets do not recur at the seed's beat period: one
    that lost the beat or found a tempo of its own scores near 0 (as does noise), a
    steady beat at the seed's tempo near 1.
    """
    x = np.asarray(envelope, np.float64) - np.mean(envelope)
    energy = float(x @ x)
    lag = int(round(period_frames))
    if energy <= 0 or lag < 1:
        return 0.0
    lags = [k for k in (lag - 1, lag, lag + 1) if 1 <= k < len(x)]
    return max((float(x[:-k] @ x[k:]) / energy for k in lags), default=0.0)


def band_levels_db(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """dB of the mean power in TIMBRE_BANDS log-spaced bands from TIMBRE_LOW_HZ to Nyquist."""
    spec = stft(samples, ANALYSIS_FFT, ANALYSIS_FFT // 4)
    power = (spec.real**2 + spec.imag**2).mean(axis=0, dtype=np.float64)
    edges = np.geomspace(TIMBRE_LOW_HZ, sample_rate / 2, TIMBRE_BANDS + 1)
    band = np.digitize(np.arange(len(power)) * sample_rate / ANALYSIS_FFT, edges) - 1
    return 10.0 * np.log10(np.bincount(band[band >= 0], power[band >= 0], TIMBRE_BANDS + 1)[:TIMBRE_BANDS] + 1e-20)


def timbre_deviation_db(bands_db: np.ndarray, seed_bands_db: np.ndarray) -> float:
    """Timbre kept: the largest deviation of the band levels from the seed's, in dB,
    once the level shift most bands agree on (the median difference) is removed.

    Catches a continuation whose spectral balance drifts: highs lost by 20-30 dB,
    or the whole sound 10 dB brighter, while an overall level change alone scores
    0 (the level target judges that). Each side is floored TIMBRE_RANGE_DB below
    its loudest band, so that an inaudible, near-empty band cannot decide.
    """
    a = np.maximum(bands_db, np.max(bands_db) - TIMBRE_RANGE_DB)
    b = np.maximum(seed_bands_db, np.max(seed_bands_db) - TIMBRE_RANGE_DB)
    difference = a - b
    return float(np.max(np.abs(difference - np.median(difference))))


def _centred_windows(windows: np.ndarray) -> np.ndarray:
    """Windows (n x frames x bands) with each band's mean removed, flattened to unit length."""
    x = np.asarray(windows, np.float64)
    x = (x - x.mean(axis=1, keepdims=True)).reshape(len(x), -1)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norm, out=np.zeros_like(x), where=norm > 0)


def replay_correlations(frames_db: np.ndarray, seed_db: np.ndarray, frames_per_second: float) -> np.ndarray:
    """For each 2 s window of the continuation's log-mel frames, the best normalised
    cross-correlation with any 2 s of the seed's (every frame offset), each band's
    mean over its window removed, both floored REPLAY_RANGE_DB below the seed's loudest
    band (the quiet cells are where noise on top would decide).

    Removing the bands' means leaves how each band moves over the 2 s: a window
    replaying the seed correlates highly even under noise or a level change, while
    the same notes and sounds in a new order, or the same instrument's spectrum
    alone, do not.
    """
    floor = np.max(seed_db) - REPLAY_RANGE_DB
    frames_db, seed_db = np.maximum(frames_db, floor), np.maximum(seed_db, floor)
    length = min(frames_in(REPLAY_WINDOW_SECONDS, frames_per_second), len(seed_db), len(frames_db))
    seed_windows = np.lib.stride_tricks.sliding_window_view(seed_db, length, axis=0).transpose(0, 2, 1)
    return (_centred_windows(_chunks(frames_db, length)) @ _centred_windows(seed_windows).T).max(axis=1)


def replay_fraction(frames_db: np.ndarray, seed_db: np.ndarray, frames_per_second: float) -> float:
    """Not a replay: the share of 2 s windows that replay some 2 s of the seed
    (correlation above REPLAY_CORRELATION; see replay_correlations).

    Catches a loop of the seed, with noise on top or not, which the per-frame copy
    fraction cannot see once noise moves every frame off its original.
    """
    return float(np.mean(replay_correlations(frames_db, seed_db, frames_per_second) > REPLAY_CORRELATION))


def integrated_loudness(samples: np.ndarray, sample_rate: int) -> float:
    """ITU-R BS.1770 integrated (gated) loudness in LUFS, via pyloudnorm."""
    import pyloudnorm

    x = np.asarray(samples, np.float64)
    block = min(0.4, len(x) / sample_rate)  # BS.1770's 400 ms gating blocks, or one for a shorter signal
    return max(float(pyloudnorm.Meter(sample_rate, block_size=block).integrated_loudness(x)), LOUDNESS_FLOOR_LUFS)


def short_term_loudness(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """BS.1770 short-term loudness (LUFS, K-weighted, ungated) of each 3 s window, every 1 s;
    one window over the whole of a shorter signal."""
    import pyloudnorm

    x = np.asarray(samples, np.float64)
    window = min(LOUDNESS_WINDOW_SECONDS, len(x) / sample_rate)
    meter = pyloudnorm.Meter(sample_rate, block_size=window, overlap=max(0.0, 1.0 - LOUDNESS_HOP_SECONDS / window))
    meter.integrated_loudness(x)  # fills blockwise_loudness: one ungated value per window
    values = np.asarray(meter.blockwise_loudness, np.float64)
    # pyloudnorm rounds the count of windows, and divides each by the whole window's length:
    # a last window running past the end read low (2.5 s of 21.5 s: 0.8 LU). Its own length counts.
    starts = window * np.arange(len(values)) * (1.0 - meter.overlap) * sample_rate
    inside = np.minimum(starts + window * sample_rate, len(x)) - starts
    values = values + 10.0 * np.log10(window * sample_rate / np.maximum(inside, 1.0))
    return np.maximum(values, LOUDNESS_FLOOR_LUFS)


def loudness_differences(samples: np.ndarray, seed_lufs: float, sample_rate: int) -> np.ndarray:
    """Loudness kept: each 3 s window's short-term loudness minus the seed's integrated
    loudness, in LU (give the continuation from LOUDNESS_SKIP_SECONDS after the seam).

    Catches a continuation that runs hot or fades (the issue found typical ones 3-4 dB
    louder than the seed) or jumps at the seam, as a listener hears it: K-weighted,
    which level_difference_db's flat power is not.
    """
    return short_term_loudness(samples, sample_rate) - seed_lufs


def clipped_fraction(samples: np.ndarray) -> float:
    """The share of samples at or above full scale (|x| >= FULL_SCALE): hard clipping."""
    return float(np.mean(np.abs(samples) >= FULL_SCALE)) if len(samples) else 0.0


def true_peak_dbtp(samples: np.ndarray) -> float:
    """The true peak in dBTP: the largest magnitude of the signal oversampled 4x (BS.1770
    annex 2), which catches the peaks between samples that a limiter must leave room for."""
    from scipy.signal import resample_poly

    peak = float(np.max(np.abs(resample_poly(np.asarray(samples, np.float64), TRUE_PEAK_OVERSAMPLING, 1)),
                        initial=0.0))
    return 20.0 * np.log10(max(peak, 1e-10))


# --- one seed's evaluation ------------------------------------------------------------------------

# The parts of the continuation scored: from SKIP_SECONDS after the seam to this many
# seconds after it (None: to its end). Loudness is judged from LOUDNESS_SKIP_SECONDS on,
# peaks from the seam.
HORIZONS = {"20s": SKIP_SECONDS + HORIZON_SECONDS, "full": None}
DRAW_RNG_STRIDE = 1000  # draw d continues with the seed's random seed + 1000 d
TARGETS = ("silent", "level", "change", "copy", "frechet", "key", "beat", "timbre", "replay")


@dataclass
class ContinuationScores:
    level_db: float
    silent_fraction: float
    change_ratio: float
    copy_fraction: float
    frechet: float  # continuation vs true continuation
    frechet_frozen: float  # frozen last frame vs true continuation
    self_repetition: float  # not a target: read it next to the truth's own (see self_repetition)
    # Fidelity to the seed (issue 11).
    key_correlation: float
    beat_strength: float | None  # None: the seed has no clear beat, so the beat is not judged
    timbre_db: float
    replay_fraction: float
    # Loudness and peaks: targets of their own, not part of ``passed``.
    loudness_max_lu: float  # the largest |short-term loudness - the seed's integrated loudness|
    loudness_bias_lu: float  # their median, signed
    clipped_fraction: float
    seed_clipped_fraction: float
    true_peak_dbtp: float

    def failures(self) -> list[str]:
        """The targets this continuation misses (empty when it passes), in TARGETS order."""
        missed = {
            "silent": self.silent_fraction > MAX_SILENT_FRACTION,
            "level": abs(self.level_db) > MAX_ABS_LEVEL_DB,
            "change": self.change_ratio < MIN_CHANGE_RATIO,
            "copy": self.copy_fraction > MAX_COPY_FRACTION,
            "frechet": not self.frechet < self.frechet_frozen,
            "key": not self.key_correlation >= MIN_KEY_CORRELATION,
            "beat": self.beat_strength is not None and not self.beat_strength >= MIN_BEAT_STRENGTH,
            "timbre": not self.timbre_db <= MAX_TIMBRE_DB,
            "replay": self.replay_fraction > MAX_REPLAY_FRACTION,
        }
        return [target for target in TARGETS if missed[target]]

    @property
    def passed(self) -> bool:
        return not self.failures()

    @property
    def loudness_kept(self) -> bool:
        return self.loudness_max_lu <= MAX_LOUDNESS_LU

    @property
    def peaks_kept(self) -> bool:
        """No more samples at full scale than the seed has."""
        return self.clipped_fraction <= self.seed_clipped_fraction

    def to_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed, "failed": self.failures(),
                "loudness_kept": self.loudness_kept, "peaks_kept": self.peaks_kept}


@dataclass
class SeedFrames:
    """Log-mel dB frames of one seed and the three continuations compared, on one floor."""

    seed: np.ndarray
    continuation: np.ndarray  # the model's
    truth: np.ndarray  # what the file really goes on with
    frozen: np.ndarray  # the seed's last frame held
    frames_per_second: float

    @classmethod
    def from_audio(cls, cfg: FeatureConfig, seed: np.ndarray, continuation: np.ndarray,
                   truth: np.ndarray, frozen: np.ndarray) -> "SeedFrames":
        for name, x in (("continuation", continuation), ("true continuation", truth), ("seed", seed)):
            if len(x) < MIN_EVAL_SECONDS * cfg.sample_rate:
                raise MusicgenError(f"the {name} is shorter than {MIN_EVAL_SECONDS:g} s")
        seed_db = mel_db(seed, cfg)
        floor = np.float32(seed_db.max() - DYNAMIC_RANGE_DB)
        return cls(np.maximum(seed_db, floor), np.maximum(mel_db(continuation, cfg), floor),
                   np.maximum(mel_db(truth, cfg), floor), np.maximum(mel_db(frozen, cfg), floor),
                   cfg.frames_per_second)

    def timeline(self) -> dict[str, np.ndarray]:
        """The metrics over time since the seam (seconds): per 1 s window, change per 0.5 s block,
        replay per 2 s window."""
        fps = self.frames_per_second
        window, block = frames_in(WINDOW_SECONDS, fps), frames_in(BLOCK_SECONDS, fps)
        replay = min(frames_in(REPLAY_WINDOW_SECONDS, fps), len(self.seed), len(self.continuation))
        levels = window_levels_db(self.continuation, window) - seed_level_db(self.seed, fps)
        copied = nearest_distance_db(self.continuation, self.seed) <= COPY_TOLERANCE_DB
        changes = block_changes_db(self.continuation, block) / _seed_change_db(self.seed, fps)
        replays = replay_correlations(self.continuation, self.seed, fps)
        return {
            "window_time": (np.arange(len(levels)) + 0.5) * window / fps,
            "level_db": levels,
            "copy_fraction": _chunks(copied, window).mean(axis=1),
            "change_time": (np.arange(len(changes)) + 1.0) * block / fps,  # the boundary between the blocks
            "change_ratio": changes,
            "replay_time": (np.arange(len(replays)) + 0.5) * replay / fps,
            "replay": replays,
            "replay_truth": replay_correlations(self.truth, self.seed, fps),
        }


@dataclass
class SeedProfile:
    """What the fidelity measures compare a continuation with, read once from the seed."""

    tuning: float  # fractions of a chroma bin from A440
    chroma: np.ndarray  # mean_chroma at that tuning
    beat_period: float  # onset-envelope frames (0: no tempo found)
    beat_strength: float  # the seed's own periodicity at that period
    onset_spread_db: float  # the standard deviation of its onset envelope
    bands_db: np.ndarray
    loudness_lufs: float
    clipped_fraction: float
    true_peak_dbtp: float

    @classmethod
    def from_audio(cls, seed: np.ndarray, sample_rate: int) -> "SeedProfile":
        tuning = estimate_tuning(seed, sample_rate)
        envelope = onset_envelope(seed, sample_rate)
        period = beat_period_frames(envelope, sample_rate)
        return cls(tuning, mean_chroma(seed, sample_rate, tuning), period, periodicity(envelope, period),
                   float(np.std(envelope)), band_levels_db(seed, sample_rate), integrated_loudness(seed, sample_rate),
                   clipped_fraction(seed), true_peak_dbtp(seed))

    @property
    def has_beat(self) -> bool:
        """A clear beat: the seed has onsets, and they recur at its tempo as strongly as a
        continuation's must. (A steady chord's tone beating reads periodic, on a flux of 0.1 dB.)"""
        return self.onset_spread_db >= MIN_ONSET_SPREAD_DB and self.beat_strength >= MIN_BEAT_STRENGTH

    def tempo_bpm(self, sample_rate: int) -> float:
        return 60.0 * sample_rate / (ONSET_HOP * self.beat_period) if self.beat_period > 0 else 0.0

    def to_dict(self, sample_rate: int) -> dict:
        return {"tempo_bpm": self.tempo_bpm(sample_rate), "beat_strength": self.beat_strength,
                "onset_spread_db": self.onset_spread_db, "has_beat": self.has_beat, "tuning": self.tuning, "loudness_lufs": self.loudness_lufs,
                "clipped_fraction": self.clipped_fraction, "true_peak_dbtp": self.true_peak_dbtp}


def score_continuation(cfg: FeatureConfig, profile: SeedProfile, seed: np.ndarray, continuation: np.ndarray,
                       truth: np.ndarray, frozen: np.ndarray, end_seconds: float | None) -> ContinuationScores:
    """Every measure of ``continuation`` (audio after ``seed``) against the seed, up to
    ``end_seconds`` after the seam (None: its end; see HORIZONS). The truth's own scores:
    pass the truth as the continuation (its Fréchet distance is then 0)."""
    sr, fps = cfg.sample_rate, cfg.frames_per_second
    end = None if end_seconds is None else int(round(end_seconds * sr))
    skip = int(round(SKIP_SECONDS * sr))
    scored = continuation[skip:end]
    frames = SeedFrames.from_audio(cfg, seed, scored, truth[skip:end], frozen[skip:end])
    loudness = loudness_differences(continuation[int(round(LOUDNESS_SKIP_SECONDS * sr)):end],
                                    profile.loudness_lufs, sr)
    heard = continuation[:end]
    return ContinuationScores(
        level_db=level_difference_db(frames.continuation, frames.seed, fps),
        silent_fraction=silent_fraction(frames.continuation, frames.seed, fps),
        change_ratio=change_ratio(frames.continuation, frames.seed, fps),
        copy_fraction=copy_fraction(frames.continuation, frames.seed),
        frechet=frechet_distance(frames.continuation, frames.truth),
        frechet_frozen=frechet_distance(frames.frozen, frames.truth),
        self_repetition=self_repetition(frames.continuation, fps),
        key_correlation=key_correlation(mean_chroma(scored, sr, profile.tuning), profile.chroma),
        beat_strength=periodicity(onset_envelope(scored, sr), profile.beat_period) if profile.has_beat else None,
        timbre_db=timbre_deviation_db(band_levels_db(scored, sr), profile.bands_db),
        replay_fraction=replay_fraction(frames.continuation, frames.seed, fps),
        loudness_max_lu=float(np.max(np.abs(loudness))),
        loudness_bias_lu=float(np.median(loudness)),
        clipped_fraction=clipped_fraction(heard),
        seed_clipped_fraction=profile.clipped_fraction,
        true_peak_dbtp=true_peak_dbtp(heard),
    )


def frozen_continuation(cfg: FeatureConfig, seed: np.ndarray, n_samples: int) -> np.ndarray:
    """The seed's last frame held for ``n_samples``, rendered like a continuation.

    It goes through the same phase reconstruction as the model's frames, so the
    baseline and the model differ only in the frames, not in the synthesis.
    ``seed`` must be aligned with ``features.align_to_frames``.
    """
    last = log_power(seed[-cfg.n_fft:], cfg)[-1]
    phase = StreamingPhaseReconstructor(cfg)
    phase.prime(seed)
    blocks, produced = [], 0
    while produced < n_samples:
        block = phase.push(last)
        blocks.append(block)
        produced += len(block)
    return np.clip(np.concatenate(blocks)[:n_samples], -1.0, 1.0)


@dataclass
class Clip:
    """A held-out seed and the audio that really follows it."""

    path: Path
    offset_seconds: float  # where the seed starts in the file
    seed: np.ndarray
    truth: np.ndarray  # shorter than the continuation when the file ends first
    sample_rate: int

    @property
    def truth_seconds(self) -> float:
        return len(self.truth) / self.sample_rate


def pick_clips(paths: Sequence[str | os.PathLike], cfg: FeatureConfig, count: int, seed_seconds: float,
               seconds: float, min_truth_seconds: float | None = None) -> list[Clip]:
    """Up to ``count`` clips of seed + true continuation, deterministically.

    Files (sorted) take turns, so the clips spread over as many tracks as
    possible. A file giving k clips is cut into k equal parts and each clip sits
    in the middle of its part (away from intros and endings). A file too short for
    a whole clip still gives one from its start, with a true continuation cut
    short, if that holds at least ``min_truth_seconds`` (default: half of
    ``seconds``, and at least SKIP_SECONDS + MIN_EVAL_SECONDS). Unreadable files
    are skipped, as in training.
    """
    if count < 1:
        raise MusicgenError("evaluate at least one seed")
    scored_from = SKIP_SECONDS + MIN_EVAL_SECONDS  # the first SKIP_SECONDS are not scored
    if seed_seconds < MIN_EVAL_SECONDS or seconds < scored_from:
        raise MusicgenError(f"the seed must be at least {MIN_EVAL_SECONDS:g} s and the continuation at least "
                            f"{scored_from:g} s (its first {SKIP_SECONDS:g} s are not scored)")
    min_truth_seconds = max(scored_from, seconds / 2 if min_truth_seconds is None else min_truth_seconds)
    seed_n = int(round(seed_seconds * cfg.sample_rate))
    need = seed_n + int(round(seconds * cfg.sample_rate))
    least = seed_n + int(round(min(seconds, min_truth_seconds) * cfg.sample_rate))
    # Lengths first, one file in memory at a time: a validation set can be an hour of audio.
    lengths = {}
    for path in find_audio_files(paths):
        try:
            n = len(load_audio(path, cfg.sample_rate).samples)
        except AudioLoadError:
            continue
        if n >= least:
            lengths[path] = n
    if not lengths:
        raise MusicgenError(f"no audio file holds {least / cfg.sample_rate:g} s ({seed_seconds:g} s of seed "
                            f"and at least {min(seconds, min_truth_seconds):g} s of what follows) to evaluate on; "
                            "use a shorter seed or continuation")
    files = list(lengths)
    capacity = [max(1, lengths[f] // need) for f in files]
    taken, wanted = [0] * len(files), min(count, sum(capacity))
    while (left := wanted - sum(taken)) > 0:
        open_files = [i for i in range(len(files)) if taken[i] < capacity[i]]
        if left < len(open_files):
            # The last round goes to evenly spaced files: sorted names group by
            # composer or album, so the first few would all be alike.
            open_files = [open_files[(2 * j + 1) * len(open_files) // (2 * left)] for j in range(left)]
        for i in open_files:
            taken[i] += 1
    clips = []
    for path, k in zip(files, taken):
        if not k:
            continue
        samples = load_audio(path, cfg.sample_rate).samples
        part = len(samples) // k
        for j in range(k):
            start = j * part + max(0, (part - need) // 2)
            end = min(start + need, (j + 1) * part)
            clips.append(Clip(path, start / cfg.sample_rate, samples[start:start + seed_n].copy(),
                              samples[start + seed_n:end].copy(), cfg.sample_rate))
    return clips


@dataclass
class Draw:
    """One continuation of a seed: its random seed and its scores per horizon."""

    rng_seed: int | None
    scores: dict[str, ContinuationScores]
    adapt_steps: int = 0  # fine-tuning steps on the seed (0: not adapted)

    def to_dict(self) -> dict:
        return {"rng_seed": self.rng_seed, "adapt_steps": self.adapt_steps,
                **{h: s.to_dict() for h, s in self.scores.items()}}


@dataclass
class Readout:
    """The tempo and key readout (core.analysis) of a seed, of what really followed it and of each
    draw, the last two read as continuing the seed over the first scored HORIZON_SECONDS; and
    whether the seed's agrees with its score, where the file's set labels it (core.labels)."""

    seed: str
    truth: str
    draws: list[str]
    tempo_ok: bool | None = None  # None: no label
    key_ok: bool | None = None

    @property
    def truth_same(self) -> bool:
        return self.truth == self.seed

    def to_dict(self) -> dict:
        return asdict(self)


@functools.lru_cache(maxsize=16)
def _labels_of(folder: Path) -> dict[str, dict]:
    return read_labels(folder)


def read_out(cfg: FeatureConfig, clip: Clip, seed: np.ndarray, truth: np.ndarray,
             continuations: Sequence[np.ndarray]) -> Readout:
    seed_reading = analyse(seed, cfg)
    span = slice(int(SKIP_SECONDS * cfg.sample_rate), int((SKIP_SECONDS + HORIZON_SECONDS) * cfg.sample_rate))
    readout = Readout(seed_reading.describe(), analyse(truth[span], cfg, like=seed_reading).describe(),
                      [analyse(c[span], cfg, like=seed_reading).describe() for c in continuations])
    labels = _labels_of(clip.path.parent).get(clip.path.name)
    if labels:
        label = label_at(labels, clip.offset_seconds, clip.offset_seconds + len(seed) / cfg.sample_rate)
        if label.bpm is not None:
            readout.tempo_ok = tempo_agrees(seed_reading.beat and seed_reading.beat.quarter_bpm, label.bpm)
        if label.sharps is not None:
            readout.key_ok = key_agrees(seed_reading.key, label.sharps)
    return readout


@dataclass
class SeedEvaluation:
    clip: Clip
    seed: np.ndarray  # as continued: aligned to the frames, ending where the truth starts
    profile: SeedProfile
    truth: dict[str, ContinuationScores]  # the true continuation's own scores per horizon
    draws: list[Draw]
    continuation: np.ndarray  # the first draw's audio, for the plots
    readout: Readout | None = None

    def to_dict(self) -> dict:
        return {"file": str(self.clip.path), "offset_seconds": round(self.clip.offset_seconds, 3),
                "truth_seconds": round(self.clip.truth_seconds, 3),
                "seed": self.profile.to_dict(self.clip.sample_rate),
                "truth": {h: s.to_dict() for h, s in self.truth.items()},
                "draws": [d.to_dict() for d in self.draws],
                "readout": self.readout.to_dict() if self.readout else None}


def evaluate_clip(bundle: ModelBundle, clip: Clip, params: ContinuationParams, draws: int = 1) -> SeedEvaluation:
    """Continue the clip's seed ``draws`` times with the real pipeline and score each, and the truth.

    ``params`` is what the app's ``continue`` would run (its ``seconds`` is the
    length); draw d uses ``params.rng_seed`` + DRAW_RNG_STRIDE * d (all random
    when it is None).
    """
    if draws < 1:
        raise MusicgenError("continue each seed at least once")
    cfg = bundle.features
    results, first, heard = [], None, []
    for d in range(draws):
        p = replace(params, rng_seed=None if params.rng_seed is None else params.rng_seed + DRAW_RNG_STRIDE * d)
        session = ContinuationSession(bundle, clip.seed, p)
        continuation = session.render()
        heard.append(continuation)
        if first is None:
            first, seed = continuation, session.seed
            frozen = frozen_continuation(cfg, seed, len(continuation))
            profile = SeedProfile.from_audio(seed, cfg.sample_rate)
        results.append(Draw(p.rng_seed, {h: score_continuation(cfg, profile, seed, continuation, clip.truth, frozen, end)
                                         for h, end in HORIZONS.items()},
                            session.adaptation.steps if session.adaptation else 0))
    truth = {h: score_continuation(cfg, profile, seed, clip.truth, clip.truth, frozen, end)
             for h, end in HORIZONS.items()}
    return SeedEvaluation(clip, seed, profile, truth, results, first, read_out(cfg, clip, seed, clip.truth, heard))


def _tally(scores: Sequence[ContinuationScores]) -> dict:
    """How many of these continuations (one per seed) pass, meet each target, keep loudness and peaks."""
    return {"passed": sum(s.passed for s in scores),
            "meeting": {target: sum(target not in s.failures() for s in scores) for target in TARGETS},
            "loudness_kept": sum(s.loudness_kept for s in scores),
            "peaks_kept": sum(s.peaks_kept for s in scores)}


def _medians(scores: Sequence[ContinuationScores]) -> dict:
    """Each measure's median (over the values there are: beat is None on seeds without one)."""
    out = {}
    for field in asdict(scores[0]) if scores else ():
        values = [v for s in scores if (v := getattr(s, field)) is not None]
        out[field] = float(np.median(values)) if values else None
    return out


def summarise(evaluations: Sequence[SeedEvaluation]) -> dict:
    """Per horizon, for the model (the mean, min and max over draws) and the truth:
    seeds passing, meeting each target, keeping loudness and peaks, and each measure's median."""
    draws = min((len(e.draws) for e in evaluations), default=0)
    out = {"seeds": len(evaluations), "draws": draws,
           "seeds_with_beat": sum(e.profile.has_beat for e in evaluations),
           "readout": summarise_readouts([e.readout for e in evaluations if e.readout])}
    for horizon in HORIZONS:
        tallies = [_tally([e.draws[d].scores[horizon] for e in evaluations]) for d in range(draws)]
        truth = [e.truth[horizon] for e in evaluations]

        def spread(key, target=None):
            counts = [t[key] if target is None else t[key][target] for t in tallies]
            return {"mean": float(np.mean(counts)) if counts else 0.0, "min": min(counts, default=0),
                    "max": max(counts, default=0), "per_draw": counts}

        out[horizon] = {
            "model": {"passed": spread("passed"), "meeting": {t: spread("meeting", t) for t in TARGETS},
                      "loudness_kept": spread("loudness_kept"), "peaks_kept": spread("peaks_kept"),
                      "median": _medians([d.scores[horizon] for e in evaluations for d in e.draws])},
            "truth": {**_tally(truth), "median": _medians(truth)},
        }
    return out


def summarise_readouts(readouts: Sequence[Readout]) -> dict:
    """Labelled seeds and how many read as their score says; seeds whose truth reads as the seed
    does, and over the draws the mean number of those whose continuation does too."""
    same = [r for r in readouts if r.truth_same]
    draws = min((len(r.draws) for r in same), default=0)
    per_draw = [sum(r.draws[d] == r.seed for r in same) for d in range(draws)]
    return {"tempo_labelled": sum(r.tempo_ok is not None for r in readouts),
            "tempo_ok": sum(bool(r.tempo_ok) for r in readouts),
            "key_labelled": sum(r.key_ok is not None for r in readouts),
            "key_ok": sum(bool(r.key_ok) for r in readouts),
            "truth_same": len(same),
            "continuation_same": {"mean": float(np.mean(per_draw)) if per_draw else 0.0, "per_draw": per_draw}}


def report(bundle: ModelBundle, settings: dict,
           sets: dict[str, tuple[TeacherForcedResult, Sequence[SeedEvaluation]]]) -> dict:
    """Everything measured, per named seed set, as JSON-ready data."""
    return {
        "model": {"name": bundle.name, "preset": bundle.preset, "parameters": bundle.parameter_count},
        "settings": {**settings, "n_mels": N_MELS, "dynamic_range_db": DYNAMIC_RANGE_DB,
                     "frames_per_second": bundle.features.frames_per_second, "skip_seconds": SKIP_SECONDS,
                     "horizons": HORIZONS, "loudness_skip_seconds": LOUDNESS_SKIP_SECONDS},
        "targets": {"max_silent_fraction": MAX_SILENT_FRACTION, "max_abs_level_db": MAX_ABS_LEVEL_DB,
                    "min_change_ratio": MIN_CHANGE_RATIO, "max_copy_fraction": MAX_COPY_FRACTION,
                    "frechet": "below the frozen baseline", "min_key_correlation": MIN_KEY_CORRELATION,
                    "min_beat_strength": MIN_BEAT_STRENGTH, "max_timbre_db": MAX_TIMBRE_DB,
                    "max_replay_fraction": MAX_REPLAY_FRACTION, "replay_correlation": REPLAY_CORRELATION,
                    "max_loudness_lu": MAX_LOUDNESS_LU, "peaks": "no more clipped samples than the seed",
                    "max_teacher_forced_ratio": MAX_TEACHER_FORCED_RATIO},
        "sets": {name: {"teacher_forced": {**asdict(tf), "ratio": tf.ratio,
                                           "passed": tf.ratio <= MAX_TEACHER_FORCED_RATIO},
                        "seeds": [e.to_dict() for e in evaluations], "summary": summarise(evaluations)}
                 for name, (tf, evaluations) in sets.items()},
    }


# --- output ---------------------------------------------------------------------------------------

def _write_atomically(path: str | os.PathLike, write: Callable) -> None:
    try:
        with atomic_file(path) as f:
            write(f)
    except OSError as exc:
        raise MusicgenError(f"cannot write {path}: {exc.strerror or exc}") from None


def write_json(data: dict, path: str | os.PathLike) -> None:
    _write_atomically(path, lambda f: f.write((json.dumps(data, indent=1) + "\n").encode()))


def check_plotting() -> None:
    """Fail now, not after minutes of generating, when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise MusicgenError("the plots need matplotlib, which is not installed (pip install matplotlib)") from None


def _beat_grid(envelope: np.ndarray, period: float, until: int) -> np.ndarray:
    """Frames of a beat grid at ``period``, phased on the envelope's strongest onsets, up to ``until``."""
    phases = np.arange(max(1, min(int(np.ceil(period)), len(envelope) - 1)))
    strength = [envelope[np.arange(p, len(envelope) - 1, period).astype(int)].mean() for p in phases]
    return np.arange(phases[int(np.argmax(strength))], until, period)


def plot_evaluation(cfg: FeatureConfig, evaluation: SeedEvaluation, path: str | os.PathLike, title: str = "") -> None:
    """PNG of the first draw, for a listener to check each measure: seed + model continuation
    above seed + true continuation (seam and scored part marked), then over time the loudness
    against the ±2 LU band, the replay correlation, change and copy, and below the mean chroma,
    the band levels and the onset envelope on the seed's beat grid, the model's beside the truth's."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # Agg: no display, no global backend
    from matplotlib.figure import Figure

    sr, seed, cont, truth = cfg.sample_rate, evaluation.seed, evaluation.continuation, evaluation.clip.truth
    profile = evaluation.profile
    frames = SeedFrames.from_audio(cfg, seed, cont, truth, frozen_continuation(cfg, seed, len(cont)))
    fps = frames.frames_per_second
    seam = len(seed) / sr
    end = seam + len(cont) / sr
    line = frames.timeline()
    lo, hi = float(frames.seed.min()), float(frames.seed.max())
    skip = int(round(SKIP_SECONDS * sr))
    sides = (("model", cont, "C0"), ("truth", truth, "C1"))

    fig = Figure(figsize=(13, 17), layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(7, 2, height_ratios=(3, 3, 2, 2, 2, 2.5, 2.5))
    spec_axes = [fig.add_subplot(grid[0, :])]
    spec_axes.append(fig.add_subplot(grid[1, :], sharex=spec_axes[0]))
    time_axes = [fig.add_subplot(grid[i, :], sharex=spec_axes[0]) for i in (2, 3, 4)]
    for ax, c, label in ((spec_axes[0], frames.continuation, "seed + model"),
                         (spec_axes[1], frames.truth, "seed + truth")):
        image = ax.imshow(np.concatenate([frames.seed, c]).T, origin="lower", aspect="auto", cmap="magma",
                          vmin=lo, vmax=hi, extent=(0, seam + len(c) / fps, 0, frames.seed.shape[1]),
                          interpolation="nearest")
        ax.set_ylabel(f"{label}\nmel band")
    fig.colorbar(image, ax=spec_axes, label="dB")

    ax = time_axes[0]
    for name, x, color in sides:
        lu = loudness_differences(x[int(round(LOUDNESS_SKIP_SECONDS * sr)):], profile.loudness_lufs, sr)
        t = seam + LOUDNESS_SKIP_SECONDS + min(LOUDNESS_WINDOW_SECONDS, len(x) / sr) / 2 + np.arange(len(lu))
        ax.plot(t, lu, ".-", color=color, label=f"{name}: short-term loudness − seed's (LU)")
    ax.axhspan(-MAX_LOUDNESS_LU, MAX_LOUDNESS_LU, color="green", alpha=0.15, label=f"±{MAX_LOUDNESS_LU:g} LU")
    ax.set_ylabel("LU")
    ax.legend(loc="lower left", fontsize="small")

    ax = time_axes[1]
    ax.plot(seam + line["replay_time"], line["replay"], ".-", color="C0", label="model: best correlation with the seed")
    ax.plot(seam + line["replay_time"][:len(line["replay_truth"])], line["replay_truth"], ".-", color="C1",
            label="truth")
    ax.axhline(REPLAY_CORRELATION, color="red", ls=":", lw=1, label="replay above")
    ax.set_ylabel("replay\ncorrelation")
    ax.legend(loc="lower left", fontsize="small")

    ax = time_axes[2]
    ax.plot(seam + line["change_time"], line["change_ratio"], ".-", label="change ratio")
    ax.plot(seam + line["window_time"], line["copy_fraction"], ".-", label="copy fraction")
    ax.axhline(MIN_CHANGE_RATIO, color="C0", ls=":", lw=1)
    ax.axhline(MAX_COPY_FRACTION, color="C1", ls=":", lw=1)
    ax.set_ylabel("ratio")
    ax.set_xlabel("seconds from the seed's start")
    ax.legend(loc="upper left", fontsize="small")
    for ax in spec_axes + time_axes:
        ax.axvline(seam, color="cyan" if ax in spec_axes else "black", lw=1.5)
        ax.axvspan(seam, seam + SKIP_SECONDS, color="grey", alpha=0.2)  # not scored
        ax.axvline(seam + HORIZONS["20s"], color="grey", ls="--", lw=1)
        ax.set_xlim(0, end)

    ax = fig.add_subplot(grid[5, 0])
    classes = np.arange(12)
    ax.plot(classes, profile.chroma, "k.-", label="seed")
    for name, x, color in sides:
        ax.plot(classes, mean_chroma(x[skip:], sr, profile.tuning), ".-", color=color, label=name)
    ax.set_xticks(classes, ["C", "C♯", "D", "D♯", "E", "F", "F♯", "G", "G♯", "A", "A♯", "B"])
    ax.set_ylabel("mean chroma")
    ax.legend(fontsize="small")

    ax = fig.add_subplot(grid[5, 1])
    edges = np.geomspace(TIMBRE_LOW_HZ, sr / 2, TIMBRE_BANDS + 1)
    centres = np.sqrt(edges[:-1] * edges[1:])
    seed_bands = np.maximum(profile.bands_db, profile.bands_db.max() - TIMBRE_RANGE_DB)
    ax.fill_between(centres, seed_bands - MAX_TIMBRE_DB, seed_bands + MAX_TIMBRE_DB, color="grey", alpha=0.2,
                    label=f"seed ±{MAX_TIMBRE_DB:g} dB")
    ax.plot(centres, seed_bands, "k.-", label="seed")
    for name, x, color in sides:
        bands = band_levels_db(x[skip:], sr)
        bands = np.maximum(bands, bands.max() - TIMBRE_RANGE_DB)
        ax.plot(centres, bands - np.median(bands - seed_bands), ".-", color=color, label=f"{name}, level removed")
    ax.set_xscale("log")
    ax.set_xlabel("Hz")
    ax.set_ylabel("band level (dB)")
    ax.legend(fontsize="small")

    # The onset envelope from 4 s before the seam to 10 s into the scored part, on the seed's grid.
    ax = fig.add_subplot(grid[6, :])
    rate = sr / ONSET_HOP
    seed_env = onset_envelope(seed, sr)
    start, stop = max(0.0, seam - 4.0), seam + SKIP_SECONDS + 10.0
    for name, x, color in (("seed", seed, "k"),) + sides:
        env = seed_env if name == "seed" else onset_envelope(x[:int((stop - seam) * sr)], sr)
        t = (0.0 if name == "seed" else seam) + np.arange(len(env)) / rate
        keep = t >= start
        ax.plot(t[keep], env[keep], color=color, lw=1, label=f"{name} onsets")
    if profile.beat_period > 0:
        for i, b in enumerate(_beat_grid(seed_env, profile.beat_period, int(stop * rate))):
            if b / rate >= start:
                ax.axvline(b / rate, color="green", lw=0.6, alpha=0.6, label="seed's beat grid" if i == 0 else None)
    ax.axvline(seam, color="black", lw=1.5)
    ax.set_xlim(start, stop)
    ax.set_xlabel(f"seconds from the seed's start (seed tempo {profile.tempo_bpm(sr):.0f} BPM, "
                  f"{'a clear beat' if profile.has_beat else 'no clear beat: not judged'})")
    ax.legend(loc="upper left", fontsize="small", ncols=4)

    s, t = evaluation.draws[0].scores["full"], evaluation.truth["full"]
    beat = "–" if s.beat_strength is None else f"{s.beat_strength:.2f} ({t.beat_strength:.2f})"
    fig.suptitle(f"{title}\nmodel (truth), whole length: key {s.key_correlation:.2f} ({t.key_correlation:.2f}), "
                 f"beat {beat}, timbre {s.timbre_db:.1f} ({t.timbre_db:.1f}) dB, replay {s.replay_fraction:.2f} "
                 f"({t.replay_fraction:.2f}), loudness ±{s.loudness_max_lu:.1f} ({t.loudness_max_lu:.1f}) LU, "
                 f"clipped {100 * s.clipped_fraction:.2f} % (seed {100 * s.seed_clipped_fraction:.2f} %)\n"
                 f"level {s.level_db:+.1f} dB, change {s.change_ratio:.2f}, copy {s.copy_fraction:.2f}, Fréchet "
                 f"{s.frechet:.0f} (frozen {s.frechet_frozen:.0f}): "
                 f"{'pass' if s.passed else 'fail: ' + ', '.join(s.failures())}; truth "
                 f"{'passes' if t.passed else 'fails: ' + ', '.join(t.failures())}", fontsize="medium")
    _write_atomically(path, lambda f: fig.savefig(f, format="png", dpi=80))
