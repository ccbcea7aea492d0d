"""Loudness that follows the seed's, and peaks that never clip.

* Loudness is measured as ITU-R BS.1770 does: K-weighting (a +4 dB high shelf
  above about 1.7 kHz, then a 38 Hz high-pass; the two biquads designed for any
  sample rate from the standard's analogue prototypes), mean square, -0.691 dB.
  The seed's reference is its gated integrated loudness (400 ms blocks, 75 %
  overlap, -70 LUFS absolute and -10 LU relative gates).
* ``Leveler`` streams the continuation through a gain that holds the loudness
  of the last 8 s (and the look-ahead's second) at the seed's, so that there is
  no bias and no drift while the music's own dynamics pass, and keeps every 3 s
  window (the standard's short-term loudness) within a few LU of it, then a
  look-ahead true-peak limiter: the frame-domain level
  anchor keeps the net fed at the right level, but what reaches the listener is
  measured and corrected on the samples themselves, so there is no bias.
* The limiter estimates inter-sample peaks by 4x oversampling, takes for each
  sample the smallest gain needed in a window around it (look-ahead, a hold for
  the release), and averages that over the look-ahead so the gain moves
  smoothly and has fully dropped when the peak passes. Hard clipping (what
  there was before) is audible distortion; this is what mastering limiters do.
"""

from __future__ import annotations

import collections
import functools

import numpy as np

from .params import LOUDNESS_SECONDS, MIN_SEED_LUFS

# scipy.signal and scipy.ndimage take half a second to import: each function imports
# them when first run (in the generating thread), not when the app starts.

CEILING_DBTP = -1.0
# The limiter aims this far below its ceiling: its gain changes from sample to sample, and the
# product's own peaks between samples came up to 0.0006 dB above the gain's aim (24 electronic takes).
LIMITER_MARGIN_DB = 0.01
# The window whose loudness the gain holds at the seed's: long enough that the music's own
# phrasing, swells and breaks pass through (a short one flattened them: the continuation's
# loudness range fell far below the true music's), short enough to undo a drift.
LEVEL_WINDOW_SECONDS = 8.0
# What the limiter takes off a hot signal is measured over this long.
LIMITER_LOSS_SECONDS = 2.0
STEP_SECONDS = 0.1
# The window reaches this many steps past the step it sets the gain of, so that a loud
# entry after a quiet passage is met as it comes, not after it.
LOOKAHEAD_STEPS = 10
# The first step goes out with this much look-ahead, so first sound is not delayed by
# the whole of it; each step sent adds one, as generation runs ahead of real time.
FIRST_LOOKAHEAD_STEPS = 2
QUIET_LU = 20.0  # passages this far below the target are left as they are, not boosted
# Anything above that quiet gate may be brought up to the target: a smaller limit leaves a
# long decay well below it.
MAX_BOOST_DB, MAX_CUT_DB = QUIET_LU, 24.0
MAX_LIMITER_MAKEUP_DB = 6.0
# From the seed's last second to its loudness: long enough to be no jump, short enough
# that the first 3 s window is at the seed's loudness (a longer glide leaves that window
# short wherever the seed ends softer or louder than its average).
GLIDE_SECONDS = 1.0
# The long window lets a passage stray; the gain also keeps every 3 s window ending within the
# look-ahead within this much of the target (the evaluation allows 6 LU), counting the steps sent
# at the gains they went out with. Not the window ending at the step itself: one step cannot make
# up a whole window, and trying pumps.
SHORT_TERM_STEPS = 30
SHORT_TERM_MARGIN_LU = 4.5
_ABSOLUTE_GATE, _RELATIVE_GATE = -70.0, -10.0
_OVERSAMPLE = 4


@functools.lru_cache(maxsize=8)
def k_weighting(sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """The K-weighting filter (both stages as one 4th-order b, a) at this rate."""
    # Stage 1: high shelf (the head's acoustic effect); stage 2: RLB high-pass.
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = np.tan(np.pi * f0 / sample_rate)
    vh = 10 ** (gain_db / 20)
    vb = vh ** 0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf_b = np.array([vh + vb * k / q + k * k, 2 * (k * k - vh), vh - vb * k / q + k * k]) / a0
    shelf_a = np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0])
    f0, q = 38.13547087602444, 0.5003270373238773
    k = np.tan(np.pi * f0 / sample_rate)
    a0 = 1 + k / q + k * k
    hp_b = np.array([1.0, -2.0, 1.0])
    hp_a = np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0])
    return np.convolve(shelf_b, hp_b), np.convolve(shelf_a, hp_a)


def _to_lufs(mean_square: np.ndarray | float) -> np.ndarray | float:
    return -0.691 + 10.0 * np.log10(np.maximum(mean_square, 1e-20))


def _from_lufs(lufs: float) -> float:
    """The K-weighted mean square that reads ``lufs``."""
    return 10.0 ** ((lufs + 0.691) / 10.0)


def mean_square_loudness(samples: np.ndarray, sample_rate: int) -> float:
    """Ungated loudness (LUFS) of a short signal, such as a second of it."""
    import scipy.signal

    b, a = k_weighting(sample_rate)
    return float(_to_lufs(np.mean(scipy.signal.lfilter(b, a, np.asarray(samples, np.float64)) ** 2)))


def integrated_loudness(samples: np.ndarray, sample_rate: int) -> float:
    """Gated integrated loudness (LUFS) of a mono signal; -inf when all of it is below the gate."""
    import scipy.signal

    b, a = k_weighting(sample_rate)
    weighted = scipy.signal.lfilter(b, a, np.asarray(samples, np.float64))
    block, hop = int(0.4 * sample_rate), int(0.1 * sample_rate)
    if len(weighted) < block:
        blocks = np.array([np.mean(weighted**2)]) if len(weighted) else np.zeros(0)
    else:
        squares = np.lib.stride_tricks.sliding_window_view(weighted**2, block)[::hop]
        blocks = squares.mean(axis=1)
    blocks = blocks[_to_lufs(blocks) > _ABSOLUTE_GATE]
    if not len(blocks):
        return -np.inf
    relative = _to_lufs(blocks.mean()) + _RELATIVE_GATE
    blocks = blocks[_to_lufs(blocks) > relative]
    return float(_to_lufs(blocks.mean()))


def seed_loudness(seed: np.ndarray, sample_rate: int) -> float:
    """The loudness a continuation of ``seed`` follows: its last LOUDNESS_SECONDS' (LUFS), or, where
    those are nearly silent (a seed that ends in a pause), the whole seed's, whose gates leave its
    silences out. Below MIN_SEED_LUFS the seed has no music to continue."""
    end = integrated_loudness(seed[-int(LOUDNESS_SECONDS * sample_rate):], sample_rate)
    # Only then the whole: on a long seed it is the slowest part of starting a continuation.
    return end if end >= MIN_SEED_LUFS or len(seed) <= LOUDNESS_SECONDS * sample_rate else integrated_loudness(
        seed, sample_rate)


@functools.lru_cache(maxsize=1)
def _oversampling_filter() -> np.ndarray:
    """resample_poly's own low-pass for 4x up (its default design), made once: designed
    again for every block the limiter streams, it took a third of each reading's time."""
    import scipy.signal

    h = scipy.signal.firwin(2 * 10 * _OVERSAMPLE + 1, 1.0 / _OVERSAMPLE, window=("kaiser", 5.0))
    h.setflags(write=False)
    return h


@functools.lru_cache(maxsize=1)
def peak_gain() -> float:
    """The most the 4x oversampling can read above a signal's largest sample: the largest sum of
    |taps| over the filter's output phases (each oversampled value is one phase's taps times samples)."""
    import scipy.signal

    impulse = np.zeros(64)
    impulse[32] = 1.0
    response = scipy.signal.resample_poly(impulse, _OVERSAMPLE, 1, window=_oversampling_filter())
    return float(max(np.abs(response[p::_OVERSAMPLE]).sum() for p in range(_OVERSAMPLE)))


def true_peak(samples: np.ndarray) -> np.ndarray:
    """Per sample, the largest magnitude of the 4x-oversampled signal around it."""
    import scipy.signal

    up = scipy.signal.resample_poly(np.asarray(samples, np.float64), _OVERSAMPLE, 1, window=_oversampling_filter())
    return np.abs(up[:len(samples) * _OVERSAMPLE]).reshape(-1, _OVERSAMPLE).max(axis=1)


class TruePeakLimiter:
    """Streams samples out ``delay`` samples late, their true peak at most ``ceiling``."""

    def __init__(self, sample_rate: int, ceiling_dbtp: float = CEILING_DBTP, lookahead_seconds: float = 0.003,
                 hold_seconds: float = 0.012):
        self.ceiling = 10 ** ((ceiling_dbtp - LIMITER_MARGIN_DB) / 20)
        self._look = max(1, int(lookahead_seconds * sample_rate))
        self._hold = int(hold_seconds * sample_rate)
        self.delay = 2 * self._look
        # History (sent, or zeros before the start) for the oversampling filter and
        # the gain windows, then the samples not sent yet.
        self._history = 2 * self._look + self._hold + 32
        self._buffer = np.zeros(self._history, np.float64)
        self._pending = 0
        self.reduced_samples = 0  # how many samples it turned down

    def process(self, samples: np.ndarray) -> np.ndarray:
        """The next samples in, as many out as have their look-ahead (all but the last ``delay``)."""
        import scipy.ndimage

        x = np.concatenate([self._buffer, np.asarray(samples, np.float64)])
        pending = self._pending + len(samples)
        count = max(0, pending - self.delay)
        start = len(self._buffer) - self._pending
        if float(np.abs(x).max(initial=0.0)) * peak_gain() <= self.ceiling:
            # No peak between these samples can reach the ceiling: every gain would be 1. Most blocks
            # of music not mastered loud; the oversampling was most of the limiter's time.
            out = x[start:start + count]
        else:
            need = np.minimum(1.0, self.ceiling / np.maximum(true_peak(x), 1e-12))
            look, hold = self._look, self._hold
            # Smallest gain from hold+look before to look after, then averaged over 2*look+1:
            # every gain averaged at a peak is at most the peak's own, so the peak is met.
            lowest = scipy.ndimage.minimum_filter1d(need, 2 * look + hold + 1, origin=hold // 2, mode="nearest")
            gain = np.minimum(scipy.ndimage.uniform_filter1d(lowest, 2 * look + 1, mode="nearest"), need)
            out = x[start:start + count] * gain[start:start + count]
            self.reduced_samples += int(np.count_nonzero(gain[start:start + count] < 1.0))
        self._pending = pending - count
        self._buffer = x[len(x) - self._history - self._pending:]
        return out.astype(np.float32)


class Leveler:
    """Holds the continuation's short-term loudness at ``target_lufs`` (None: leaves it
    alone), then limits its peaks.

    ``start_lufs``: the loudness where the seed ends (its last second). The target
    glides from there to ``target_lufs`` over ``GLIDE_SECONDS``, so a seed that
    ends softer or louder than its average has no level jump at the seam.
    ``seam_samples``: the continuation's first samples that still extend the seed's
    own; the gain ramps in from 0 dB over them.

    ``process`` takes the continuation's samples in any blocks and returns them
    in order, ``delay`` samples late (the look-ahead of both stages) once the
    look-ahead has grown, less before.
    """

    def __init__(self, sample_rate: int, target_lufs: float | None, start_lufs: float | None = None,
                 max_boost_db: float = MAX_BOOST_DB, seam_samples: int = 0):
        self.target = target_lufs
        self._seam_samples = seam_samples
        self._start = target_lufs
        if target_lufs is not None and start_lufs is not None:
            # -inf (a silent last second) starts from the quiet gate: a fade in, not a jump.
            self._start = max(start_lufs, target_lufs - QUIET_LU)
        self._glide_steps = GLIDE_SECONDS / STEP_SECONDS
        self._sent_steps = 0
        self.step = int(STEP_SECONDS * sample_rate)  # samples are sent on in steps this long
        self._window = int(round(LEVEL_WINDOW_SECONDS / STEP_SECONDS))
        self._max_boost = max_boost_db
        self._b, self._a = k_weighting(sample_rate)
        self._zi = np.zeros(len(self._a) - 1)
        self._metering = np.zeros(0)  # K-weighted samples of the step being metered
        self._energy: list[float] = []  # K-weighted mean square of the last whole steps
        self._raw = np.zeros(0, np.float32)  # samples waiting for their gain
        self._sent_energy: collections.deque[float] = collections.deque(maxlen=SHORT_TERM_STEPS)  # with their gains
        self._unsent_steps = 0  # metered but not sent: the last of _energy
        self._gain_db = 0.0  # where the last step sent ended
        self.limiter = TruePeakLimiter(sample_rate)
        # What the limiter takes off a hot signal (dB, over about 2 s): made up in the
        # gain, so a seed mastered into its ceiling is followed that loud, not quieter.
        self._limiter_loss_db = 0.0
        self._loss_samples = LIMITER_LOSS_SECONDS * sample_rate
        self.delay = LOOKAHEAD_STEPS * self.step + self.limiter.delay

    def process(self, samples: np.ndarray) -> np.ndarray:
        import scipy.signal

        samples = np.asarray(samples, np.float32)
        if not len(samples):  # lfilter returns a wrong filter state for an empty input
            return np.zeros(0, np.float32)
        weighted, self._zi = scipy.signal.lfilter(self._b, self._a, samples.astype(np.float64), zi=self._zi)
        weighted = np.concatenate([self._metering, weighted])
        whole = len(weighted) // self.step * self.step
        self._energy.extend(np.mean(weighted[:whole].reshape(-1, self.step) ** 2, axis=1))
        self._unsent_steps += whole // self.step
        self._metering = weighted[whole:]
        self._raw = np.concatenate([self._raw, samples])
        out = []
        # A step goes out once the look-ahead steps after it are metered.
        while self._unsent_steps > (ahead := self._lookahead()):
            out.append(self._send_step(ahead))
        del self._energy[:max(0, len(self._energy) - self._window - self._unsent_steps)]
        if not out:
            return np.zeros(0, np.float32)
        gained = np.concatenate(out)
        limited = self.limiter.process(gained)
        if self.target is not None:
            before = float(np.sum(np.square(gained, dtype=np.float64)))
            after = float(np.sum(np.square(limited, dtype=np.float64)))
            if after > 0:
                loss = 10.0 * np.log10(max(before, after) / after)
                alpha = min(1.0, len(gained) / self._loss_samples)
                self._limiter_loss_db += alpha * (loss - self._limiter_loss_db)
                self._limiter_loss_db = min(MAX_LIMITER_MAKEUP_DB, self._limiter_loss_db)
        return limited

    def flush(self) -> np.ndarray:
        """Everything still held back, as if the continuation ended here: the last
        steps look ahead only as far as there is (so nothing past the end need be made)."""
        if len(self._metering):  # a last, partial step
            self._energy.append(float(np.mean(self._metering ** 2)))
            self._unsent_steps += 1
            self._metering = np.zeros(0)
        out = [self._send_step(min(self._lookahead(), self._unsent_steps - 1)) for _ in range(self._unsent_steps)]
        # Zeros push the limiter's own look-ahead out; they stay in it, unsent.
        return self.limiter.process(np.concatenate(out + [np.zeros(self.limiter.delay, np.float32)]))

    def _lookahead(self) -> int:
        return min(LOOKAHEAD_STEPS, FIRST_LOOKAHEAD_STEPS + self._sent_steps)

    def _send_step(self, ahead: int) -> np.ndarray:
        """The oldest unsent step with its gain, from the loudness of the window ``ahead`` steps past it."""
        step = len(self._energy) - self._unsent_steps
        end = step + ahead + 1
        loudness = float(_to_lufs(np.mean(self._energy[max(0, end - self._window):end])))
        gain = self._gain_db
        if self.target is not None:
            glide = max(0.0, 1.0 - self._sent_steps / self._glide_steps)
            target = self.target + glide * (self._start - self.target)
            if loudness > target - QUIET_LU:  # a pause is not pumped up
                gain = target - loudness + self._limiter_loss_db
                if glide == 0.0:
                    gain = self._keep_short_term(gain, step, ahead)
                gain = float(np.clip(gain, -MAX_CUT_DB, self._max_boost))
        if not self._sent_steps:
            self._gain_db = gain  # the first step starts where it should, not from 0 dB ...
        samples = self._raw[:self.step]
        ramp = np.linspace(self._gain_db, gain, len(samples), endpoint=False, dtype=np.float32)
        if not self._sent_steps:
            # ... but for its first samples, which extend the seed's own (the phase reconstruction
            # cross-fades them from it): a gain there at once is a step in the wave, a click.
            seam = min(self._seam_samples, len(ramp))
            ramp[:seam] = np.linspace(0.0, gain, seam, endpoint=False, dtype=np.float32)
        self._sent_energy.append(self._energy[step] * float(np.mean(10 ** (ramp / 10))))
        self._raw = self._raw[self.step:]
        self._gain_db = gain
        self._unsent_steps -= 1
        self._sent_steps += 1
        return samples * 10 ** (ramp / 20)

    def _keep_short_term(self, gain: float, step: int, ahead: int) -> float:
        """``gain``, moved as little as it takes for the 3 s windows ending after ``step``,
        up to the look-ahead's end, to be within SHORT_TERM_MARGIN_LU of the target, were
        the steps from ``step`` on all sent at it; when both bounds cannot be met, the lower."""
        # Sums once, not per window: the unsent steps from this one to each window's end,
        # and the last n steps sent (n = 0, 1, ...).
        unsent_to = np.cumsum(self._energy[step:step + ahead + 1])
        last_sent = np.concatenate([[0.0], np.cumsum(np.asarray(self._sent_energy)[::-1])])
        bounds = (self.target - SHORT_TERM_MARGIN_LU, self.target + SHORT_TERM_MARGIN_LU)
        low, high = -np.inf, np.inf
        for k in range(1, ahead + 1):  # the window ending k steps after this one
            unsent = float(unsent_to[k])
            before = SHORT_TERM_STEPS - (k + 1)  # steps of the window already sent
            if before >= len(last_sent) or unsent <= 0:
                continue  # the window starts before the continuation, or is silent
            for bound in bounds:
                need = _from_lufs(bound) * SHORT_TERM_STEPS - last_sent[before]  # energy the unsent steps must bring
                db = 10 * np.log10(need / unsent) if need > 0 else -np.inf
                low, high = (max(low, db), high) if bound < self.target else (low, min(high, db))
        return float(np.clip(gain, low, high)) if low <= high else low
