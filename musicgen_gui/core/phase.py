"""Streaming phase reconstruction: predicted log-power frames to audio samples.

The method, chosen by measurement (``benchmarks/phase_quality.py``):

1. Initial phases come from a phase-locked vocoder running at ``oversample``
   sub-frames per model frame (log power interpolated linearly between frames):
   each spectral peak advances its phase at its parabolically interpolated
   frequency, and every bin of its region (up to the magnitude valleys either
   side) takes the peak's phase, measured at the window centre (rigid locking).
2. Then, per push, a few Griffin-Lim passes (with heavy-ball momentum) run over
   the model frames that still touch unplayed samples (RTISI-LA style), with the
   played samples (at first the seed's) held fixed; only the model frames'
   magnitudes are imposed, as the interpolated ones are guesses. ``lookahead``
   delays the output by that many more frames so each frame gets more passes
   before it is heard.
3. The first output cross-fades (12 ms) from the seed's own continuation as a
   linear predictor extrapolates it, because phase retrieval may settle on an
   equally consistent but different phase for some component (the sign of a bass
   note, say), and the seed's samples cannot move to meet it: that would click.

Every push does a fixed amount of work on preallocated arrays (no per-bin Python
loops), and no state grows with the number of pushes.
"""

from __future__ import annotations

import numpy as np

from .errors import ModelError
from .features import FADE_SAMPLES, FeatureConfig, fade_in, hann, log_to_magnitude, power_to_log, stft, stft_scale


# The first output (FADE_SAMPLES of it) cross-fades from the seed's continuation as
# predicted by a linear predictor of this order.
_SEAM_LPC_ORDER = 32


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
        lookahead: int = 2,
        step: float = 1.5,
        momentum: float = 0.3,
    ):
        """oversample: vocoder sub-frames per model frame (hop cfg.hop // oversample).
        iterations: Griffin-Lim passes per push over the frames not yet played.
        lookahead: extra pushes of delay, giving each frame more passes.
        step: size of a pass relative to a plain Griffin-Lim update (above ~1.7
        the passes overshoot).
        momentum: share of the previous passes' change carried into the next pass.
        """
        if cfg.n_fft % cfg.hop:
            raise ModelError(f"phase reconstruction needs a hop ({cfg.hop}) that divides n_fft ({cfg.n_fft})")
        if oversample < 1 or cfg.hop % oversample:
            raise ModelError(f"oversample {oversample} must divide the hop ({cfg.hop})")
        if iterations < 0 or lookahead < 0 or not step > 0 or not 0 <= momentum < 1:
            raise ModelError("iterations and lookahead must not be negative, step must be positive "
                             "and momentum between 0 and 1")
        hs = cfg.hop // oversample
        n, nb = cfg.n_fft, cfg.n_fft // 2 + 1
        self.cfg = cfg
        self._r, self._hs, self._nb = oversample, hs, nb
        self._iterations = iterations
        self._momentum = np.float32(momentum)
        window = hann(n)
        # Overlap-adding squared windows must give a constant (the WOLA gain).
        overlap = (window.astype(np.float64) ** 2).reshape(n // hs, hs).sum(axis=0)
        if np.ptp(overlap) > 1e-6 * overlap.mean():
            raise ModelError(f"a vocoder hop of {hs} is too coarse for n_fft {n}: oversample more")
        self._window = window
        self._synth_window = (window / np.float32(overlap[0])).astype(np.float32)
        # The passes move the signal by `step` times a Griffin-Lim update at the model hop.
        model_gain = float(np.sum(window.astype(np.float64) ** 2)) / cfg.hop
        self._update_window = (window * np.float32(step / model_gain)).astype(np.float32)
        self._scale = np.float32(stft_scale(n))

        # Output block q is complete once every sub-frame starting inside it exists.
        self._latency = -(-(n // hs - 1) // oversample) + lookahead
        self._n_frames = self._latency + 1  # model frames touching unplayed samples
        # The signal from the oldest sub-frame touching unplayed samples: `known`
        # played (or seed) samples, then the unplayed ones. Model frame k of the
        # window starts at lead + k*hop.
        self._known = n - hs
        self._lead = cfg.hop - hs
        self._signal = np.zeros(self._known + self._n_frames * cfg.hop, np.float32)
        self._segments = np.lib.stride_tricks.sliding_window_view(self._signal[self._lead:], n)[:: cfg.hop]
        # The passes' running change (heavy-ball momentum), zero on played samples.
        self._velocity = np.zeros_like(self._signal)
        self._velocity_blocks = self._velocity[self._lead:].reshape(-1, cfg.hop)
        self._target = np.zeros((self._n_frames, nb), np.float32)  # magnitudes / scale
        self._n_pushed = 0

        self._half_turns = (np.pi * np.arange(nb)).astype(np.float32)  # frame start to centre
        self._alternating = np.where(np.arange(nb) % 2, -1.0, 1.0).astype(np.float32)
        self._advance = np.float32(2 * np.pi * hs / n)  # phase per bin of frequency per sub-frame
        self._fractions = (np.arange(1, oversample + 1, dtype=np.float32) / oversample)[:, None]
        # The vocoder works on the sub-frames' bins flattened row by row, and reads
        # log power from rows padded with one very low value on each side.
        self._padded = np.full((oversample, nb + 2), -1e30, np.float32)
        self._valley = np.ones((oversample, nb), bool)  # column 0 stays True
        self._padded_flat = self._padded.reshape(-1)
        flat_bin = np.tile(np.arange(nb), oversample)
        self._flat_bin = flat_bin
        self._flat_bin_f = flat_bin.astype(np.float32)
        self._row_ends = np.arange(1, oversample + 1) * nb
        # Each bin's left, own and right neighbour in the padded rows, mirrored at the
        # band edges so that an edge peak gets no frequency offset.
        centre = np.repeat(np.arange(oversample) * (nb + 2), nb) + flat_bin + 1
        left = np.where(flat_bin == 0, centre + 1, centre - 1)
        right = np.where(flat_bin == cfg.n_bins - 1, centre - 1, centre + 1)
        self._neighbours = np.stack([left, centre, right])
        import scipy.fft  # here, not at import: see features.stft

        self._rfft, self._irfft = scipy.fft.rfft, scipy.fft.irfft
        self._prev_log = np.zeros(cfg.n_bins, np.float32)
        self._sub_mag = np.zeros((oversample, nb), np.float32)  # bins above n_bins stay 0
        self._last_phase = np.zeros(nb, np.float32)  # window-centred phase of the newest frame
        # Phases read from near-silent bins would all be zero, which lines them up into
        # a click; a random phasor at the log floor's level breaks the tie.
        dither = np.random.default_rng(0).uniform(-np.pi, np.pi, nb)
        self._dither = (np.sqrt(cfg.log_floor) / self._scale * np.exp(1j * dither)).astype(np.complex64)
        fade = min(FADE_SAMPLES, cfg.hop)
        self._seam_fade = fade_in(fade)
        self._seam_prediction = np.zeros(fade, np.float32)
        self.seam_samples = fade  # the first output samples that cross-fade from the seed's continuation
        self._primed = self._started = False

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
        if not np.isfinite(seed[-cfg.n_fft:]).all():
            raise ModelError("the seed holds NaN or infinite samples")
        last = stft(seed[-cfg.n_fft:], cfg.n_fft, cfg.n_fft)[0]
        self._prev_log[:] = power_to_log(last.real[: cfg.n_bins] ** 2 + last.imag[: cfg.n_bins] ** 2, cfg)
        self._last_phase[:] = np.angle(last / self._scale + self._dither) + self._half_turns
        self._seam_prediction[:] = _extrapolate(seed[-cfg.n_fft:], len(self._seam_fade), _SEAM_LPC_ORDER)
        self._signal[:] = 0.0
        self._signal[: self._known] = seed[-self._known:]
        self._velocity[:] = 0.0
        self._target[:] = 0.0
        self._n_pushed = 0
        self._started = False
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
        if not np.isfinite(frame).all():
            # A NaN would live on in the phase state and silence everything after it.
            raise ModelError("a log-power frame holds NaN or infinite values")
        n, hop, hs, r = cfg.n_fft, cfg.hop, self._hs, self._r
        active = self._n_pushed = min(self._n_pushed + 1, self._n_frames)

        sub_log = self._prev_log + (frame - self._prev_log) * self._fractions
        self._prev_log[:] = frame
        sub_mag = self._sub_mag
        sub_mag[:, : cfg.n_bins] = log_to_magnitude(sub_log, cfg) / self._scale
        self._target[active - 1] = sub_mag[-1]
        # Overlap-add the new sub-frames (the last is the new model frame) into the
        # unplayed samples.
        frames = self._irfft(self._vocoder(sub_log, sub_mag), n)
        frames *= self._synth_window
        for i in range(r):
            start = ((active - 1) * r + i) * hs
            skip = max(0, self._known - start)
            self._signal[start + skip:start + n] += frames[i, skip:]

        # Griffin-Lim passes over the model frames touching unplayed samples, with
        # the played ones fixed: move towards the target magnitudes at the current phases.
        segments, target, unplayed = self._segments[:active], self._target[:active], n // hop - 1
        for i in range(self._iterations):
            spec = self._rfft(segments * self._window)
            if i == self._iterations - 1:
                # The next push's vocoder continues the newest frame's phase.
                newest = spec[-1] + self._dither
                np.arctan2(newest.imag, newest.real, out=self._last_phase)
                self._last_phase += self._half_turns  # to window-centred phase
            gain = np.abs(spec)
            np.divide(target, gain, out=gain, where=gain > 1e-12)
            gain -= 1.0
            spec *= gain
            update = self._irfft(spec, n)
            update *= self._update_window
            self._velocity *= self._momentum
            for b in range(n // hop):
                skip = max(0, unplayed - b)
                if skip < active:
                    self._velocity_blocks[b + skip:b + active] += update[skip:, b * hop:(b + 1) * hop]
            self._signal += self._velocity

        if active < self._n_frames:
            return np.zeros(0, np.float32)
        out = self._signal[self._known:self._known + hop].copy()
        if not self._started:
            # Cross-fade from the seed's predicted continuation (see the top).
            k = len(self._seam_fade)
            out[:k] = self._seam_prediction + (out[:k] - self._seam_prediction) * self._seam_fade
            self._started = True
        # The oldest model frame no longer touches unplayed samples: drop it.
        for buf in (self._signal, self._velocity):
            buf[:-hop] = buf[hop:]
            buf[-hop:] = 0.0
        self._velocity[: self._known] = 0.0
        self._target[:-1] = self._target[1:]
        self._n_pushed -= 1
        return out

    def _vocoder(self, sub_log: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Phase-locked vocoder spectra for the new sub-frames (rows of sub_log);
        leaves the last one's window-centred phase in _last_phase."""
        r, nb, nbins = self._r, self._nb, self.cfg.n_bins
        padded = self._padded
        padded[:, 1:nbins + 1] = sub_log
        # With the low padding, peaks and valleys alternate along each row, which
        # opens with a (forced) valley and ends with a peak: each region between
        # valleys holds one peak, so a running count of valleys numbers the regions.
        rising = padded[:, 1:] > padded[:, :-1]
        peak = np.greater(rising[:, :-1], rising[:, 1:])
        valley = self._valley
        np.less(rising[:, 1:-1], rising[:, 2:], out=valley[:, 1:])
        region = np.add.accumulate(valley.reshape(-1), dtype=np.int32)
        region -= 1
        peaks = peak.reshape(-1).nonzero()[0]  # region k's peak is peaks[k]
        row_ends = np.searchsorted(peaks, self._row_ends)

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
        rows = slice(0, row_ends[0])
        phase[rows] = self._last_phase[bins[rows]] + advance[rows]
        for i in range(1, r):
            rows = slice(row_ends[i - 1], row_ends[i])
            phase[rows] = phase[region[(i - 1) * nb + bins[rows]]] + advance[rows]
        self._last_phase[:] = phase[region[(r - 1) * nb:]]
        phasor = np.empty(len(peaks), np.complex64)
        phasor.real = np.cos(phase)
        phasor.imag = np.sin(phase)
        # Window-centred to frame-start phase is a factor (-1)^k per bin.
        return phasor[region].reshape(r, nb) * (target * self._alternating)


def _extrapolate(x: np.ndarray, n: int, order: int) -> np.ndarray:
    """Continue x by n samples with a linear predictor fitted to it (autocorrelation method)."""
    x = x.astype(np.float64)
    spec = np.fft.rfft(x * hann(len(x)), 2 * len(x))
    r = np.fft.irfft(spec.real**2 + spec.imag**2)[: order + 1]
    if not r[0] > 0:
        return np.zeros(n, np.float32)
    r[0] *= 1 + 1e-5  # a little white noise keeps the predictor well conditioned
    lags = np.abs(np.subtract.outer(np.arange(order), np.arange(order)))
    coeffs = np.linalg.solve(r[lags], r[1:])[::-1]  # oldest sample first
    y = np.concatenate([x[-order:], np.zeros(n)])
    for t in range(n):  # once per prime: a few hundred short dot products
        y[order + t] = coeffs @ y[t:order + t]
    return y[order:].astype(np.float32)


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
