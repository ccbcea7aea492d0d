"""An in-context memory of the seed: the correcting mechanism the net lacks.

The network sees only its recent frames and drifts towards its training data's
average (the 2017 report's "bull-whip effect"). Systems that continue a person's
own material keep that material in context (Audio Oracle / OMax, the
Continuator, kNN-LM). Here a pointer walks the seed's frames:

* mostly forward, so what the memory offers is the seed's own next frame;
* now and then it jumps to another place in the seed whose recent context
  matches what was just played (the Audio Oracle's suffix link, found by
  nearest neighbours on the last few frames in log bands), chosen at random
  among the best matches (kNN-LM's neighbours);
* jumps move by whole beats of the seed's tempo (ImproteK's unit) and happen on
  a beat, so the groove survives them; the beat's period is first put right on
  the seed's own repeats where they clearly show it, as a tempo read on a few
  seconds can be a per cent off and a jump of k beats lands k times as far off
  the music's beat; where the seed's bar is known they move by whole bars, so a
  jump lands on the same beat of the bar; otherwise whole bars of four win close
  calls; a seed without a beat jumps anywhere the context matches, at least 2 s
  away;
* it does not land where the continuation played in the last few seconds while
  another place matches (OMax's taboo list): chosen again and again among the
  same few best matches, it cycled through the same stretches of the seed;
* it never lands in, or walks into, a pause of the seed (a silence between
  movements, before a take starts): heard once in the seed, a pause would come
  back every few seconds and leave holes in the continuation's loudness.

``correct`` blends the net's prediction with the memory's frame (in the net's
normalised units), and the session feeds the result back, so the net's state
keeps following the seed's material. Where the memory's frame is quieter than
the net's (the valleys between the seed's harmonics, and notes the seed does not
have), the memory gets a larger share: a plain blend filled the valleys with
the net's haze. Both shares leave the frames the net's own, not the seed's:
keeping all of the memory's fine structure and only the net's broad shape sounds
cleaner, but copies the seed frame by frame. ``follow`` sets how much: 1 stays close (a
large memory share, long forward runs), 0 wanders (the net alone).

How much the memory corrects also depends on how well the net predicts this
seed (``seed_error_ratio``): its teacher-forced error against repeating the last
frame, on the seed's own windows, as an adaptive kNN-LM trusts its model where
it is confident. On its own kind of music the net predicts well, needs less
correcting, and the full share makes it copy the seed's frames; there the share
shrinks in proportion. On music it never heard the share stays as it is: a
larger one copies the seed's frames there too. The figures behind both are in
docs/EVALUATION.md.

In the bass, below the bin from which neighbouring notes fall into different
bins (BASS_BINS), the memory's share of the detail across bins is doubled: a
frame cannot place a bass note there, the net's wandered between notes, and
its continuations drifted out of their seed's key.

A model can ask for a larger share of the broad spectral shape (``shape_boost``,
stored with its generation settings): the difference between the two frames
smoothed over half an octave is pulled in harder than its detail: for a net
that drifts towards its own training data's timbre on music it never heard. It
is a per-model setting because the same boost makes other nets replay the seed.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .analysis import ANALYSIS_SECONDS, Beat
from .conditioning import CONTEXT_FRAMES
from .features import DB_PER_NEPER, FeatureConfig
from .predictor import FramePredictor, WARMUP_FRAMES, teacher_forced_squares

CANDIDATES = 4  # jump among this many best-matching places
MIN_MEMORY_SECONDS = 2.0  # shorter seeds still work, with fewer places to jump to
BAR_BEATS = 4
VALLEY_BOOST = 1.45  # the memory's share where its frame is the quieter one, relative to its share
SHAPE_OCTAVES = 0.5  # the width (sigma, over log frequency) of the broad shape
# Without a beat, a jump goes at least this far: a seed ending on a held chord
# otherwise finds its best matches inside the chord and holds it as a drone.
MIN_FREE_JUMP_SECONDS = 2.0
# The seed's beat period is read on a few seconds and can be off by a per cent or two: 8 s windows
# of an electronic track at 100 BPM read 98.7-102.7 BPM. A jump of k beats then lands k times as far
# off the music's own beat, and jump after jump the continuation drifted off it. The memory's period
# is the one within PERIOD_SLACK of the read one at which the seed's frames (in log bands) are most
# like themselves one to PERIOD_BEATS beats on (the same windows read 99.9-100.0 BPM), where the
# frames repeat at it at least PERIOD_GAIN closer than at the read one and it lies inside the range,
# not in its outer tenth. Legato lines do not repeat closely in a few seconds, and there the best
# often lay at the range's edge, away from the score's tempo. Chosen on the tune half's 8 s windows
# (docs/EVALUATION.md): readings more than 0.5 % off the reference went 4 -> 1 of 101 on electronic
# music, 14 -> 3 of 124 on pianos, and stayed 26 of 281 on other instruments (110 if always taken).
PERIOD_SLACK = 0.03
PERIOD_BEATS = 16
PERIOD_GAIN = 0.01
# A jump does not land on a frame the continuation played within this long, while a place it did not
# play matches (chosen on the tune half among 4-16 s, docs/EVALUATION.md).
RECENT_SECONDS = 8.0
# From this error ratio up the memory's share is 0.8 x follow; below it the share scales with the
# ratio, down to half.
REFERENCE_ERROR_RATIO = 0.8
SHARE_SCALE = (0.5, 1.0)
# A pause: at least this long, every frame this far below the seed's loud frames (its 90th percentile),
# or this close to digital silence (a quiet recording's music may lie less far above it than that).
PAUSE_SECONDS = 0.3
PAUSE_DEPTH_DB = 35.0
SILENCE_MARGIN_DB = 10.0
ERROR_WINDOWS = 4  # the seed's last windows the ratio is read on (4.7 s; 20-30 ms before first sound)
# Bin k lies k bins above 0 Hz, and a semitone above it is 0.059 k bins further: below bin 17 (362 Hz
# at 1024 points and 22.05 kHz) neighbouring notes share a bin, and a frame cannot say which note
# sounds. The net's bass wandered between notes there and took the continuation out of its seed's key
# (docs/EVALUATION.md). In those bins the memory's share of the detail across bins (which of them
# hold the partials) is BASS_BOOST times its share; their level, smoothed over BASS_LEVEL_BINS, keeps
# the blend's, so the seed's kicks and bass line are not copied harder than the rest.
BASS_BINS = int(np.ceil(1.0 / (2.0 ** (1.0 / 12.0) - 1.0)))
BASS_BOOST = 2.0
BASS_LEVEL_BINS = 5


def shape_smoothing(cfg: FeatureConfig, octaves: float = SHAPE_OCTAVES) -> np.ndarray:
    """Bins x bins: a Gaussian over log frequency (flat below 100 Hz), each column summing to 1."""
    pitch = np.log2(np.maximum(np.arange(cfg.n_bins) * cfg.sample_rate / cfg.n_fft, 100.0))
    weights = np.exp(-0.5 * ((pitch[:, None] - pitch[None, :]) / octaves) ** 2)
    return (weights / weights.sum(axis=0, keepdims=True)).astype(np.float32)


def seed_error_ratio(predictor: FramePredictor, frames: np.ndarray, length: int) -> float | None:
    """The net's teacher-forced next-frame error over persistence's on the seed's last
    ERROR_WINDOWS windows of ``length`` steps (normalised frames); None on a seed too
    short or too steady to tell. Resets the predictor."""
    length = min(length, len(frames) - 1)
    if length <= WARMUP_FRAMES:
        return None
    count = min(ERROR_WINDOWS, (len(frames) - 1) // length)
    starts = len(frames) - (length + 1) - length * np.arange(count)
    windows = np.stack([frames[s:s + length + 1] for s in starts])
    model, persistence = teacher_forced_squares(predictor, np.asarray(windows, np.float32))
    predictor.reset(1)
    return float(model.sum() / persistence.sum()) if persistence.sum() > 0 else None


def pauses(bands: np.ndarray, min_frames: int, log_floor: float) -> np.ndarray:
    """Per frame, whether it lies in a pause: a run of at least ``min_frames`` frames whose mean
    band log power is PAUSE_DEPTH_DB below the seed's loud frames, or within SILENCE_MARGIN_DB of
    ``log_floor``, the features' digital silence."""
    level = np.asarray(bands, np.float64).mean(axis=1)
    quiet = (level < np.percentile(level, 90) - PAUSE_DEPTH_DB / DB_PER_NEPER) | (
        level < np.log(log_floor) + SILENCE_MARGIN_DB / DB_PER_NEPER)
    edges = np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]]))
    starts, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
    paused = np.zeros(len(level) + 1, bool)  # the end, one past the last frame, is no pause
    for start, end in zip(starts, ends):
        if end - start >= min_frames:
            paused[start:end] = True
    return paused


def before_final_pause(bands: np.ndarray, cfg: FeatureConfig) -> int:
    """How many of the seed's frames come before the pause it ends in (all of them where it ends
    in sound, or is nothing but pauses)."""
    paused = pauses(bands, max(1, int(round(PAUSE_SECONDS * cfg.frames_per_second))), cfg.log_floor)[:-1]
    sounding = np.nonzero(~paused)[0]
    return int(sounding[-1]) + 1 if len(sounding) else len(paused)


def bass_level_matrix(n_bins: int, width: int = BASS_LEVEL_BINS) -> np.ndarray:
    """rows x columns: the first BASS_BINS bins' (all of fewer) moving mean over ``width`` bins, the
    lowest (and highest) bin repeated beyond the frame; rows: the bins it reads."""
    bins = min(BASS_BINS, n_bins)
    rows = min(bins + width // 2, n_bins)
    matrix = np.zeros((rows, bins), np.float32)
    for i in range(bins):
        for offset in range(-(width // 2), width // 2 + 1):
            matrix[min(max(i + offset, 0), rows - 1), i] += 1.0 / width
    return matrix


def repeating_period(bands: np.ndarray, period: float) -> float:
    """The period (frames), within PERIOD_SLACK of ``period``, at which the frames (log bands) are
    most like themselves 1 to PERIOD_BEATS periods on: the mean over those lags of the RMS
    difference between each frame and the one that many periods on (between frames, the distance
    at the two nearest whole lags, interpolated). ``period`` itself where that is not PERIOD_GAIN
    closer, or lies in the range's outer tenth."""
    bands = np.asarray(bands, np.float32)
    n = len(bands)
    beats = np.arange(1, PERIOD_BEATS + 1)
    beats = beats[beats * period * (1 + PERIOD_SLACK) + 1 < n - CONTEXT_FRAMES]
    if len(beats) < 2:
        return period
    lags = np.unique(np.concatenate([np.arange(int(k * period * (1 - PERIOD_SLACK)), int(k * period * (1 + PERIOD_SLACK)) + 2)
                                     for k in beats]))
    distance = np.full(int(lags.max()) + 1, np.nan)
    for lag in lags:
        distance[lag] = np.sqrt(np.mean((bands[lag:] - bands[:-lag]) ** 2))

    def mean_distance(candidates: np.ndarray) -> np.ndarray:
        at = candidates[:, None] * beats[None, :]
        low = np.floor(at).astype(int)
        share = at - low
        return ((1 - share) * distance[low] + share * distance[low + 1]).mean(axis=1)

    # Coarse, then fine: steps of 0.25 % over the slack, then 0.025 % around the best.
    coarse = period * (1 + np.linspace(-PERIOD_SLACK, PERIOD_SLACK, int(round(PERIOD_SLACK / 0.0025)) * 2 + 1))
    best = coarse[int(np.argmin(mean_distance(coarse)))]
    fine = np.clip(best * (1 + np.linspace(-0.0025, 0.0025, 21)), coarse[0], coarse[-1])
    best = float(fine[int(np.argmin(mean_distance(fine)))])
    at_best, as_read = mean_distance(np.array([best, period]))
    inside = abs(best / period - 1) < 0.9 * PERIOD_SLACK
    return best if inside and at_best <= (1 - PERIOD_GAIN) * as_read else period


def blend_weight(follow: float, error_ratio: float | None = None) -> float:
    """The memory's share of each frame, smaller where the net predicts the seed well."""
    scale = 1.0 if error_ratio is None else float(np.clip(error_ratio / REFERENCE_ERROR_RATIO, *SHARE_SCALE))
    return min(1.0, 0.8 * follow * scale)


def jump_chance(follow: float) -> float:
    """Chance of a jump on each beat: at the default about every other beat, which keeps 2 s of the
    continuation from replaying 2 s of the seed (docs/EVALUATION.md)."""
    return 0.1 + 0.8 * (1.0 - follow)


class SeedMemory:
    """The seed's frames and where the continuation is in them.

    frames: the seed's frames as the net sees them (normalised), N x bins.
    bands: the same frames in log bands (analysis.band_log_power), for matching.
    shape_boost: the broad shape's larger share (1: none); cfg: the frames' settings;
    error_ratio: seed_error_ratio's reading (None: the share at the reference ratio).
    """

    def __init__(self, frames: np.ndarray, bands: np.ndarray, beat: Beat | None, follow: float,
                 rng: np.random.Generator, shape_boost: float = 1.0, cfg: FeatureConfig | None = None,
                 error_ratio: float | None = None):
        self.frames = np.asarray(frames, np.float32)
        # Each place's context (the CONTEXT_FRAMES before it): place p is window p - CONTEXT_FRAMES.
        self._contexts = np.lib.stride_tricks.sliding_window_view(np.asarray(bands, np.float32),
                                                                  CONTEXT_FRAMES, axis=0)
        cfg = cfg or FeatureConfig()
        if beat:
            # Read where the analysis read the beat (a long seed's last ANALYSIS_SECONDS), in bounded time.
            recent = np.asarray(bands)[-int(ANALYSIS_SECONDS * cfg.frames_per_second):]
            period = repeating_period(recent, beat.period_frames)
            beat = replace(beat, period_frames=period, first_frame=beat.first_frame % period)
        self.beat = beat
        self._error_ratio, self._shape_boost = error_ratio, shape_boost
        self.set_follow(follow)
        # Smoothed in the net's normalised units, as the shares apply there.
        self._smoothing = shape_smoothing(cfg) if shape_boost != 1.0 else None
        self._bass_level = bass_level_matrix(self.frames.shape[1])
        self._min_free_jump = max(CONTEXT_FRAMES, int(MIN_FREE_JUMP_SECONDS * cfg.frames_per_second))
        self._rng = rng
        n = len(self.frames)
        period = beat.period_frames if beat else 1.0
        # A place to jump to needs its context behind it and a beat ahead of it.
        self._first, self._last = CONTEXT_FRAMES, n - max(2, int(np.ceil(period)))
        self._paused = pauses(bands, max(1, int(round(PAUSE_SECONDS * cfg.frames_per_second))), cfg.log_floor)
        self._can_land = np.zeros(n + 1, bool)
        self._can_land[self._first:self._last + 1] = True
        self._can_land &= ~self._paused
        if beat:
            beats = np.arange(beat.first_frame % period, n, period)
            self._on_beat = np.zeros(n + 1, bool)
            self._on_beat[np.minimum(np.round(beats).astype(int), n)] = True
        self.position = n  # just past the seed: the first step jumps
        self.jumps = 0
        # When each of the seed's frames was last played, in steps of the continuation.
        self._played = np.full(n + 1, -np.inf)
        self._steps = 0
        self._recent = RECENT_SECONDS * cfg.frames_per_second
        # How far (frames) the jumps so far have moved off whole beats; each jump
        # rounds to a frame, and this keeps the rounding from adding up.
        self._beat_error = 0.0

    def set_follow(self, follow: float) -> None:
        """How closely to follow the seed from the next frame on (0 wander .. 1 stay close)."""
        self.follow = follow
        self.weight = blend_weight(follow, self._error_ratio)
        self._valley_weight = min(1.0, VALLEY_BOOST * self.weight)
        self._shape_weight = min(1.0, self._shape_boost * self.weight)
        self._bass_weight = np.float32(min(1.0, BASS_BOOST * self.weight))
        self._chance = jump_chance(follow)

    def correct(self, prediction: np.ndarray, recent_bands: np.ndarray, vary: bool = True) -> np.ndarray:
        """The net's prediction (normalised, batch x bins) corrected towards the seed's own next frame."""
        frame = self.next_frame(recent_bands, vary)
        weight = np.where(frame < prediction, np.float32(self._valley_weight), np.float32(self.weight))
        difference = frame - prediction
        if self._smoothing is None:
            corrected = prediction + weight * difference
        else:
            shape = difference @ self._smoothing
            corrected = prediction + weight * (difference - shape) + self._shape_weight * shape
        # The bass's detail across bins (BASS_BINS): the memory's notes, not the net's.
        rows, bins = self._bass_level.shape
        detail = difference[..., :bins] - difference[..., :rows] @ self._bass_level
        corrected[..., :bins] += np.maximum(self._bass_weight - weight[..., :bins], 0.0) * detail
        return corrected

    def next_frame(self, recent_bands: np.ndarray, vary: bool = True) -> np.ndarray:
        """The memory's frame for this step, given the last frames played in log bands.

        vary=False (no variation asked for): it jumps only at the seed's end, to the best match.
        """
        must_jump = self.position >= self._last or self._paused[self.position]
        on_beat = self._on_beat[self.position] if self.beat else True
        chance = self._chance if self.beat else self._chance / 20.0  # per beat; ~20 frames a beat
        if must_jump or (vary and on_beat and self._rng.random() < chance):
            self._jump(recent_bands, vary)
        frame = self.frames[self.position]
        self._played[self.position] = self._steps
        self._steps += 1
        self.position += 1
        return frame

    def _jump(self, recent_bands: np.ndarray, vary: bool) -> None:
        here = self.position
        if self.beat:
            period = self.beat.period_frames
            # Whole beats away from here, back or (rarely useful) forward.
            ks = np.arange(-int(here / period) - 1, int(len(self.frames) / period) + 2)
            ks = ks[ks != 0]
            ideal = here + ks * period - self._beat_error
            places = np.round(ideal).astype(int)
            keep = self._can_land[np.clip(places, 0, len(self.frames))]
            if self.beat.beats_per_bar and (keep & (ks % self.beat.beats_per_bar == 0)).any():
                keep &= ks % self.beat.beats_per_bar == 0  # whole bars where the bar is known
            places, ks, ideal = places[keep], ks[keep], ideal[keep]
        else:
            places = np.nonzero(self._can_land)[0]
            places = places[np.abs(places - here) > self._min_free_jump]
            ks = None
        if not len(places):
            places, ks = np.array([max(self._first, min(here, self._last))]), None
        context = recent_bands[-CONTEXT_FRAMES:].T  # bands x frames, as the windows are
        distance = np.sqrt(((self._contexts[places - CONTEXT_FRAMES] - context) ** 2).mean(axis=(1, 2)))
        if ks is not None and not self.beat.beats_per_bar:
            # Where the bar is not known, bars of four (the commonest) win close calls.
            distance = distance * np.where(ks % BAR_BEATS == 0, 0.8, 1.0)
        fresh = self._steps - self._played[places] > self._recent
        choices = np.nonzero(fresh)[0] if fresh.any() else np.arange(len(places))
        best = choices[np.argsort(distance[choices])[:CANDIDATES]]
        pick = self._rng.choice(best) if vary else best[0]
        self.position = int(places[pick])
        if ks is not None:
            self._beat_error = float(places[pick] - ideal[pick])
        self.jumps += 1
