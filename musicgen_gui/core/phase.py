"""Streaming phase reconstruction: predicted log-power frames to audio samples.

Method (see ``benchmarks/phase_quality.py`` for the measurements behind it):

1. The model's frames (hop ``cfg.hop``) are interpolated linearly in log power to
   ``oversample`` sub-frames per frame, so synthesis runs at hop ``cfg.hop //
   oversample`` with 8x window overlap instead of 2x; phase retrieval is far
   better posed there. The interpolated sub-frame at each model frame equals it.
2. Each new sub-frame gets an initial phase from a phase-locked vocoder: spectral
   peaks (regions delimited by magnitude valleys) advance their phase at their
   parabolically interpolated frequency, and every bin of a peak's region takes
   the peak's phase, measured at the window centre (rigid phase locking).
3. The sub-frames that still touch unplayed samples are refined by a few batched
   Griffin-Lim (RTISI-LA style) passes in which the samples already played, and
   the seed's, are fixed. That keeps the frames consistent with each other and
   makes the continuation join the seed without a click.

Everything per push is a fixed number of numpy calls on preallocated arrays; no
state grows with the number of pushes.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from .errors import ModelError
from .features import FeatureConfig, hann, log_to_magnitude, stft, stft_scale


class StreamingPhaseReconstructor:
    """Turns log-power frames into samples as they arrive.

    ``prime(seed)`` once (or again to start over), then ``push(frame)`` per model
    frame. The first ``latency_frames`` pushes return no samples; every later push
    returns exactly ``cfg.hop`` new samples (a new array each time).
    """

    def __init__(
        self,
        cfg: FeatureConfig,
        oversample: int = 2,
        iterations: int = 2,
        lookahead: int = 0,
        step: float = 0.5,
    ):
        """oversample: vocoder sub-frames per model frame (hop cfg.hop // oversample).
        iterations: consistency passes per push over the frames not yet played.
        lookahead: extra model frames of delay, giving each frame more passes.
        step: size of each pass relative to a plain Griffin-Lim update.
        """
        hs = cfg.hop // oversample if oversample >= 1 else 0
        if hs < 1 or cfg.hop % oversample or cfg.n_fft % hs or cfg.n_fft % cfg.hop:
            raise ModelError(f"oversample {oversample} must divide hop {cfg.hop} into a divisor of n_fft")
        if iterations < 0 or lookahead < 0 or step <= 0:
            raise ModelError("iterations and lookahead must not be negative, step must be positive")
        n, nb = cfg.n_fft, cfg.n_fft // 2 + 1
        self.cfg = cfg
        self._r, self._hs, self._nb = oversample, hs, nb
        self._iterations = iterations
        window = hann(n)
        # Overlap-adding squared windows must give a constant (the WOLA gain).
        overlap = (window.astype(np.float64) ** 2).reshape(n // hs, hs).sum(axis=0)
        if np.ptp(overlap) > 1e-6 * overlap.mean():
            raise ModelError(f"a synthesis hop of {hs} is too coarse for n_fft {n}: use more oversampling")
        self._window = window
        self._synth_window = (window / np.float32(overlap[0])).astype(np.float32)
        # The passes move the signal by `step` times a Griffin-Lim update at the model hop.
        model_gain = float(np.sum(window.astype(np.float64) ** 2)) / cfg.hop
        self._update_window = (window * np.float32(step / model_gain)).astype(np.float32)
        self._scale = np.float32(stft_scale(n))

        # Output block q is complete once every sub-frame starting inside it exists.
        self._latency = -(-(n // hs - 1) // oversample) + lookahead
        self._n_frames = self._latency + 1  # model frames touching unplayed samples
        # Signal from the oldest sub-frame touching unplayed samples: played (or seed)
        # samples first, then the unplayed ones; model frame k starts at lead + k*hop.
        self._known = n - hs
        self._lead = cfg.hop - hs
        self._signal = np.zeros(self._known + self._n_frames * cfg.hop, np.float32)
        self._segments = np.lib.stride_tricks.sliding_window_view(self._signal[self._lead:], n)[:: cfg.hop]
        self._hop_blocks = self._signal[self._lead:].reshape(-1, cfg.hop)
        self._sub_blocks = self._signal.reshape(-1, hs)
        self._target = np.zeros((self._n_frames, nb), np.float32)  # magnitudes / scale
        self._n_pushed = 0

        self._bins = np.arange(nb, dtype=np.float32)
        self._alternating = np.where(np.arange(nb) % 2, -1.0, 1.0).astype(np.float32)
        self._advance = np.float32(2 * np.pi * hs / n)  # phase per bin of frequency per sub-frame
        self._fractions = (np.arange(1, oversample + 1, dtype=np.float32) / oversample)[:, None]
        # The vocoder works on the sub-frames' bins flattened row by row, and reads
        # log power from rows padded with one very low value on each side.
        self._padded = np.full((oversample, nb + 2), -1e30, np.float32)
        self._padded_flat = self._padded.reshape(-1)
        flat_bin = np.tile(np.arange(nb), oversample)
        self._flat_bin = flat_bin
        self._flat_bin_f = flat_bin.astype(np.float32)
        self._row_starts = np.arange(1, oversample) * nb
        # Each bin's left, own and right neighbour in the padded rows, mirrored at the
        # band edges so that an edge peak gets no frequency offset.
        centre = np.repeat(np.arange(oversample) * (nb + 2), nb) + flat_bin + 1
        left = np.where(flat_bin == 0, centre + 1, centre - 1)
        right = np.where(flat_bin == cfg.n_bins - 1, centre - 1, centre + 1)
        self._neighbours = np.stack([left, centre, right])
        self._prev_log = np.zeros(cfg.n_bins, np.float32)
        self._sub_mag = np.zeros((oversample, nb), np.float32)  # bins above n_bins stay 0
        self._last_phase = np.zeros(nb, np.float32)  # window-centred phase of the newest frame
        self._primed = False

    @property
    def latency_frames(self) -> int:
        """Pushes that return no samples before the first ``cfg.hop`` samples."""
        return self._latency

    def prime(self, seed: np.ndarray) -> None:
        """Start a continuation of ``seed``.

        seed: mono float32 at cfg.sample_rate, already aligned with
        ``features.align_to_frames`` (its last STFT frame ends on its last sample),
        at least ``cfg.n_fft`` samples. Its last frame's magnitude and phase, and its
        last samples, anchor the continuation so the seam does not click.
        """
        cfg = self.cfg
        seed = np.asarray(seed, np.float32)
        if seed.ndim != 1 or len(seed) < cfg.n_fft:
            raise ModelError(f"the seed must be mono with at least {cfg.n_fft} samples")
        last = stft(seed[-cfg.n_fft:], cfg.n_fft, cfg.n_fft)[0]
        power = last.real[: cfg.n_bins] ** 2 + last.imag[: cfg.n_bins] ** 2
        self._prev_log[:] = np.log(power + cfg.log_floor)
        self._last_phase[:] = np.angle(last) + np.pi * self._bins
        self._signal[:] = 0.0
        self._signal[: self._known] = seed[-self._known:]
        self._target[:] = 0.0
        self._n_pushed = 0
        self._primed = True

    def push(self, log_power_frame: np.ndarray) -> np.ndarray:
        """Add the next model frame; return the samples that became final.

        log_power_frame: shape (cfg.n_bins,), natural-log power, the frame after the
        seed's last frame (then after the previously pushed one). Returns float32
        samples continuing the seed from sample len(seed) on: empty for the first
        ``latency_frames`` pushes, then cfg.hop samples per push.
        """
        if not self._primed:
            raise ModelError("prime() the phase reconstruction with a seed before pushing frames")
        cfg = self.cfg
        frame = np.asarray(log_power_frame, np.float32)
        if frame.shape != (cfg.n_bins,):
            raise ModelError(f"a frame must have shape ({cfg.n_bins},), not {frame.shape}")
        n, hop, hs, r = cfg.n_fft, cfg.hop, self._hs, self._r
        active = self._n_pushed = min(self._n_pushed + 1, self._n_frames)

        sub_log = self._prev_log + (frame - self._prev_log) * self._fractions
        self._prev_log[:] = frame
        sub_mag = self._sub_mag
        sub_mag[:, : cfg.n_bins] = log_to_magnitude(sub_log, cfg) / self._scale
        self._target[active - 1] = sub_mag[-1]
        # Overlap-add the new sub-frames (the last is the new model frame) into the
        # unplayed samples, which start at sub-block n // hs - 1.
        frames = scipy.fft.irfft(self._vocoder(sub_log, sub_mag), n)
        frames *= self._synth_window
        first, unplayed = (active - 1) * r, n // hs - 1
        for b in range(n // hs):
            skip = max(0, unplayed - first - b)
            if skip < r:
                self._sub_blocks[first + b + skip:first + b + r] += frames[skip:, b * hs:(b + 1) * hs]

        # Griffin-Lim passes over the model frames touching unplayed samples, with
        # the played ones fixed: move towards the target magnitudes at the current phases.
        segments, target, unplayed = self._segments[:active], self._target[:active], n // hop - 1
        for _ in range(self._iterations):
            spec = scipy.fft.rfft(segments * self._window)
            # The next push's vocoder continues the newest frame's phase.
            np.arctan2(spec[-1].imag, spec[-1].real, out=self._last_phase)
            gain = np.abs(spec)
            np.divide(target, gain, out=gain, where=gain > 1e-12)
            gain -= 1.0
            spec *= gain
            update = scipy.fft.irfft(spec, n)
            update *= self._update_window
            for b in range(n // hop):
                skip = max(0, unplayed - b)
                if skip < active:
                    self._hop_blocks[b + skip:b + active] += update[skip:, b * hop:(b + 1) * hop]
        if self._iterations:
            self._last_phase += np.pi * self._bins  # to window-centred phase

        if active < self._n_frames:
            return np.zeros(0, np.float32)
        out = self._signal[self._known:self._known + hop].copy()
        # The oldest model frame no longer touches unplayed samples: drop it.
        self._signal[:-hop] = self._signal[hop:]
        self._signal[-hop:] = 0.0
        self._target[:-1] = self._target[1:]
        self._n_pushed -= 1
        return out

    def _vocoder(self, sub_log: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Phase-locked vocoder spectra for the new sub-frames (rows of sub_log)."""
        r, nb, nbins = self._r, self._nb, self.cfg.n_bins
        padded = self._padded
        padded[:, 1:nbins + 1] = sub_log
        # With the low padding, peaks and valleys alternate along each row, which
        # opens with a (forced) valley and ends with a peak: each region between
        # valleys holds one peak, so a running count of valleys numbers the regions.
        rising = padded[:, 1:] > padded[:, :-1]
        peak = np.greater(rising[:, :-1], rising[:, 1:])
        valley = np.ones((r, nb), bool)
        np.less(rising[:, 1:-1], rising[:, 2:], out=valley[:, 1:])
        region = np.add.accumulate(valley.reshape(-1), dtype=np.int32)
        region -= 1
        peaks = peak.reshape(-1).nonzero()[0]  # region k's peak is peaks[k]
        row_ends = np.searchsorted(peaks, self._row_starts)

        # Peak frequency by parabolic interpolation of log power; a true peak's
        # curvature is negative and its offset within half a bin.
        left, centre, right = self._padded_flat[self._neighbours[:, peaks]]
        curvature = left - 2 * centre + right
        offset = np.zeros(len(peaks), np.float32)
        np.divide(0.5 * (left - right), curvature, out=offset, where=curvature < 0)
        advance = (self._flat_bin_f[peaks] + offset) * self._advance

        # Each peak continues the previous sub-frame's (window-centred) phase at its bin.
        bins = self._flat_bin[peaks]
        phase = np.empty(len(peaks), np.float32)
        first = row_ends[0] if r > 1 else len(peaks)
        phase[:first] = self._last_phase[bins[:first]]
        for i in range(1, r):
            rows = slice(row_ends[i - 1], row_ends[i] if i < r - 1 else len(peaks))
            phase[rows] = phase[region[(i - 1) * nb + bins[rows]]]
        phase += advance
        self._last_phase[:] = phase[region[(r - 1) * nb:]]
        phasor = np.empty(len(peaks), np.complex64)
        phasor.real = np.cos(phase)
        phasor.imag = np.sin(phase)
        # Window-centred to frame-start phase is a factor (-1)^k per bin.
        return phasor[region].reshape(r, nb) * (target * self._alternating)


def spectral_convergence(target_log_power: np.ndarray, signal: np.ndarray, cfg: FeatureConfig) -> float:
    """||target_mag - |STFT(signal)| ||_F / ||target_mag||_F on the feature STFT.

    Frame m of ``target_log_power`` is compared with the frame of ``signal`` that
    starts at sample m*hop, over the frames both have.
    """
    target = np.asarray(target_log_power, np.float32)
    spec = stft(np.asarray(signal, np.float32), cfg.n_fft, cfg.hop)[:, : cfg.n_bins]
    n = min(len(target), len(spec))
    if n == 0:
        raise ValueError("the signal has no frame in common with the target")
    target_mag = log_to_magnitude(target[:n], cfg).astype(np.float64)
    error = np.linalg.norm(target_mag - np.abs(spec[:n]))
    norm = np.linalg.norm(target_mag)
    if norm == 0.0:
        return 0.0 if error == 0.0 else float("inf")
    return float(error / norm)
