"""The key of a clip, with how sure the reading is.

Chroma from a semitone filterbank (constant Q: each note's own band, a
semitone either side) over an 8192-point spectrum (2.7 Hz bins, enough to tell
semitones apart from 65 Hz up), tuned to the clip's own tuning (the circular
mean of its spectral peaks' offset from A440), from the tonal peaks only. The
key signature whose scale holds the most of it comes first, then Temperley's
(Kostka-Payne) profiles choose between its major key and relative minor. How
far that signature's share leads the next one's says how sure it is.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .features import DB_PER_NEPER

MIN_SECONDS = 3.0  # shorter selections get neither tempo nor key

# Spelled as a musician writes the key: the signature with fewer accidentals
# (G# minor, five sharps, not Ab minor, seven flats).
MAJOR_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MINOR_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")
# Temperley (2007), from the Kostka-Payne corpus; music21's TemperleyKostkaPayne.
_MAJOR = np.array([0.748, 0.060, 0.488, 0.082, 0.670, 0.460, 0.096, 0.715, 0.104, 0.366, 0.057, 0.400])
_MINOR = np.array([0.712, 0.084, 0.474, 0.618, 0.049, 0.460, 0.105, 0.747, 0.404, 0.067, 0.133, 0.330])

# A continuation keeps its seed's key where that signature's share of the chroma is within this of
# the best's.
LIKE_COVERAGE = 0.03
# The share of the chroma in the best signature's seven scale tones: noise and drums hold 0.61 (7/12
# of a flat chroma), music 0.75 and more. Under MIN_COVERAGE there is no key; signatures within
# COVERAGE_TIE of the best are tied; a key is sure from KEY_MARGIN over the next signature and a
# profile correlation of KEY_SURE.
MIN_COVERAGE, COVERAGE_TIE, KEY_MARGIN, KEY_SURE = 0.68, 0.01, 0.02, 0.6
_CHROMA_FFT, _CHROMA_HOP = 8192, 4096
_LOWEST_NOTE, _HIGHEST_NOTE = 36, 96  # C2 (65 Hz) to C7 (2.1 kHz)
TONAL_DB, _TONAL_BINS = 10.0, 15  # chroma counts bins this far above the mean of this many around them
# Nothing is pitched where those bins hold less than this share of the power in the notes' range: white
# noise's chance peaks hold 0.02 (and spelled a key on 8 of 60 noises of 10 s), drums none, 8 s of
# pitched music 0.07-0.9; an electronic track's intro of drums alone 0.007.
MIN_TONAL_SHARE = 0.04


@dataclass(frozen=True)
class Key:
    tonic: int  # pitch class, 0 = C
    minor: bool
    correlation: float
    margin: float = 1.0  # its signature's share of the chroma over the next signature's

    @property
    def name(self) -> str:
        names = MINOR_NAMES if self.minor else MAJOR_NAMES
        return f"{names[self.tonic]} {'minor' if self.minor else 'major'}"

    @property
    def sharps(self) -> int:
        """The key signature: sharps (> 0) or flats (< 0)."""
        major_tonic = (self.tonic + 3) % 12 if self.minor else self.tonic
        fifths = (major_tonic * 7) % 12  # steps round the circle of fifths from C
        return fifths - 12 if fifths > 6 or (fifths == 6 and self.minor) else fifths  # F# major, Eb minor

    @property
    def sure(self) -> bool:
        return self.correlation >= KEY_SURE and self.margin >= KEY_MARGIN


def _note_filters(sample_rate: int, tuning: float, n_fft: int = _CHROMA_FFT, beyond: int = _TONAL_BINS) -> np.ndarray:
    """Bins of an ``n_fft`` spectrum -> notes _LOWEST_NOTE.._HIGHEST_NOTE: cos² over each note's
    semitone either side (adjacent notes' weights sum to 1), centred on the tuned pitches. Only the
    bins up to the highest note's reach and ``beyond`` more (its neighbourhood) have rows: the
    fifth of the spectrum the chroma uses.

    Built from each bin's two nearest notes, not by evaluating every note at every bin: the tuning
    differs from clip to clip, so this runs once per analysis."""
    top = 440.0 * 2.0 ** ((_HIGHEST_NOTE + 1 + tuning - 69.0) / 12.0)  # where the highest note's reach ends
    bins = min(int(np.ceil(top * n_fft / sample_rate)) + beyond, n_fft // 2 + 1)
    hz = np.maximum(np.arange(bins) * sample_rate / n_fft, 1.0)
    pitch = 12.0 * np.log2(hz / 440.0) + 69.0 - tuning
    n_notes = _HIGHEST_NOTE - _LOWEST_NOTE + 1
    below = np.floor(pitch)
    share = np.cos(0.5 * np.pi * (pitch - below)) ** 2  # the note below's; the one above gets the rest
    below = below.astype(int) - _LOWEST_NOTE
    filters = np.zeros((len(pitch), n_notes), np.float32)
    rows = np.arange(len(pitch))
    for note, weight in ((below, share), (below + 1, 1.0 - share)):
        inside = (note >= 0) & (note < n_notes)
        filters[rows[inside], note[inside]] = weight[inside]
    return filters


def _spectra(samples: np.ndarray) -> np.ndarray:
    """Power spectra of _CHROMA_FFT-sample Hann windows at _CHROMA_HOP: frames x bins."""
    x = np.asarray(samples, np.float32)
    if len(x) < _CHROMA_FFT:
        x = np.pad(x, (0, _CHROMA_FFT - len(x)))
    import scipy.fft  # here, not at import: see features.stft

    windows = np.lib.stride_tricks.sliding_window_view(x, _CHROMA_FFT)[::_CHROMA_HOP]
    spectrum = scipy.fft.rfft(windows * _hann(_CHROMA_FFT), axis=1)  # float32 in, complex64 out
    return spectrum.real ** 2 + spectrum.imag ** 2


@functools.lru_cache(maxsize=2)
def _hann(n: int) -> np.ndarray:
    return np.hanning(n).astype(np.float32)


def estimate_tuning(power: np.ndarray, sample_rate: int) -> float:
    """The clip's offset from A440 in semitones (-0.5..0.5): the circular mean of its mean spectrum's
    peaks' offsets from the equal-tempered grid, each weighted by its power."""
    mean = np.log(power.mean(axis=0) + 1e-20)
    a, b, c = mean[:-2], mean[1:-1], mean[2:]
    k = np.nonzero((b > a) & (b >= c) & (b > mean.max() - np.log(1e4)))[0]  # peaks within 40 dB
    curvature = a[k] - 2 * b[k] + c[k]
    offset = np.where(curvature < 0, 0.5 * (a[k] - c[k]) / np.where(curvature < 0, curvature, -1.0), 0.0)
    hz = (k + 1 + offset) * sample_rate / _CHROMA_FFT
    use = (hz >= 80.0) & (hz <= 2000.0)
    if not use.any():
        return 0.0
    deviation = 12.0 * np.log2(hz[use] / 440.0)
    weight = np.exp(b[k][use] - b[k][use].max())
    angle = np.angle(np.sum(weight * np.exp(2j * np.pi * deviation)))
    return float(angle / (2 * np.pi))


def tuning(samples: np.ndarray, sample_rate: int) -> float:
    """The clip's offset from A440 in semitones, to a hundredth (estimate_tuning on its spectra)."""
    return round(estimate_tuning(_spectra(samples), sample_rate), 2)


def pitch_class_filters(n_fft: int, sample_rate: int, tuning_offset: float) -> np.ndarray:
    """Bins of an ``n_fft`` spectrum (all of them) -> the 12 pitch classes, C first: each bin's
    share of its two nearest notes from C2 to C7, folded by pitch class; 0 outside that range."""
    notes = _note_filters(sample_rate, tuning_offset, n_fft, beyond=0)
    classes = np.zeros((n_fft // 2 + 1, 12), np.float32)
    classes[:len(notes)] = _by_pitch_class(notes)
    return classes


def _by_pitch_class(notes: np.ndarray) -> np.ndarray:
    """Columns of notes _LOWEST_NOTE.._HIGHEST_NOTE summed into the 12 pitch classes, C first."""
    classes = np.zeros((len(notes), 12))
    for pc in range(12):
        classes[:, pc] = notes[:, (pc - _LOWEST_NOTE) % 12::12].sum(axis=1)
    return classes


def _moving_mean(x: np.ndarray, width: int) -> np.ndarray:
    """Each row's mean over ``width`` columns centred on each column (the edges over fewer)."""
    sums = np.concatenate([np.zeros((len(x), 1)), np.cumsum(x, axis=1, dtype=np.float64)], axis=1)
    lo = np.clip(np.arange(x.shape[1]) - width // 2, 0, x.shape[1])
    hi = np.clip(np.arange(x.shape[1]) + width // 2 + 1, 0, x.shape[1])
    return (sums[:, hi] - sums[:, lo]) / (hi - lo)


def chroma(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mean chroma (12,), summing to 1 (zeros where nothing is pitched, MIN_TONAL_SHARE): each
    frame's note powers folded to pitch classes and scaled to sum 1, frames more than 20 dB below the
    loudest left out.

    Only the bins standing TONAL_DB above their neighbourhood's mean (_TONAL_BINS, 40 Hz) count:
    drums and noise spread their power flat across the semitones and drowned the key of
    electronic music (its best signature's share fell to that of noise)."""
    power = _spectra(samples)
    filters = _note_filters(sample_rate, round(estimate_tuning(power, sample_rate), 2))
    power = power[:, :len(filters)]
    log = np.log(power + 1e-30)
    tonal = log - _moving_mean(log, _TONAL_BINS) > TONAL_DB / DB_PER_NEPER
    notes = (power * tonal) @ filters
    if notes.sum() < MIN_TONAL_SHARE * (power @ filters).sum():
        return np.zeros(12)  # noise: its few chance peaks would spell a key
    classes = _by_pitch_class(notes)
    total = classes.sum(axis=1)
    if not total.any():
        return np.zeros(12)
    loud = total > total.max() * 1e-2
    profile = (classes[loud] / total[loud, None]).mean(axis=0)
    return profile / profile.sum()


def _standardised(x: np.ndarray) -> np.ndarray:
    return (x - x.mean(axis=-1, keepdims=True)) / x.std(axis=-1, keepdims=True)


# Every tonic's profile, standardised: (2 modes, 12 tonics, 12 pitch classes).
_KEYS = _standardised(np.stack([p[(np.arange(12)[None, :] - np.arange(12)[:, None]) % 12] for p in (_MAJOR, _MINOR)]))
# Each major key's seven scale tones (its signature's, shared with its relative minor): (12 tonics, 12).
DIATONIC = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], float)[(np.arange(12)[None, :] - np.arange(12)[:, None]) % 12]


def key_correlations(profile: np.ndarray) -> np.ndarray:
    """Correlation of a 12-bin chroma profile with the 24 keys: (2, 12), [major, minor] x tonic."""
    if np.ptp(profile) == 0:
        return np.zeros((2, 12))
    return _KEYS @ _standardised(np.asarray(profile, np.float64)) / 12.0


def key_from_chroma(profile: np.ndarray, like: Key | None = None) -> Key | None:
    """The signature whose seven scale tones hold the most of the chroma, then of its major key and
    relative minor the one whose profile correlates better. None where no key correlates at KEY_NONE.

    Choosing the signature first keeps the key from flipping between neighbours (a minor key's
    raised seventh otherwise pulls it towards its dominant). like: the key of the music this
    continues, kept where its signature holds within LIKE_COVERAGE of the best's share."""
    coverage = DIATONIC @ profile
    if coverage.max() < MIN_COVERAGE:
        return None
    corr = key_correlations(profile)
    relative = (np.arange(12) + 9) % 12
    best_of_signature = np.maximum(corr[0], corr[1, relative])
    # Signatures all but tied on coverage (a lone triad lies in three) go by the profiles.
    close = coverage >= coverage.max() - COVERAGE_TIE
    major = int(np.argmax(np.where(close, best_of_signature, -np.inf)))
    minor = int(relative[major])
    is_minor = corr[1, minor] > corr[0, major]
    tonic = minor if is_minor else major
    if like is not None:
        like_major = (like.tonic + 3) % 12 if like.minor else like.tonic
        if coverage[like_major] >= coverage.max() - LIKE_COVERAGE:
            return like  # read as the seed is, as sure as it
    margin = float(coverage[major] - np.max(np.delete(coverage, major)))
    return Key(tonic, bool(is_minor), float(corr[int(is_minor), tonic]), margin)


def estimate_key(samples: np.ndarray, sample_rate: int, like: Key | None = None) -> Key | None:
    if len(samples) < MIN_SECONDS * sample_rate:
        return None
    return key_from_chroma(chroma(samples, sample_rate), like)
