"""Tempo, beats, bar and key of a clip, with how sure each reading is.

Numpy and scipy's FFT, about 18 ms of CPU per 10 s of audio (its frames
included): the generator needs the seed's beat grid before its first block,
and the app shows tempo and key as soon as a seed is loaded (librosa's tracker
would cost a second of import).

Tempo and beats, after Ellis (2007), Klapuri et al. (2006) and Böck & Widmer (2013):

* Onset envelopes: SuperFlux (each bin's rise over the louder of its
  neighbours a frame before) in six log-spaced bands, each less its slow trend
  and scaled to its own spread; beside them a learned detector's (Böck and
  Schedl's approach, core/onsets.py), which hears a choir's or a string
  section's legato note changes where the flux does not.
* Tempo: the bands' autocorrelation read as a tempogram; a period scores by
  how strongly the music repeats at one, two, three and four of it (a comb).
  A single lag's peak falls into metrical traps (a dotted figure at 4:3 of the
  beat, a triplet at 3:2); the comb's other teeth miss on those, while the true
  beat repeats at every multiple. A log-normal prior around 120 BPM picks
  between the beat and its double or half. The period is then refined through
  the autocorrelation's peaks at its multiples, to a small fraction of a frame.
* Beats: dynamic programming over the envelope with that period (Ellis), each
  beat moved to its attack's centroid; their circular mean gives the grid's phase.
* Bar: of three or four beats, the one where the low band's attacks and the
  harmonic changes fall, where they clearly do.
* A beat that divides in three (6/8) is a dotted quarter: the readout counts
  quarter notes, as a score's metronome mark and a DAW do.
* Confidence: the comb's strength. No tempo where it is weak (noise, a drone,
  free time), and "≈" where it is middling, shown as the nearest metronome mark.
* Framing: from the clip's loudest sample, so the same music selected a few
  samples earlier or later reads the same.

The key comes from core/key.py.

A long clip is read on its last ANALYSIS_SECONDS, the part the continuation
follows; the readout says so.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import numpy as np

from .features import DB_PER_NEPER, FeatureConfig, frame_count, frame_level, log_power, with_neighbours
from .key import MIN_SECONDS, Key, estimate_key
from . import onsets

MIN_BPM, MAX_BPM, PRIOR_BPM, PRIOR_OCTAVES = 40.0, 240.0, 120.0, 1.0
ANALYSIS_SECONDS = 30.0  # a longer clip is read on its last 30 s
# The comb's strength: noise reaches 0.02-0.08 (a held chord over faint hiss 0.07), random clicks and
# notes in free time 0.05-0.13, music 0.03-0.7 (legato choirs and strings the least). Below BEAT_NONE
# no tempo; from BEAT_SURE no "≈".
BEAT_NONE, BEAT_SURE = 0.08, 0.25
# The beat is compound where the envelope repeats at a third of it more than at a half, by this much
# (normalised autocorrelation; simple meters reach 0.07, 6/8 scores 0.1-0.35).
COMPOUND = 0.1
# A continuation keeps its seed's tempo where its comb there is this share of its best.
LIKE_SHARE = 0.7
BAR_SURE = 2.0  # t statistic of the bar's beat against the others
FLUX_FLOOR_DB = 40.0
FULL_BAND_DB, QUIET_BAND_DB = 10.0, 40.0  # a band this far below the loudest counts fully, and not at all
MIN_FLUX_SPREAD = 0.05  # nepers per frame: less is numerical noise, not attacks
# The learned onset envelope counts this many times one band: on held-out chorales rendered with
# another soundfont than its training's, 1 read 77 of 99 excerpts' tempo, 2 read 78, 3 and 4 read 80,
# where the bands alone read 69; on the tune half 3 read 47 of 52 against 45 (docs/ANALYSIS.md).
# Its spread (probability per frame, less its trend) is 0.07-0.35 on music and 0.004 on a held
# chord, whose partials' beating it would otherwise blow up into a beat: under MIN_LEARNED_SPREAD it
# is not scaled up.
LEARNED_WEIGHT, MIN_LEARNED_SPREAD = 3.0, 0.1
SILENT_DB = -70.0  # a clip whose mean power is below this (dBFS-ish) has neither
_ONSET_BANDS = 6
_COMB = 4  # the comb's teeth: one to four beats


@dataclass(frozen=True)
class Beat:
    period_frames: float  # one beat, in frames (fractional)
    first_frame: float  # the grid's phase: where a beat falls, 0 <= first_frame < period_frames
    strength: float  # the comb's strength, 0..1
    frames_per_second: float
    beats_per_bar: int | None = None  # 3 or 4 where the bar was found
    bar_beat: int = 0  # which beat of the grid (0 = first_frame's) starts a bar
    compound: bool = False  # the beat divides in three (6/8, 9/8, 12/8): it is a dotted quarter

    @property
    def bpm(self) -> float:
        """Beats per minute, of the beat that is felt."""
        return 60.0 * self.frames_per_second / self.period_frames

    @property
    def quarter_bpm(self) -> float:
        """Quarter notes per minute, as a score's metronome mark and a DAW count the tempo: a compound
        beat (a dotted quarter) is one and a half of them."""
        return self.bpm * (1.5 if self.compound else 1.0)

    @property
    def sure(self) -> bool:
        return self.strength >= BEAT_SURE

    @property
    def bar_frames(self) -> float | None:
        return self.period_frames * self.beats_per_bar if self.beats_per_bar else None

    def beat_frames(self, n_frames: int) -> np.ndarray:
        """The grid's beats (fractional frames) in 0..n_frames."""
        return np.arange(self.first_frame, n_frames, self.period_frames)

    def downbeat_frames(self, n_frames: int) -> np.ndarray:
        """Where bars start, in 0..n_frames; empty without a bar."""
        if not self.beats_per_bar:
            return np.zeros(0)
        first = self.first_frame + (self.bar_beat % self.beats_per_bar) * self.period_frames
        return np.arange(first, n_frames, self.bar_frames)


# A mechanical metronome's marks (Maelzel's), steps of 3-5 %, and on to MAX_BPM by 8.
METRONOME_MARKS = np.array([40, 42, 44, 46, 48, 50, 52, 54, 56, 58, 60, 63, 66, 69, 72, 76, 80, 84, 88, 92, 96,
                            100, 104, 108, 112, 116, 120, 126, 132, 138, 144, 152, 160, 168, 176, 184, 192, 200,
                            208, 216, 224, 232, 240])


def metronome_mark(bpm: float) -> int:
    """The metronome mark nearest ``bpm`` (on a log scale): an unsure tempo is shown no finer than a
    musician would set it, so the few BPM it moves with the selection do not show."""
    return int(METRONOME_MARKS[np.argmin(np.abs(np.log(METRONOME_MARKS / bpm)))])


@dataclass(frozen=True)
class MusicAnalysis:
    beat: Beat | None
    key: Key | None
    silent: bool
    excerpt_seconds: float | None = None  # set where only the clip's last part was read

    def describe(self) -> str:
        """For a readout: '128 BPM · A minor'; '≈ 90 BPM · C major?' where unsure; 'none' for
        what was not found."""
        if self.beat is None:
            tempo = "tempo none"
        else:
            bpm = self.beat.quarter_bpm
            tempo = f"{bpm:.0f} BPM" if self.beat.sure else f"≈ {metronome_mark(bpm)} BPM"
        key = "key none" if self.key is None else self.key.name + ("" if self.key.sure else "?")
        tail = f" (last {self.excerpt_seconds:.0f} s)" if self.excerpt_seconds else ""
        return f"{tempo} · {key}{tail}"


@functools.lru_cache(maxsize=8)
def band_matrix(cfg: FeatureConfig, n_bands: int) -> np.ndarray:
    """Bins -> log-spaced bands (mean of their bins), 60 Hz to Nyquist."""
    hz = np.arange(cfg.n_bins) * cfg.sample_rate / cfg.n_fft
    low, high = 60.0, cfg.sample_rate / 2
    band = np.floor(n_bands * np.log(np.maximum(hz, low) / low) / np.log(high / low)).astype(int)
    band = np.minimum(band, n_bands - 1)
    m = np.zeros((cfg.n_bins, n_bands), np.float32)
    m[np.arange(cfg.n_bins), band] = 1.0
    return m / np.maximum(m.sum(axis=0), 1.0)


def band_log_power(log_frames: np.ndarray, cfg: FeatureConfig, n_bands: int = 32) -> np.ndarray:
    """Mean log power per log-spaced band: frames x n_bands."""
    return np.asarray(log_frames, np.float32) @ band_matrix(cfg, n_bands)


def _detrend(x: np.ndarray, width: int) -> np.ndarray:
    """Each column less its moving average over ``width`` frames."""
    kernel = np.ones(width) / width
    return x - np.stack([np.convolve(col, kernel, mode="same") for col in x.T], axis=1)


def onset_envelopes(log_frames: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """Spectral flux per frame in _ONSET_BANDS log-spaced bands, each less its trend over half a
    second and scaled to unit spread (a quiet band counts as much as a loud one), and the learned
    detector's envelope after them, treated alike (frames x _ONSET_BANDS + 1; the bands alone
    for frames the detector does not fit).

    The flux is taken per bin, against the louder of each bin's neighbours a frame before
    (SuperFlux, Böck & Widmer 2013), so a new note on a sustained instrument counts as an
    attack, and vibrato does not. Each bin is first raised to a floor FLUX_FLOOR_DB below its
    frame's loudest bin: the beating of partials in the valleys between them is no attack.
    """
    frames = np.asarray(log_frames, np.float32)
    floor = np.maximum(frames.max(axis=1, keepdims=True) - FLUX_FLOOR_DB / DB_PER_NEPER,
                       frames.max() - 2 * FLUX_FLOOR_DB / DB_PER_NEPER)
    frames = np.maximum(frames, floor)
    flux = np.zeros_like(frames)
    if len(frames) > 1:
        rise = flux[1:]
        np.subtract(frames[1:], with_neighbours(frames[:-1]), out=rise)
        np.maximum(rise, 0.0, out=rise)
    matrix = band_matrix(cfg, _ONSET_BANDS)
    flux = _detrend(flux @ matrix, max(3, int(round(0.5 * cfg.frames_per_second))))
    # A band with no attacks (a held tone) keeps its tiny spread rather than being blown up to one,
    # and a band far below the loudest (leakage, hiss) fades out of the count.
    power = frames - frames.max()
    level = np.exp(power, out=power).mean(axis=0) @ matrix
    level_db = DB_PER_NEPER * np.log(level / level.max() + 1e-30)
    weight = np.clip((level_db + QUIET_BAND_DB) / (QUIET_BAND_DB - FULL_BAND_DB), 0.0, 1.0)
    bands = flux * weight / np.maximum(flux.std(axis=0), MIN_FLUX_SPREAD)
    if not onsets.fits(cfg):
        return bands  # frames the learned detector was not trained on (a model of another rate)
    # The learned detector's notes, as one more envelope counted LEARNED_WEIGHT times a band: it
    # hears the legato changes the bands miss (core/onsets.py).
    activation = onsets.onset_activation(log_frames, cfg)
    learned = _detrend(activation[:, None], max(3, int(round(0.5 * cfg.frames_per_second))))
    learned = LEARNED_WEIGHT * learned / max(float(learned.std()), MIN_LEARNED_SPREAD)
    return np.concatenate([bands, learned], axis=1)


def _autocorrelation(env: np.ndarray, max_lag: int) -> np.ndarray:
    """The columns' unbiased autocorrelations summed, at lags 0..max_lag, over their summed power
    or one band's worth (unit spread), whichever is more: bands without attacks add nothing."""
    n = len(env)
    spectrum = np.fft.rfft(env, 2 * n, axis=0)
    ac = np.fft.irfft((spectrum * np.conj(spectrum)).real.sum(axis=1), 2 * n)[:max_lag + 1]
    ac = ac / (n - np.arange(max_lag + 1))
    return ac / max(float(ac[0]), 1.0)


def tempo_strength(env: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Candidate periods (frames, on a 0.25 % grid) and each one's comb strength (the mean
    autocorrelation of the bands' envelopes, ``onset_envelopes``, at one to four periods)."""
    max_lag = int(0.6 * len(env))
    ac = _autocorrelation(env, max_lag)
    periods = 60.0 * fps / np.exp(np.arange(np.log(MAX_BPM), np.log(MIN_BPM), -0.0025))
    teeth = periods[:, None] * np.arange(1, _COMB + 1)[None, :]
    valid = teeth <= max_lag
    values = np.interp(np.where(valid, teeth, 0.0), np.arange(max_lag + 1), ac)
    count = valid.sum(axis=1)
    strength = np.where(count >= 2, (values * valid).sum(axis=1) / np.maximum(count, 1), 0.0)
    return periods, strength


def _track_beats(env: np.ndarray, period: float, tightness: float = 100.0) -> np.ndarray:
    """Beat frames by dynamic programming (Ellis 2007): onsets rewarded, intervals off the period
    penalised by tightness x log(interval / period)^2."""
    score = env / max(float(env.std()), 1e-9)
    n = len(score)
    lo, hi = max(1, int(round(period / 2))), int(round(2 * period))
    # Indexed from the farthest predecessor (i - hi) to the nearest (i - lo), as a slice reads them.
    penalty = -tightness * np.log(np.arange(hi, lo - 1, -1) / period) ** 2
    total = score.copy()
    back = np.full(n, -1)
    for i in range(lo, n):
        start = i - hi
        candidates = total[max(start, 0):i - lo + 1] + penalty[max(-start, 0):]
        best = int(np.argmax(candidates))
        if candidates[best] > 0:
            total[i] += candidates[best]
            back[i] = max(start, 0) + best
    # The last beat: the best total within the final period.
    i = n - int(round(period)) + int(np.argmax(total[n - int(round(period)):]))
    beats = [i]
    while back[beats[-1]] >= 0:
        beats.append(back[beats[-1]])
    return np.array(beats[::-1], float)


def _refine(env: np.ndarray, beats: np.ndarray) -> np.ndarray:
    """Each beat moved to the centroid of the positive envelope over its frame and the two beside it:
    an attack's flux falls across two frames in the share that says where it lies between them,
    and the grid's period comes out to a fraction of a frame, not jittering with the framing."""
    frames = np.clip(beats.astype(int)[:, None] + np.arange(-1, 2)[None, :], 0, len(env) - 1)
    weight = np.maximum(env[frames], 0.0)
    total = weight.sum(axis=1)
    shift = np.where(total > 0, (weight * np.arange(-1, 2)[None, :]).sum(axis=1) / np.where(total > 0, total, 1.0), 0.0)
    return beats + shift


def _precise_period(ac: np.ndarray, period: float) -> float:
    """The period through the autocorrelation's peaks near each of its multiples (each peak found to
    a fraction of a frame by a parabola), weighted by their height: the furthest peaks pin it down
    to a small fraction of a frame, where the candidate grid and the beats' frames cannot."""
    lags, weights = [], []
    for k in range(1, int((len(ac) - 2) / period) + 1):
        reach = min(0.03 * k * period, 0.25 * period)  # never as far as the next multiple's peak
        lo, hi = max(1, int(np.floor(k * period - reach))), min(len(ac) - 2, int(np.ceil(k * period + reach)))
        if hi < lo:
            break
        i = lo + int(np.argmax(ac[lo:hi + 1]))
        a, b, c = ac[i - 1], ac[i], ac[i + 1]
        if b <= 0 or not (b >= a and b >= c):
            continue
        curvature = a - 2 * b + c
        lags.append((i + (0.5 * (a - c) / curvature if curvature < 0 else 0.0), k))
        weights.append(b)
    if not lags:
        return period
    lag, k = np.array(lags).T
    w = np.array(weights) * k
    return float((w * lag).sum() / (w * k).sum())


def _phase(beats: np.ndarray, period: float) -> float:
    """Where the grid of ``period`` through the beats puts beat 0: their circular mean phase."""
    angle = np.angle(np.exp(2j * np.pi * beats / period).mean())
    return float(angle / (2 * np.pi) * period)


def _bar(log_frames: np.ndarray, cfg: FeatureConfig, env: np.ndarray, first: float,
         period: float) -> tuple[int | None, int]:
    """Beats per bar (3 or 4) and which grid beat starts a bar, where a beat of the bar clearly
    carries more low-band attacks and harmonic change than the others; (None, 0) otherwise."""
    n = len(env)
    beats = np.round(np.arange(first, n - 1, period)).astype(int)
    if len(beats) < 12:
        return None, 0
    low = env[:, 0]
    near = np.clip(beats[:, None] + np.arange(-2, 3)[None, :], 0, n - 1)
    low_attack = low[near].max(axis=1)
    bands = band_log_power(log_frames, cfg, 24).astype(np.float64)
    edges = np.concatenate([beats, [n]])
    segments = np.stack([bands[a:max(b, a + 1)].mean(axis=0) for a, b in zip(edges[:-1], edges[1:])])
    segments -= segments.mean(axis=1, keepdims=True)
    change = np.zeros(len(beats))
    change[1:] = np.sqrt(((segments[1:] - segments[:-1]) ** 2).mean(axis=1))

    def z(x):
        return (x - x.mean()) / max(float(x.std()), 1e-9)

    accent = z(low_attack) + z(change)
    best = (0.0, None, 0)
    for per_bar in (3, 4):
        for phase in range(per_bar):
            on = accent[phase::per_bar]
            off = np.delete(accent, np.arange(phase, len(accent), per_bar))
            if len(on) < 3:
                continue
            spread = np.sqrt(on.var() / len(on) + off.var() / len(off))
            t = (on.mean() - off.mean()) / max(float(spread), 1e-9)
            if t > best[0]:
                best = (t, per_bar, phase)
    t, per_bar, phase = best
    return (per_bar, phase) if t >= BAR_SURE else (None, 0)


def estimate_beat(log_frames: np.ndarray, cfg: FeatureConfig, like: Beat | None = None) -> Beat | None:
    """The beat, or None. like: the beat of the music this continues, kept where this clip's comb is
    nearly as strong at it (LIKE_SHARE of its best), so a continuation reads as its seed does."""
    fps = cfg.frames_per_second
    if len(log_frames) < MIN_SECONDS * fps:
        return None
    envelopes = onset_envelopes(log_frames, cfg)
    periods, strength = tempo_strength(envelopes, fps)
    bpm = 60.0 * fps / periods
    score = np.maximum(strength, 0.0) * np.exp(-0.5 * (np.log2(bpm / PRIOR_BPM) / PRIOR_OCTAVES) ** 2)
    best = int(np.argmax(score))
    # Whether the beat divides in three is read on the bands alone: the learned envelope's narrow
    # peaks dip deeper half a beat after a note than a third of one, and read as a compound beat.
    ac = _autocorrelation(envelopes[:, :_ONSET_BANDS], int(np.ceil(periods[best])) + 1)
    at = functools.partial(np.interp, xp=np.arange(len(ac)), fp=ac)
    compound = (at(periods[best] / 3) + at(2 * periods[best] / 3)) / 2 - at(periods[best] / 2) > COMPOUND
    period = None
    if like is not None:
        near = np.abs(np.log(periods / like.period_frames)) <= np.log(1.04)
        kept = int(np.argmax(np.where(near, score, -np.inf)))
        if near.any() and score[kept] >= LIKE_SHARE * score[best] and strength[kept] >= BEAT_NONE:
            # Read as the seed is, at its period and as sure as it: a take that keeps its seed's
            # beat shows the seed's tempo (not one a BPM off from its own shorter estimate), with
            # the seed's "≈" where the seed's is unsure.
            best, compound, period = kept, like.compound, like.period_frames
            strength[best] = like.strength
    if strength[best] < BEAT_NONE:
        return None
    envelope = envelopes.sum(axis=1)
    if period is None:
        period = _precise_period(_autocorrelation(envelopes, int(0.6 * len(envelopes))), periods[best])
    beats = _refine(envelope, _track_beats(envelope, period))
    first = _phase(beats, period)
    first %= period
    per_bar, bar_beat = _bar(log_frames, cfg, envelopes, first, period)
    return Beat(period, first, min(float(strength[best]), 1.0), fps, per_bar, bar_beat, bool(compound))


def mean_level_db(log_frames: np.ndarray) -> float:
    """dB of the frames' mean total power (0 dB: a full-scale sine on a bin centre)."""
    if not len(log_frames):
        return -np.inf
    return float(DB_PER_NEPER * (np.logaddexp.reduce(frame_level(log_frames)) - np.log(len(log_frames))))

def anchored_start(samples: np.ndarray, hop: int) -> int:
    """Where to start framing, 0..hop-1: so that a frame starts on the clip's loudest sample.

    Frames anchored on the music rather than on where a selection happens to start: the same
    music, selected a few samples earlier or later, gives the same frames and so the same
    readout. Where the beat is weak or two metrical levels score alike, another framing's small
    differences were enough to change it (docs/ANALYSIS.md)."""
    return int(np.argmax(np.abs(samples))) % hop if len(samples) else 0


def analyse(samples: np.ndarray, cfg: FeatureConfig, like: MusicAnalysis | None = None) -> MusicAnalysis:
    """Tempo, beat grid, bar and key of a clip (mono samples at cfg.sample_rate).

    Framed from ``anchored_start``, not from the clip's first sample; the beat grid still counts
    frames from the clip's start. A clip longer than ANALYSIS_SECONDS is read on its last
    ANALYSIS_SECONDS. like: the analysis of the music this clip continues (a take's seed), whose
    tempo and key are kept where this clip nearly agrees with them.
    """
    samples = np.asarray(samples, np.float32)
    skipped = max(0, frame_count(len(samples), cfg) - int(ANALYSIS_SECONDS * cfg.frames_per_second))
    tail = samples[skipped * cfg.hop:]
    lead = anchored_start(tail, cfg.hop)
    frames = log_power(tail[lead:], cfg)  # frame j starts at the clip's frame skipped + lead / hop + j
    if mean_level_db(frames) < SILENT_DB:
        return MusicAnalysis(None, None, True)
    beat = estimate_beat(frames, cfg, like.beat if like else None)
    offset = skipped + lead / cfg.hop
    if beat is not None and offset:
        # The grid counted from the clip's start: beat 0 moves to the first beat at or after frame 0.
        shift = np.floor((beat.first_frame + offset) / beat.period_frames)
        beat = replace(beat, first_frame=(beat.first_frame + offset) % beat.period_frames,
                       bar_beat=int((beat.bar_beat + shift) % beat.beats_per_bar) if beat.beats_per_bar else 0)
    key = estimate_key(tail, cfg.sample_rate, like.key if like else None)
    return MusicAnalysis(beat, key, False, ANALYSIS_SECONDS if skipped else None)
