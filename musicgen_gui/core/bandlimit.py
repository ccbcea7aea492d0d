"""Keeping the continuation inside the seed's bandwidth.

Phase reconstruction of predicted frames is never perfectly consistent, and the
inconsistency splatters across the spectrum some 40 dB below the music. Where
the seed has sound that is masked. Where the seed is digitally empty (a
soundfont's samples stop at 6 kHz, a recording was low-passed) it is hiss the
seed never had, loud enough to change the timbre, while the same reconstruction
of the true frames stays close to the seed's (docs/EVALUATION.md).

So the continuation is low-passed just above the seed's highest bin with sound
in it, when that is below ``FULL_BAND`` of Nyquist; a seed with sound (or only a
noise floor) up to the top is left alone.
"""

from __future__ import annotations

import numpy as np

from .features import FADE_SAMPLES, FeatureConfig, fade_in

# A bin holds sound when its mean power over the seed is this far above the
# features' floor (the digital silence of features.log_power).
ABOVE_FLOOR_DB = 10.0
FULL_BAND = 0.95  # seeds with sound this close to Nyquist are not filtered
ORDER = 8  # Butterworth: about 25 dB down a third of an octave above the cutoff
# Filtered this many samples at a time: per frame (512) the calls cost 7 % of generation.
# The loudness stage after it holds back far more for its look-ahead, so first sound waits no longer.
CHUNK_SAMPLES = 2048


def seed_bandwidth_hz(seed_frames: np.ndarray, cfg: FeatureConfig) -> float | None:
    """The top of the seed's sound (Hz) from its log-power frames, or None when it
    reaches (nearly) to Nyquist."""
    floor_db = 10.0 * np.log10(cfg.log_floor)
    frames = np.asarray(seed_frames, np.float32)
    # In float32 and in blocks: a 10-minute seed's powers in float64 at once took 280 ms before first sound.
    power = sum(np.exp(frames[i:i + 2048]).sum(axis=0, dtype=np.float64) for i in range(0, len(frames), 2048))
    mean_db = 10.0 * np.log10(power / max(1, len(frames)))
    sounding = np.nonzero(mean_db >= floor_db + ABOVE_FLOOR_DB)[0]
    top = (sounding[-1] + 1 if len(sounding) else 1) * cfg.sample_rate / cfg.n_fft
    return top if top < FULL_BAND * cfg.sample_rate / 2 else None


class BandLimit:
    """Streams the continuation through a low-pass at ``cutoff_hz`` (None: passes it
    through), its state warmed on the seed's last samples; in CHUNK_SAMPLES at a time,
    holding back the rest."""

    def __init__(self, cutoff_hz: float | None, sample_rate: int, seed_tail: np.ndarray):
        self.cutoff = cutoff_hz
        if cutoff_hz is None:
            return
        import scipy.signal  # half a second to import: in the generating thread, not at start-up

        self._sos = scipy.signal.butter(ORDER, cutoff_hz, fs=sample_rate, output="sos")
        tail = np.asarray(seed_tail, np.float64)
        zi = scipy.signal.sosfilt_zi(self._sos) * (tail[0] if len(tail) else 0.0)
        self._zi = scipy.signal.sosfilt(self._sos, tail, zi=zi)[1]
        self._faded = 0
        self._held = np.zeros(0, np.float32)

    def process(self, samples: np.ndarray) -> np.ndarray:
        samples = np.asarray(samples, np.float32)
        if self.cutoff is None:
            return samples
        held = np.concatenate([self._held, samples])
        whole = len(held) // CHUNK_SAMPLES * CHUNK_SAMPLES
        self._held = held[whole:]
        return self._filter(held[:whole])

    def flush(self) -> np.ndarray:
        """The samples held back, filtered: the continuation ends here."""
        if self.cutoff is None:
            return np.zeros(0, np.float32)
        held, self._held = self._held, np.zeros(0, np.float32)
        return self._filter(held)

    def _filter(self, samples: np.ndarray) -> np.ndarray:
        if not len(samples):
            return samples
        import scipy.signal

        filtered, self._zi = scipy.signal.sosfilt(self._sos, samples.astype(np.float64), zi=self._zi)
        if self._faded < FADE_SAMPLES:
            k = min(len(samples), FADE_SAMPLES - self._faded)
            mix = fade_in()[self._faded:self._faded + k]  # the filtered signal fades in: the seam cannot click
            filtered[:k] = samples[:k] + mix * (filtered[:k] - samples[:k])
            self._faded += k
        return filtered.astype(np.float32)
