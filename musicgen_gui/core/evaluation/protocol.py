"""The run protocol of ``musicgen evaluate``: held-out clips, draws through the real
pipeline, each continuation scored beside the true continuation.

* Free-running continuations: held-out seeds are continued through the real
  pipeline (``ContinuationSession``) and the audio is compared with the seed, the
  true continuation and a "frozen last frame" baseline, with the measures of
  ``metrics``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from ..analysis import analyse
from ..audio_io import find_audio_files, load_audio
from ..bundle import ModelBundle
from ..errors import AudioLoadError, MusicgenError
from ..features import FeatureConfig, log_power
from ..labels import half, key_agrees, label_at, read_labels, tempo_agrees
from ..phase import StreamingPhaseReconstructor
from ..params import ContinuationParams
from ..session import ContinuationSession
from .metrics import (
    DYNAMIC_RANGE_DB, ONSET_HOP, band_levels_db, beat_period_frames, change_ratio, clipped_fraction, copy_fraction,
    estimate_tuning, frechet_distance, integrated_loudness, key_correlation, level_difference_db,
    loudness_differences, loudness_range_lu, mean_chroma, mel_db, movement_change_db, movement_db, onset_envelope,
    onset_strength_db, periodicity, replay_fraction, self_distance_db, self_repetition, silent_fraction,
    spectral_detail_db, timbre_deviation_db, true_peak_dbtp)

MIN_EVAL_SECONDS = 1.0  # at least two blocks and one window each side of the seam
SKIP_SECONDS = 2.0  # the seam's first seconds are not scored: the protocol
HORIZON_SECONDS = 20.0  # scored from SKIP_SECONDS on, and so is the whole length
LOUDNESS_SKIP_SECONDS = 0.5
MIN_ONSET_SPREAD_DB = 0.5  # a seed whose onset strength varies less has no onsets to make a beat

# Targets (issue 4): a seed passes when its continuation meets all of them.
MAX_SILENT_FRACTION = 0.0
MAX_ABS_LEVEL_DB = 6.0
MIN_CHANGE_RATIO = 0.5
MAX_COPY_FRACTION = 0.2
MAX_TEACHER_FORCED_RATIO = 0.8
# Fidelity to the seed (issue 11).
MIN_KEY_CORRELATION = 0.3
MIN_BEAT_STRENGTH = 0.25
MAX_TIMBRE_DB = 8.0
MAX_REPLAY_FRACTION = 0.5
# Loudness, targets of their own, not part of passing (issue 17): no 3 s window further than this
# from the seed's loudness, and the median of them within MAX_LOUDNESS_BIAS_LU of it; the music's
# own dynamics may move it as much as the truth's own move (the loudness range, beside the truth's).
MAX_LOUDNESS_LU = 6.0
MAX_LOUDNESS_BIAS_LU = 1.0
MAX_LOUDNESS_RANGE_DIFFERENCE_LU = 3.0


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
    # What a listener notices (issue 17), not targets: read each beside the truth's. A ratio is the
    # continuation's over the truth's (the truth's own is 1); None where the span is too short.
    attack_db: float  # onset strength: mean positive spectral flux, dB per frame (onset_strength_db)
    attack_ratio: float | None
    detail_db: float  # fine spectral detail (spectral_detail_db)
    detail_ratio: float | None
    self_distance_db: float | None  # 2 s stretches to their nearest earlier one (self_distance_db)
    movement_db: float | None  # spread of the 4 s mean spectra (movement_db)
    movement_ratio: float | None
    movement_change_db: float | None  # from one 4 s window to the next (movement_change_db)
    loudness_range_lu: float  # EBU R128 LRA of the scored span (loudness_range_lu)

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
        return self.loudness_max_lu <= MAX_LOUDNESS_LU and abs(self.loudness_bias_lu) <= MAX_LOUDNESS_BIAS_LU

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
    pass the truth as the continuation (its Fréchet distance is then 0, its ratios 1)."""
    sr, fps = cfg.sample_rate, cfg.frames_per_second
    end = None if end_seconds is None else int(round(end_seconds * sr))
    skip = int(round(SKIP_SECONDS * sr))
    scored = continuation[skip:end]
    frames = SeedFrames.from_audio(cfg, seed, scored, truth[skip:end], frozen[skip:end])
    loudness = loudness_differences(continuation[int(round(LOUDNESS_SKIP_SECONDS * sr)):end],
                                    profile.loudness_lufs, sr)
    heard = continuation[:end]
    attack, truth_attack = onset_strength_db(frames.continuation), onset_strength_db(frames.truth)
    detail, truth_detail = spectral_detail_db(scored, cfg), spectral_detail_db(truth[skip:end], cfg)
    movement, truth_movement = movement_db(frames.continuation, fps), movement_db(frames.truth, fps)
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
        attack_db=attack,
        attack_ratio=_share(attack, truth_attack),
        detail_db=detail,
        detail_ratio=_share(detail, truth_detail),
        self_distance_db=self_distance_db(frames.continuation, fps),
        movement_db=movement,
        movement_ratio=_share(movement, truth_movement),
        movement_change_db=movement_change_db(frames.continuation, fps),
        loudness_range_lu=loudness_range_lu(scored, sr),
    )


def _share(value: float | None, truth: float | None) -> float | None:
    """``value`` as a share of the truth's (None where either is missing or the truth's is 0)."""
    return None if value is None or not truth else value / truth


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
               seconds: float, min_truth_seconds: float | None = None, which_half: str = "all") -> list[Clip]:
    """Up to ``count`` clips of seed + true continuation, deterministically.

    Files (sorted) take turns, so the clips spread over as many tracks as
    possible. A file giving k clips is cut into k equal parts and each clip sits
    in the middle of its part (away from intros and endings). A file too short for
    a whole clip still gives one from its start, with a true continuation cut
    short, if that holds at least ``min_truth_seconds`` (default: half of
    ``seconds``, and at least SKIP_SECONDS + MIN_EVAL_SECONDS). Unreadable files
    are skipped, as in training. ``which_half``: "tune" or "report" takes only the files of that
    half (labels.half, by file name), "all" every file.
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
        if which_half != "all" and half(path.name) != which_half:
            continue
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
