"""The one pipeline: seed -> log-power frames -> predictor -> phase -> sample blocks.

``musicgen continue`` and the GUI's worker both drive a ContinuationSession; the
GUI iterates ``blocks()`` and streams each block, the CLI calls ``render()``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from . import analysis
from .adapt import Adaptation, adapt_to_seed
from .bandlimit import BandLimit, seed_bandwidth_hz
from .bundle import ModelBundle
from .errors import MusicgenError
from .features import DB_PER_NEPER, FeatureConfig, align_to_frames, frame_level, log_power
from .gated import GatedGenerator
from .key import pitch_class_filters, tuning
from .loudness import Leveler, mean_square_loudness, seed_loudness
from .memory import CONTEXT_FRAMES, MIN_MEMORY_SECONDS, SeedMemory, before_final_pause, seed_error_ratio
from .params import MAX_ADAPT_SECONDS, MAX_SECONDS, MIN_SEED_LUFS, ContinuationParams
from .phase import StreamingPhaseReconstructor
from .predictor import FramePredictor


@dataclass
class Block:
    samples: np.ndarray  # float32 mono continuation samples at the model's rate
    frames: np.ndarray  # (k, n_bins) log-power frames predicted since the last block
    start_sample: int  # index of samples[0] in the continuation (0 = right after the seed)


class LevelAnchor:
    """Re-anchors the continuation's loudness to the seed's: a slow controller
    that shifts whole frames (uniformly in log power) when the smoothed level
    leaves a dead zone around the seed's level.

    An autoregressive net drifts towards its training data's average loudness or
    fades out; the shifted frames are also what the net is fed, so the correction
    pulls its state back rather than only turning a volume knob. Inside the dead
    zone the music's own dynamics pass untouched.

    The level is either the mean of the frames' dB (``mean_power=False``) or the
    dB of their mean power, as loudness meters and the evaluation measure it. On
    beat-heavy music averaging dB reads a continuation busier than the seed as
    quieter than it sounds, and it ends up loud; on piano, averaging power lets
    each strike pull the level down, and gaps open. The model file says which
    (chosen on validation seeds, docs/EVALUATION.md).
    """

    def __init__(self, seed_frames: np.ndarray, frames_per_second: float, mean_power: bool = False,
                 time_constant_seconds: float = 1.0, tolerance_db: float = 3.0, max_boost_db: float = 12.0):
        self._mean_power = mean_power
        if mean_power:  # the median 1 s window of the last 8 s: robust to a quiet bar or a single crash
            power = np.exp(frame_level(seed_frames[-max(1, int(8.0 * frames_per_second)):]))
            window = min(len(power), max(1, int(frames_per_second)))
            self._smoothed = float(np.median(power[:len(power) // window * window].reshape(-1, window).mean(axis=1)))
            self.reference_db = 10.0 * np.log10(self._smoothed)
        else:  # the median frame of the last 3 s
            self.reference_db = float(np.median(frame_level(seed_frames[-max(1, int(3.0 * frames_per_second)):])
                                                * DB_PER_NEPER))
            self._smoothed = self.reference_db
        self._alpha = 1.0 / max(1.0, time_constant_seconds * frames_per_second)
        self._tolerance_db, self._max_boost_db = tolerance_db, max_boost_db

    def correction(self, log_frame: np.ndarray) -> float:
        """The log-power shift for this frame (0 inside the dead zone)."""
        level = float(frame_level(log_frame))
        value = np.exp(level) if self._mean_power else level * DB_PER_NEPER
        self._smoothed += self._alpha * (value - self._smoothed)
        level_db = 10.0 * np.log10(max(self._smoothed, 1e-30)) if self._mean_power else self._smoothed
        error = self.reference_db - level_db
        excess = np.sign(error) * max(0.0, abs(error) - self._tolerance_db)
        # Boosting a fade-out is capped: past that it would only amplify noise.
        return min(excess, self._max_boost_db) / DB_PER_NEPER


class ShareAnchor:
    """Holds the continuation's power shares over groups of bins near the seed's: per group, the
    smoothed power's share of the groups' total against the same share over the seed's last
    REFERENCE_SECONDS, corrected beyond a dead zone (a subclass's TOLERANCE_DB) by at most its
    MAX_SHIFT_DB.

    Power is moved between the groups, never added or taken: the level is LevelAnchor's. Shares of
    power, as a listener weighs them: the mean log power of a sparse spectrum is decided by the
    valleys between its partials, which no one hears (docs/EVALUATION.md).
    """

    REFERENCE_SECONDS, TIME_CONSTANT_SECONDS = 8.0, 2.0
    TOLERANCE_DB: float
    MAX_SHIFT_DB: float

    def __init__(self, seed_frames: np.ndarray, groups: np.ndarray, cfg: FeatureConfig):
        """groups: bins x groups, each bin's weight in each group (a bin in none is left alone)."""
        recent = seed_frames[-max(1, int(self.REFERENCE_SECONDS * cfg.frames_per_second)):]
        used = np.nonzero(groups.any(axis=1))[0]  # only these bins are read and shifted
        self._bins = slice(int(used[0]), int(used[-1]) + 1)
        self._groups = np.asarray(groups[self._bins], np.float64)
        self._shift = np.zeros(cfg.n_bins, np.float32)
        self._smoothed = np.exp(recent[:, self._bins].astype(np.float64)).mean(axis=0) @ self._groups + 1e-30
        self._reference = np.log(self._smoothed / self._smoothed.sum())
        self._alpha = 1.0 / max(1.0, self.TIME_CONSTANT_SECONDS * cfg.frames_per_second)
        self._tolerance, self._max_shift = self.TOLERANCE_DB / DB_PER_NEPER, self.MAX_SHIFT_DB / DB_PER_NEPER

    def correction(self, log_frame: np.ndarray) -> np.ndarray:
        """The per-bin log-power shift for this frame (zeros inside the dead zone)."""
        self._smoothed += self._alpha * (np.exp(log_frame[self._bins].astype(np.float64)) @ self._groups
                                         - self._smoothed)
        share = self._smoothed / self._smoothed.sum()
        error = self._reference - np.log(share + 1e-30)
        excess = np.sign(error) * np.clip(np.abs(error) - self._tolerance, 0.0, self._max_shift)
        if excess.any():
            excess -= np.log(share @ np.exp(excess))  # power-neutral
        self._shift[self._bins] = self._groups @ excess
        return self._shift.copy()


class TimbreAnchor(ShareAnchor):
    """Keeps the continuation's spectral balance near the seed's: the power in 24 log-spaced bands.

    Left alone, the net's long-run spectrum wanders off towards its training data's (a register
    its training music seldom played comes out too quiet), far further from the true
    continuation's than the seed's is; the dead zone leaves the music's own changes of timbre alone.
    """

    N_BANDS = 24
    TOLERANCE_DB, MAX_SHIFT_DB = 3.0, 12.0

    def __init__(self, seed_frames: np.ndarray, cfg: FeatureConfig):
        super().__init__(seed_frames, (analysis.band_matrix(cfg, self.N_BANDS) > 0).astype(np.float32), cfg)


class PitchAnchor(ShareAnchor):
    """Keeps the continuation's pitch classes near the seed's: the bins from C2 to C7 folded by
    note name, on the seed's tuning.

    A net left alone (no memory: the follow slider's "wander" end) drifts into its training
    data's keys; this keeps it on the seed's notes, in whatever octave and order it plays them.
    """

    TOLERANCE_DB = 1.0
    MAX_SHIFT_DB = 12.0  # a bound: 6 and 24 dB gave the same on the tune half (docs/EVALUATION.md)

    def __init__(self, seed_frames: np.ndarray, seed: np.ndarray, cfg: FeatureConfig):
        samples = seed[-int(self.REFERENCE_SECONDS * cfg.sample_rate):]
        filters = pitch_class_filters(cfg.n_fft, cfg.sample_rate, tuning(samples, cfg.sample_rate))[:cfg.n_bins]
        super().__init__(seed_frames, filters, cfg)


def _contiguous_bands(cfg: FeatureConfig, n_bands: int, n_bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each bin's band (analysis.band_matrix's largest weight): the first bin of each band, each bin's
    band and each band's size in bins. The bands follow each other up the bins."""
    band = analysis.band_matrix(cfg, n_bands)[:n_bins].argmax(axis=1)
    starts = np.flatnonzero(np.diff(band, prepend=-1))
    return starts, np.cumsum(np.diff(band, prepend=band[0]) > 0), np.diff(np.append(starts, n_bins)).astype(np.float32)


class SpreadRestorer:
    """Gives the heard frames back the seed's spread around their running mean, bin by bin, and the
    seed's attacks, band by band.

    A net trained on the mean squared error predicts the average of what may come: its frames
    swell into notes and blur what lies between them (over-smoothing, which statistical speech
    synthesis meets with "global variance" compensation, Toda and Tokuda 2007). Per bin, each
    frame's deviation from its running mean (over MEAN_SECONDS) is scaled by the seed's standard
    deviation of that deviation over the continuation's own (over SPREAD_SECONDS), never down and
    at most by MAX_GAIN. The running mean, and so the spectrum's average and the timbre, is left as
    it is; the gaps between notes and the detail between partials come back.

    That spread still rises into a note over several frames where the seed's rose in one. So, as a
    transient shaper's attack does, each band's rise (its power's gain over the frame before; falls
    are left alone) is raised by a gain held where the band's mean rise, as heard, is the seed's:
    a slow control over SPREAD_SECONDS, never below 1 and at most RISE_MAX_GAIN. The frame a note
    starts on overshoots, and the decay after it is the music's. The rise is added to all of the
    band's bins alike, so that the valleys between partials stay as deep as they are. A model
    whose continuations carry drums raises them only in the bands above its key's notes
    (rises_from_hz): raised there, short broadband hits filled the valleys between the notes'
    partials, and the key no longer read.

    Only what is heard changes: the net and the memory go on from the frames as predicted.
    """

    MEAN_SECONDS, SPREAD_SECONDS, SEED_SECONDS = 1.0, 3.0, 30.0
    MAX_GAIN = 2.0  # a bound: 3 gave the same on the tune half, where the gain seldom passes 2
    RISE_BANDS = 32
    RISE_MAX_GAIN = 2.0  # a bound: 1.5 gave the same on the tune half (docs/EVALUATION.md)
    # A note entering from silence rises by tens of dB: its overshoot is held to this (3 and 12 gave the
    # same on the tune half).
    RISE_MAX_DB = 6.0

    def __init__(self, seed_frames: np.ndarray, cfg: FeatureConfig, rises: bool = True, rises_from_hz: float = 0.0):
        """rises: whether to restore the attacks too, in the bands wholly above rises_from_hz (the model
        file says: ModelBundle.restore_rises and rises_from_hz)."""
        frames_per_second = cfg.frames_per_second
        # The seed's last SEED_SECONDS: the music the continuation follows, and a bounded cost.
        frames = np.asarray(seed_frames[-int(self.SEED_SECONDS * frames_per_second):], np.float32)
        self._mean_rate = np.float32(1.0 / max(1.0, self.MEAN_SECONDS * frames_per_second))
        self._spread_rate = np.float32(1.0 / max(1.0, self.SPREAD_SECONDS * frames_per_second))
        warm = int(self.MEAN_SECONDS * frames_per_second)
        deviations = np.empty_like(frames)
        mean = frames[0].copy()
        for i, frame in enumerate(frames):  # the running mean, as it runs over the continuation
            mean += self._mean_rate * (frame - mean)
            deviations[i] = frame - mean
        settled = deviations[warm:] if len(frames) > 2 * warm else deviations
        self._target = settled.var(axis=0) + np.float32(1e-6)
        self._mean = frames[-max(1, warm):].mean(axis=0)
        self._spread = self._target.copy()  # the continuation starts as the seed was: gain 1
        self._rises = rises
        if not rises:
            return
        self._band_starts, self._band_of_bin, self._band_sizes = _contiguous_bands(cfg, self.RISE_BANDS,
                                                                                   frames.shape[1])
        self._raised_bands = (self._band_starts * cfg.sample_rate / cfg.n_fft >= rises_from_hz).astype(np.float32)
        level = self._band_level(frames)
        self._rise_target = np.log(np.maximum(np.diff(level, axis=0), 0.0).mean(axis=0) + np.float32(1e-6))
        self._heard_rise = np.exp(self._rise_target)  # the continuation starts as the seed was: gain 1
        self._rise_log_gain = np.zeros_like(self._rise_target)
        self._max_rise_log_gain = np.float32(np.log(self.RISE_MAX_GAIN))
        self._max_extra = np.float32(self.RISE_MAX_DB / DB_PER_NEPER)
        # The first frame's rise is over the seed's last.
        self._restored_level, self._heard_level = level[-1].copy(), level[-1].copy()

    def _band_level(self, log_frames: np.ndarray) -> np.ndarray:
        """Each band's log mean power: its loud bins decide, as they do what is heard."""
        return np.log(np.add.reduceat(np.exp(log_frames), self._band_starts, axis=-1) / self._band_sizes
                      + np.float32(1e-30))

    def process(self, log_frame: np.ndarray) -> np.ndarray:
        deviation = log_frame - self._mean
        self._mean += self._mean_rate * deviation
        deviation = log_frame - self._mean
        self._spread += self._spread_rate * (deviation * deviation - self._spread)
        gain = np.clip(np.sqrt(self._target / (self._spread + np.float32(1e-6))), 1.0, self.MAX_GAIN)
        restored = self._mean + gain * deviation
        if not self._rises:
            return restored.astype(np.float32)
        level = self._band_level(restored)
        extra = np.minimum((np.exp(self._rise_log_gain) - 1.0) * np.maximum(level - self._restored_level, 0.0),
                           self._max_extra) * self._raised_bands
        self._restored_level = level
        heard = level + extra
        self._heard_rise += self._spread_rate * (np.maximum(heard - self._heard_level, 0.0) - self._heard_rise)
        self._heard_level = heard
        self._rise_log_gain = np.clip(
            self._rise_log_gain + self._spread_rate * (self._rise_target - np.log(self._heard_rise + np.float32(1e-6))),
            0.0, self._max_rise_log_gain)
        return (restored + extra[self._band_of_bin]).astype(np.float32)


class DetailRestorer:
    """Gives the heard frames back the seed's detail across bins, band by band.

    The spread restorer gives each bin back its spread in time; a frame blended from the net's
    average and the memory's places still has broader peaks and shallower valleys between a note's
    partials than the seed's frames. Each frame's deviation from itself smoothed over a third of an
    octave (the structure such smoothing removes, the evaluation's "detail") is scaled, in 32
    bands, by the seed's mean absolute deviation over the continuation's own (over
    SpreadRestorer.SPREAD_SECONDS), never down and at most by MAX_GAIN, as statistical speech
    synthesis' post-filters sharpen a smoothed spectrum's peaks. Each band keeps its power, and so
    the balance between bands, the timbre, is left as it is. In the bass a third of an octave
    spans a bin or two, and nothing changes there.
    """

    OCTAVES = 1.0 / 3.0
    BANDS = 32
    MAX_GAIN = 2.0  # a bound, as the spread restorer's (docs/EVALUATION.md)

    def __init__(self, seed_frames: np.ndarray, cfg: FeatureConfig):
        frames_per_second = cfg.frames_per_second
        frames = np.asarray(seed_frames[-int(SpreadRestorer.SEED_SECONDS * frames_per_second):], np.float32)
        n_bins = frames.shape[1]
        freqs = np.arange(n_bins) * cfg.sample_rate / cfg.n_fft
        half = 2.0 ** (self.OCTAVES / 2.0)
        # Bin k is smoothed over the bins from lo[k] to hi[k] - 1, itself always among them.
        self._lo = np.minimum(np.searchsorted(freqs, freqs / half), np.arange(n_bins))
        self._hi = np.maximum(np.searchsorted(freqs, freqs * half, side="right"), np.arange(n_bins) + 1)
        self._width = (self._hi - self._lo).astype(np.float32)
        self._sums = np.zeros(n_bins + 1, np.float32)
        self._starts, self._band_of_bin, self._sizes = _contiguous_bands(cfg, self.BANDS, n_bins)
        self._rate = np.float32(1.0 / max(1.0, SpreadRestorer.SPREAD_SECONDS * frames_per_second))
        sums = np.concatenate([np.zeros((len(frames), 1), np.float32), np.cumsum(frames, axis=1)], axis=1)
        deviations = frames - (sums[:, self._hi] - sums[:, self._lo]) / self._width
        self._target = self._band_detail(deviations).mean(axis=0) + np.float32(1e-6)
        self._detail = self._target.copy()  # the continuation starts as the seed was: gain 1

    def _deviation(self, log_frame: np.ndarray) -> np.ndarray:
        """The frame less itself smoothed over OCTAVES (from a running sum, as for the seed above)."""
        np.cumsum(log_frame, out=self._sums[1:])
        return log_frame - (self._sums[self._hi] - self._sums[self._lo]) / self._width

    def _band_detail(self, deviations: np.ndarray) -> np.ndarray:
        return np.add.reduceat(np.abs(deviations), self._starts, axis=-1) / self._sizes

    def _band_power(self, log_frame: np.ndarray) -> np.ndarray:
        return np.add.reduceat(np.exp(log_frame), self._starts) + np.float32(1e-30)  # never 0 / 0

    def process(self, log_frame: np.ndarray) -> np.ndarray:
        deviation = self._deviation(log_frame)
        self._detail += self._rate * (self._band_detail(deviation) - self._detail)
        gain = np.clip(self._target / np.maximum(self._detail, np.float32(1e-30)), 1.0, self.MAX_GAIN)
        sharper = log_frame + (gain[self._band_of_bin] - 1.0) * deviation
        # Deeper valleys and higher peaks hold more power than before (the peaks count most): each
        # band is brought back to its power, so that the balance between bands stays as it was.
        held = np.log(self._band_power(log_frame) / self._band_power(sharper))
        return (sharper + held[self._band_of_bin]).astype(np.float32)


# Wandering, the variation the net is fed comes on the seed's beat: the noise on the frame before each
# beat is BEAT_KICK times the usual, on every other frame OFF_BEAT times; fully at follow 0, less and
# less up to BEAT_VARIATION_FOLLOW, and not at all from there (the default). Chosen on the tune half:
# stronger kicks kept the beat on more seeds and lost the timbre on more (docs/EVALUATION.md).
BEAT_KICK, OFF_BEAT = 6.0, 0.6
BEAT_VARIATION_FOLLOW = 0.5


class BeatVariation:
    """How much of the variation the net is fed at each step, when it wanders.

    The net carries the noise on the frame it is fed into the next frame it plays: noise spread
    evenly let its new notes fall anywhere, and the continuation lost the seed's beat as soon as the
    memory (which jumps on the beat) was not asked. Kicked on the frame before each of the seed's
    beats, the net strikes its own notes on the beat.
    """

    def __init__(self, beat: analysis.Beat, seed_frames: int):
        self._period, self._first = beat.period_frames, beat.first_frame
        self._predicted = seed_frames + 1  # the seed-frame index of what the first fed frame predicts

    def scale(self, step: int, follow: float) -> float:
        """The noise's scale on the frame fed at ``step`` (0: the continuation's first frame)."""
        strength = max(0.0, 1.0 - follow / BEAT_VARIATION_FOLLOW)
        if strength == 0.0:
            return 1.0
        frame = self._predicted + step - self._first
        # A beat within half a frame of it (half-open, so that each beat has exactly one frame).
        on_beat = np.floor((frame + 0.5) / self._period) > np.floor((frame - 0.5) / self._period)
        return 1.0 + strength * ((BEAT_KICK if on_beat else OFF_BEAT) - 1.0)


class ContinuationSession:
    def __init__(self, bundle: ModelBundle, seed: np.ndarray, params: ContinuationParams):
        cfg = bundle.features
        seed = np.asarray(seed, np.float32)
        if seed.ndim != 1:
            raise MusicgenError("the seed must be mono")
        if len(seed) < cfg.min_seed_samples:
            raise MusicgenError(
                f"the seed is too short ({len(seed) / cfg.sample_rate:.2f} s); "
                f"it must be at least {cfg.min_seed_samples / cfg.sample_rate:.2f} s long")
        if not np.isfinite(seed).all():
            raise MusicgenError("the seed contains invalid (NaN or infinite) samples")
        if not 0 < params.seconds <= MAX_SECONDS:
            raise MusicgenError(f"the length must be more than 0 and at most {MAX_SECONDS:.0f} seconds")
        if params.rng_seed is not None and params.rng_seed < 0:
            raise MusicgenError("the random seed must be 0 or more")
        if not 0 <= params.temperature <= 10:
            raise MusicgenError("the temperature must be between 0 and 10")
        if not 0 <= params.adapt_seconds <= MAX_ADAPT_SECONDS:
            raise MusicgenError(f"adapting to the seed takes between 0 and {MAX_ADAPT_SECONDS:.0f} seconds")
        if not 0 <= params.follow <= 1:
            raise MusicgenError("how closely to follow the seed must be between 0 (wander) and 1 (stay close)")
        self.bundle = bundle
        self.sample_rate = cfg.sample_rate
        self.seed = align_to_frames(seed, cfg)
        self.seed_frames = log_power(self.seed, cfg)
        self.seed_loudness = seed_loudness(self.seed, cfg.sample_rate)
        if not self.seed_loudness >= MIN_SEED_LUFS:
            level = "no sound at all" if self.seed_loudness == -np.inf else f"{self.seed_loudness:.0f} LUFS"
            raise MusicgenError(f"the seed is silent or nearly so ({level}); choose or record a clip "
                                "with music in it")
        self.seed_analysis = analysis.analyse(self.seed, cfg)
        self.follow = float(params.follow)
        # Things worth telling the user before the continuation starts.
        self.notes: list[str] = []
        if bundle.architecture.conditioned and params.adapt_seconds > 0:
            raise MusicgenError("adapting to the seed is for the plain models: this model reads its seed itself; "
                                "set adapting to 0")
        self._bands = analysis.band_log_power(self.seed_frames, cfg)
        # The seed's music: a pause it ends in would hold the continuation silent, so the memory, the
        # anchors and the first context matched draw on what comes before it.
        self._music_end = before_final_pause(self._bands, cfg)
        if self._music_end < len(self.seed_frames):
            seconds = self._music_end / cfg.frames_per_second
            music = f"the seed's music before the pause it ends in is only {seconds:.1f} s"
        else:
            music = f"the seed is only {len(seed) / cfg.sample_rate:.1f} s"
        if self.follow > 0 and self._music_end < MIN_MEMORY_SECONDS * cfg.frames_per_second:
            if bundle.architecture.conditioned:
                self.notes.append(f"{music} long, too short for its memory: the continuation goes on from what "
                                  f"the seed is like as a whole; {MIN_MEMORY_SECONDS:g} s or more of music is "
                                  "followed closely")
            else:
                self.notes.append(f"{music} long: the continuation draws on what there is; "
                                  f"{MIN_MEMORY_SECONDS:g} s or more of music is followed more closely")
        self.total_samples = int(round(params.seconds * cfg.sample_rate))
        self.temperature = float(params.temperature)
        self.anchor = params.anchor
        self.int8 = params.int8  # asked for; once generating, whether it runs (see FramePredictor)
        self.adapt_seconds, self._adapt_rng_seed = params.adapt_seconds, params.rng_seed
        self.adaptation: Adaptation | None = None  # set once the model has been adapted
        self.net_error_ratio: float | None = None  # once generating: how well the net predicts the seed (memory.py)
        self._rng = np.random.default_rng(params.rng_seed)
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def blocks(self) -> Iterator[Block]:
        """Yield the continuation block by block; exactly total_samples in all unless cancelled."""
        # One-row matrix products are memory-bound: a second BLAS thread only
        # fights the GUI and audio threads for the cores (4x slower measured).
        with threadpool_limits(limits=1, user_api="blas"):
            yield from self._generate()

    def adapt(self) -> None:
        """Adapt the model to the seed, if asked for and not done yet (blocks() does it
        otherwise): a caller can do it first, to say so while it takes."""
        if self.adapt_seconds > 0 and self.adaptation is None:
            self.adaptation = adapt_to_seed(self.bundle, self.seed_frames, self.adapt_seconds, self._adapt_rng_seed,
                                            should_stop=self._cancelled.is_set)

    def _generate(self) -> Iterator[Block]:
        self.adapt()
        bundle = self.adaptation.bundle if self.adaptation else self.bundle
        cfg = bundle.features
        norm = bundle.normaliser
        seed_frames = norm.normalise(self.seed_frames)
        bands, music_end = self._bands, self._music_end
        # The last frames heard, for the memory's matching: a whole context, even where the music
        # before the pause is shorter than one.
        recent = bands[:max(music_end, CONTEXT_FRAMES)][-CONTEXT_FRAMES:].copy()
        if bundle.architecture.conditioned:
            # The net decides, from the seed's summary and what its memory offers (gated.py).
            gated = GatedGenerator(bundle, self.seed_frames, self.int8, self.seed_analysis.beat, self._rng,
                                   music_end)
            self.int8, memory, anchors, spread, detail = gated.int8, None, [], None, None
            prediction = gated.warm(self.follow)[None]
        else:
            gated = None
            predictor = FramePredictor(bundle, batch=1, int8=self.int8)
            self.int8 = predictor.int8
            length = bundle.training.sequence_length
            # How well the net predicts this seed decides how hard the memory corrects it.
            self.net_error_ratio = seed_error_ratio(predictor, seed_frames, length) if self.follow > 0 else None
            # The state is warmed on the seed's last BPTT window: training windows start from a zero
            # state too, so this is the context the net learned to use, and a longer warm-up would
            # only delay the first sound.
            prediction = predictor.run_sequence(seed_frames[None, -length:])[:, -1]
        phase = StreamingPhaseReconstructor(cfg)
        phase.prime(self.seed)
        noise_scale = bundle.residual_std[None, :]
        beat = self.seed_analysis.beat
        # Only on a beat the readout is sure of: on an unsure pulse (a legato choir's) the kicks struck
        # onsets the music never had.
        variation = (BeatVariation(beat, len(self.seed_frames)) if beat and beat.sure and bundle.vary_on_beat
                     and not gated else None)
        if gated is None:
            # Made even at follow 0, so that follow can change while generating (self.follow, like
            # self.temperature, is read before each frame); at 0 it is not asked, and draws nothing.
            memory = SeedMemory(seed_frames, bands, self.seed_analysis.beat, self.follow, self._rng,
                                bundle.memory_shape_boost, cfg, self.net_error_ratio)
            anchors = []
            if self.anchor:
                music = self.seed_frames[:music_end]  # the pitch classes, level and timbre of the seed's music
                # Pitch and timbre first: the level anchor must see what their shifts do to the frame.
                anchors.append(PitchAnchor(music, self.seed[:music_end * cfg.hop], cfg))
                anchors.append(TimbreAnchor(music, cfg))
                anchors.append(LevelAnchor(music, cfg.frames_per_second, bundle.level_mean_power))
            spread = SpreadRestorer(self.seed_frames[:music_end], cfg, bundle.restore_rises, bundle.rises_from_hz)
            detail = DetailRestorer(self.seed_frames[:music_end], cfg) if bundle.restore_detail else None
        band_limit = BandLimit(seed_bandwidth_hz(self.seed_frames, cfg), cfg.sample_rate, self.seed[-cfg.n_fft:])
        leveler = Leveler(cfg.sample_rate, self.seed_loudness if self.anchor else None,
                          mean_square_loudness(self.seed[-cfg.sample_rate:], cfg.sample_rate),
                          seam_samples=phase.seam_samples)
        pending: list[np.ndarray] = []
        produced = made = 0  # samples yielded; samples the phase reconstruction has made
        step = 0  # frames fed back
        leveled = 0  # samples handed to the leveler

        def level(raw: np.ndarray) -> np.ndarray:
            # Nothing past the end: the limiter must see where the take stops (silence after it), or a
            # take cut off mid-wave afterwards has a peak between its last samples above the ceiling.
            nonlocal leveled
            raw = raw[:self.total_samples - leveled]
            leveled += len(raw)
            return leveler.process(raw)

        while produced < self.total_samples and not self._cancelled.is_set():
            if memory is not None and memory.follow != self.follow:
                memory.set_follow(self.follow)
            if memory is not None and self.follow > 0:
                # The correction: the net's guess pulled towards the seed's own next frame.
                prediction = memory.correct(prediction, recent, vary=self.temperature > 0)
            frame = np.clip(prediction, bundle.frame_min, bundle.frame_max)
            log_frame = norm.denormalise(frame[0])
            for anchor in anchors:
                # Fed back too: the net's state follows what it is fed.
                shift = anchor.correction(log_frame)
                log_frame = log_frame + shift
                frame = frame + shift / norm.std
            recent[:-1] = recent[1:]
            recent[-1] = analysis.band_log_power(log_frame[None], cfg)[0]
            if spread is not None:
                log_frame = spread.process(log_frame)  # what is heard, and shown
            if detail is not None:
                log_frame = detail.process(log_frame)
            pending.append(log_frame)
            # Within the seed's bandwidth; the loudness heard follows the seed's (unless anchoring
            # is off); peaks are limited, never clipped.
            raw = phase.push(log_frame)
            made += len(raw)
            samples = level(band_limit.process(raw))
            if made >= self.total_samples:  # all there: out with what the look-aheads hold
                samples = np.concatenate([samples, level(band_limit.flush()), leveler.flush()])
            if len(samples):  # never past the end: the leveler is handed no more than the take
                yield Block(samples, np.stack(pending), produced)
                produced += len(samples)
                pending = []
            if self.temperature > 0:
                # Variation: noise on the frame the net is fed (this frame is already heard), scaled
                # per bin by the net's own prediction error. The net carries most of it into its
                # next prediction, which is heard.
                scale = self.temperature * (variation.scale(step, self.follow) if variation else 1.0)
                frame = frame + scale * noise_scale * self._rng.standard_normal(frame.shape, np.float32)
            step += 1
            prediction = (gated.step(frame[0], recent, self.follow, vary=self.temperature > 0)[None] if gated
                          else predictor.step(frame))

    def render(self, progress: Callable[[float], None] | None = None) -> np.ndarray:
        """The whole continuation as one array (shorter only if cancelled)."""
        out = np.zeros(self.total_samples, np.float32)
        end = 0
        for block in self.blocks():
            end = block.start_sample + len(block.samples)
            out[block.start_sample:end] = block.samples
            if progress is not None:
                progress(end / self.total_samples)
        return out[:end]
