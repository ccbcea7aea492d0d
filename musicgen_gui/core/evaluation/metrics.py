"""The measures of ``musicgen evaluate``: pure functions, audio or dB frames in, numbers out.

The spectral measures work on log-mel frames: the power of ``features.stft`` (all
``n_fft // 2 + 1`` bins) through librosa's 64-band mel filterbank with unit-peak
triangles (``norm=None``, so a band holds the summed power of its bins), in dB,
floored ``DYNAMIC_RANGE_DB`` below the seed's loudest band (``protocol.SeedFrames``)
so that inaudible near-silent bands cannot dominate the distances.

The fidelity measures (key, beat, timbre, loudness, peaks) are a judge independent
of the generator: they read the audio with librosa and pyloudnorm, never
core.analysis (which the generator itself uses to follow the seed). What a
continuation must score to pass is in ``protocol``.
"""

from __future__ import annotations

import functools

import numpy as np

from ..errors import MusicgenError
from ..features import FeatureConfig, power_to_log, stft, to_decibels
from ..loudness import true_peak

N_MELS = 64
DYNAMIC_RANGE_DB = 80.0
WINDOW_SECONDS = 1.0  # level, silence and copy are judged per window
BLOCK_SECONDS = 0.5  # the change ratio compares consecutive mean spectra this long
SILENCE_DB = 30.0  # a window this far below the seed's level counts as silent
COPY_TOLERANCE_DB = 2.0  # RMS over bands to the nearest seed frame
REPEAT_SEGMENT_SECONDS = 1.0  # self-repetition compares segments this long
SELF_DISTANCE_SECONDS = 2.0  # and its distance, stretches this long
MOVEMENT_SECONDS = 4.0  # movement compares the mean spectra of windows this long
DETAIL_BLOCK_SECONDS = 0.5  # spectral detail: power averaged this long before the log
DETAIL_SMOOTHING_OCTAVES = 1.0 / 3.0
DETAIL_LOW_HZ = 250.0  # below, a third of an octave spans under 3 bins of a 1024-point STFT at 22.05 kHz
DETAIL_HIGH_HZ = 8000.0
DETAIL_RANGE_DB = 60.0
ANALYSIS_FFT = 4096  # 5.4 Hz bins for the band levels and the tuning
ONSET_HOP = 512
TIMBRE_BANDS = 8
TIMBRE_LOW_HZ = 100.0  # below, a piano's lowest octave: whether the left hand goes there is not timbre
TIMBRE_RANGE_DB = 60.0  # bands this far below a signal's loudest are inaudible: floored there
REPLAY_WINDOW_SECONDS = 2.0
REPLAY_RANGE_DB = 40.0  # below this under the seed's loudest band: a noise floor, not the seed's material
REPLAY_CORRELATION = 0.75  # a window this correlated with some 2 s of the seed replays it
LOUDNESS_WINDOW_SECONDS = 3.0  # BS.1770 short-term loudness
LOUDNESS_HOP_SECONDS = 1.0
LOUDNESS_FLOOR_LUFS = -70.0  # BS.1770's absolute gate: silence reads this, not -inf
FULL_SCALE = 0.999
LRA_HOP_SECONDS = 0.1  # EBU Tech 3342: short-term loudness at least 10 times a second
LRA_RELATIVE_GATE_LU = 20.0
LRA_PERCENTILES = (10.0, 95.0)


# --- log-mel frames and the measures on them ------------------------------------------------------

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


def _earlier_segment_distances_db(frames_db: np.ndarray, length: int) -> np.ndarray:
    """For each segment of ``length`` frames (one per frame) that has an earlier one not
    overlapping it, the RMS (over frames and bands) dB distance to the nearest of those."""
    x = np.asarray(frames_db, np.float64)
    n = len(x) - length + 1  # segment starts
    if n <= length:
        return np.empty(0)
    sq = (x**2).sum(axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * x @ x.T, 0.0)  # about 50 MB for 60 s
    segment = np.zeros((n, n))
    for k in range(length):  # sums along the diagonals: segment i against segment j
        segment += d2[k:k + n, k:k + n]
    # Only earlier segments that do not overlap this one count.
    segment[np.arange(n)[None, :] > np.arange(n)[:, None] - length] = np.inf
    return np.sqrt(segment[length:].min(axis=1) / (length * x.shape[1]))


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
    distances = _earlier_segment_distances_db(frames_db, frames_in(segment_seconds, frames_per_second))
    return float(np.mean(distances <= tolerance_db)) if len(distances) else 0.0


def self_distance_db(frames_db: np.ndarray, frames_per_second: float,
                     segment_seconds: float = SELF_DISTANCE_SECONDS) -> float | None:
    """Self-repetition as a distance: the median, over the signal's 2 s stretches (one per
    frame), of the RMS dB distance to the nearest earlier 2 s stretch not overlapping it
    (see self_repetition); None for a signal under twice that long.

    A continuation cycling through its own few phrases comes close to where it has
    been (a loop of the model's frames near 0 dB); music that develops stays
    further. Music repeats itself too: read it beside the truth's.
    """
    distances = _earlier_segment_distances_db(frames_db, frames_in(segment_seconds, frames_per_second))
    return float(np.median(distances)) if len(distances) else None


def onset_strength_db(frames_db: np.ndarray) -> float:
    """Attacks: the mean positive spectral flux of log-mel frames, in dB per frame: each
    band's rise from one frame to the next (a fall counts 0), averaged over bands and frames.

    A struck note, a pluck or a drum hit rises by tens of dB within a frame and
    scores high; a blurred or smeared continuation (frames predicted as a blend of
    what might come next) swells into its notes and scores lower, as does a held
    drone. Read it as a share of the truth's.
    """
    x = np.asarray(frames_db, np.float64)
    return float(np.maximum(np.diff(x, axis=0), 0.0).mean()) if len(x) > 1 else 0.0


def spectral_detail_db(samples: np.ndarray, cfg: FeatureConfig) -> float:
    """Fine spectral detail: the mean absolute difference (dB) between the log power
    spectrum and its own running mean over a third of an octave around each bin, over the
    bins from DETAIL_LOW_HZ to DETAIL_HIGH_HZ.

    That difference is the structure a third-octave smoothing removes: the peaks of
    a note's harmonics and the valleys between them, which a continuation that
    blurs its spectrum (an average of what might come next) loses while keeping the
    spectral envelope, the timbre measure's business. The power (``features.stft``)
    is averaged over DETAIL_BLOCK_SECONDS first, so that a held note's harmonics
    stay while the random ripple of noise from frame to frame mostly averages out
    (white noise still reads about 0.7 dB, a melody of notes with four harmonics
    1.5 dB, the same blurred over 200 Hz 0.8 dB), and is floored DETAIL_RANGE_DB below the signal's loudest bin, so that an
    inaudible noise floor cannot decide. Below DETAIL_LOW_HZ a third of an octave
    spans too few bins to smooth.
    """
    spec = stft(np.asarray(samples, np.float32), cfg.n_fft, cfg.hop)
    block = frames_in(DETAIL_BLOCK_SECONDS, cfg.frames_per_second)
    power = _chunks(spec.real.astype(np.float64)**2 + spec.imag**2, block).mean(axis=1)
    if not power.size:
        return 0.0
    db = 10.0 * np.log10(power + 1e-20)
    db = np.maximum(db, db.max() - DETAIL_RANGE_DB)
    freqs = np.arange(db.shape[1]) * cfg.sample_rate / cfg.n_fft
    half = 2.0 ** (DETAIL_SMOOTHING_OCTAVES / 2)
    lo, hi = np.searchsorted(freqs, freqs / half), np.searchsorted(freqs, freqs * half, side="right")
    sums = np.concatenate([np.zeros((len(db), 1)), np.cumsum(db, axis=1)], axis=1)
    smooth = (sums[:, hi] - sums[:, lo]) / (hi - lo)
    band = (freqs >= DETAIL_LOW_HZ) & (freqs <= DETAIL_HIGH_HZ)
    return float(np.abs(db - smooth)[:, band].mean())


def _window_means_db(frames_db: np.ndarray, frames_per_second: float) -> np.ndarray | None:
    """The mean log-mel spectrum of each whole MOVEMENT_SECONDS window; None under two windows."""
    size = frames_in(MOVEMENT_SECONDS, frames_per_second)
    x = np.asarray(frames_db, np.float64)
    return _chunks(x, size).mean(axis=1) if len(x) >= 2 * size else None


def movement_db(frames_db: np.ndarray, frames_per_second: float) -> float | None:
    """Movement: the spread of the successive 4 s mean log-mel spectra, the standard deviation
    over the windows in each band, averaged over bands, in dB; None under 8 s.

    Music has phrases, pauses, builds and breakdowns: its 4 s means differ. A
    continuation that settles into one texture (the seed's average) scores near 0
    over a minute, however much it moves note by note.
    """
    means = _window_means_db(frames_db, frames_per_second)
    return None if means is None else float(means.std(axis=0).mean())


def movement_change_db(frames_db: np.ndarray, frames_per_second: float) -> float | None:
    """How much the texture changes from one 4 s window to the next: the mean, over
    consecutive windows, of the RMS over bands of the difference of their mean log-mel
    spectra, in dB; None under 8 s. (movement_db is the spread over the whole span: a
    slow build moves it without large steps, a texture alternating with another the reverse.)"""
    means = _window_means_db(frames_db, frames_per_second)
    return None if means is None else float(np.sqrt(np.mean(np.diff(means, axis=0) ** 2, axis=1)).mean())


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


def short_term_loudness(samples: np.ndarray, sample_rate: int,
                        hop_seconds: float = LOUDNESS_HOP_SECONDS) -> np.ndarray:
    """BS.1770 short-term loudness (LUFS, K-weighted, ungated) of each 3 s window, every
    ``hop_seconds``; one window over the whole of a shorter signal."""
    import pyloudnorm

    x = np.asarray(samples, np.float64)
    window = min(LOUDNESS_WINDOW_SECONDS, len(x) / sample_rate)
    meter = pyloudnorm.Meter(sample_rate, block_size=window, overlap=max(0.0, 1.0 - hop_seconds / window))
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


def loudness_range_lu(samples: np.ndarray, sample_rate: int) -> float:
    """Loudness range in LU, as EBU Tech 3342's LRA: the spread from the 10th to the 95th
    percentile of the short-term loudness (3 s windows every LRA_HOP_SECONDS), of the windows
    above the absolute gate (-70 LUFS) and within LRA_RELATIVE_GATE_LU of their power mean.

    Music's dynamics: a quiet verse and a loud chorus give several LU, a level held
    steady (a follower holding every window near the seed's) near 0. The gate keeps
    pauses and fade-outs from counting as range.
    """
    windows = short_term_loudness(samples, sample_rate, LRA_HOP_SECONDS)
    windows = windows[windows > LOUDNESS_FLOOR_LUFS]
    if not len(windows):
        return 0.0
    gate = 10.0 * np.log10(np.mean(10.0 ** (windows / 10.0))) - LRA_RELATIVE_GATE_LU
    low, high = np.percentile(windows[windows >= gate], LRA_PERCENTILES)
    return float(high - low)


def clipped_fraction(samples: np.ndarray) -> float:
    """The share of samples at or above full scale (|x| >= FULL_SCALE): hard clipping."""
    return float(np.mean(np.abs(samples) >= FULL_SCALE)) if len(samples) else 0.0


def true_peak_dbtp(samples: np.ndarray) -> float:
    """The true peak in dBTP: the largest magnitude of the signal oversampled 4x (BS.1770
    annex 2), which catches the peaks between samples that a limiter must leave room for. The
    limiter's own reader: the test of this measure checks it on a wave whose true peak is known."""
    return 20.0 * np.log10(max(float(true_peak(samples).max(initial=0.0)), 1e-10))

