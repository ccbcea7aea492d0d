"""Model quality measures that need no TensorFlow.

* ``teacher_forced_error``: next-frame MSE in the model's normalised units, given
  the true past, against persistence (repeat the last true frame).
* Free-running continuations (``musicgen evaluate``): held-out seeds are continued
  through the real pipeline (``ContinuationSession``) and the audio is compared
  with the seed, the true continuation and a "frozen last frame" baseline.

The continuation metrics work on log-mel frames: the power of ``features.stft``
(all ``n_fft // 2 + 1`` bins) through librosa's 64-band mel filterbank with
unit-peak triangles (``norm=None``, so a band holds the summed power of its bins),
in dB, floored ``DYNAMIC_RANGE_DB`` below the seed's loudest band so that
inaudible near-silent bands cannot dominate the distances. The metric functions
are pure: dB frames in, numbers out.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .audio_io import find_audio_files, load_audio
from .bundle import ModelBundle
from .errors import AudioLoadError, MusicgenError
from .features import FeatureConfig, log_power, power_to_log, stft, to_decibels
from .fileio import atomic_file
from .phase import StreamingPhaseReconstructor
from .predictor import FramePredictor
from .session import ContinuationParams, ContinuationSession

# Steps scored per window start after this many frames of warm-up, as in training.
WARMUP_FRAMES = 10

N_MELS = 64
DYNAMIC_RANGE_DB = 80.0
WINDOW_SECONDS = 1.0  # level, silence and copy are judged per window
BLOCK_SECONDS = 0.5  # the change ratio compares consecutive mean spectra this long
SILENCE_DB = 30.0  # a window this far below the seed's level counts as silent
COPY_TOLERANCE_DB = 2.0  # RMS over bands to the nearest seed frame
REPEAT_SEGMENT_SECONDS = 1.0  # self-repetition compares segments this long
MIN_EVAL_SECONDS = 1.0  # at least two blocks and one window each side of the seam

# Targets (issue 4): a seed passes when its continuation meets all of them.
MAX_SILENT_FRACTION = 0.0
MAX_ABS_LEVEL_DB = 6.0
MIN_CHANGE_RATIO = 0.5
MAX_COPY_FRACTION = 0.2
MAX_TEACHER_FORCED_RATIO = 0.8


@dataclass
class TeacherForcedResult:
    files: int
    windows: int
    model_mse: float  # normalised units, next frame given the true past
    persistence_mse: float  # repeating the last true frame

    @property
    def ratio(self) -> float:
        return self.model_mse / self.persistence_mse if self.persistence_mse > 0 else float("inf")


def teacher_forced_error(bundle: ModelBundle, paths: Sequence[str | os.PathLike],
                         max_windows: int = 512, batch: int = 64, int8: bool = True) -> TeacherForcedResult:
    cfg, length = bundle.features, bundle.training.sequence_length
    windows = []
    files = 0
    for path in find_audio_files(paths):
        try:
            audio = load_audio(path, cfg.sample_rate)
        except AudioLoadError:
            continue
        frames = bundle.normaliser.normalise(log_power(audio.samples, cfg))
        starts = range(0, len(frames) - length, length)
        if len(starts):
            files += 1
            windows.extend(frames[s:s + length + 1] for s in starts)
    if not windows:
        raise MusicgenError(f"no audio of at least {(length + 1) / cfg.frames_per_second:.1f} s found to evaluate on")
    picked = np.random.default_rng(0).permutation(len(windows))[:max_windows]
    data = np.stack([windows[i] for i in picked])
    predictor = FramePredictor(bundle, int8=int8)
    model_sq, persist_sq = [], []
    for i in range(0, len(data), batch):
        chunk = data[i:i + batch]
        predictor.reset(len(chunk))
        predicted = predictor.run_sequence(chunk[:, :-1])
        target = chunk[:, 1:]
        model_sq.append(((predicted - target)[:, WARMUP_FRAMES:] ** 2).mean(axis=(1, 2)))
        persist_sq.append(((chunk[:, :-1] - target)[:, WARMUP_FRAMES:] ** 2).mean(axis=(1, 2)))
    return TeacherForcedResult(files, len(data), float(np.concatenate(model_sq).mean()),
                               float(np.concatenate(persist_sq).mean()))


# --- log-mel frames and the metrics on them -------------------------------------------------------

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
    x = np.asarray(frames_db, np.float64)
    length = frames_in(segment_seconds, frames_per_second)
    n = len(x) - length + 1  # segment starts
    if n <= length:
        return 0.0
    sq = (x**2).sum(axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * x @ x.T, 0.0)  # about 50 MB for 60 s
    segment = np.zeros((n, n))
    for k in range(length):  # sums along the diagonals: segment i against segment j
        segment += d2[k:k + n, k:k + n]
    # Only earlier segments that do not overlap this one count.
    segment[np.arange(n)[None, :] > np.arange(n)[:, None] - length] = np.inf
    nearest = segment[length:].min(axis=1)
    return float(np.mean(np.sqrt(nearest / (length * x.shape[1])) <= tolerance_db))


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


# --- one seed's evaluation ------------------------------------------------------------------------

@dataclass
class ContinuationScores:
    level_db: float
    silent_fraction: float
    change_ratio: float
    copy_fraction: float
    frechet: float  # continuation vs true continuation
    frechet_frozen: float  # frozen last frame vs true continuation
    # Not targets: read the model's next to the truth's (see self_repetition).
    self_repetition: float
    self_repetition_truth: float

    def failures(self) -> list[str]:
        """The targets this continuation misses (empty when it passes)."""
        missed = []
        if self.silent_fraction > MAX_SILENT_FRACTION:
            missed.append("silent")
        if abs(self.level_db) > MAX_ABS_LEVEL_DB:
            missed.append("level")
        if self.change_ratio < MIN_CHANGE_RATIO:
            missed.append("change")
        if self.copy_fraction > MAX_COPY_FRACTION:
            missed.append("copy")
        if not self.frechet < self.frechet_frozen:
            missed.append("frechet")
        return missed

    @property
    def passed(self) -> bool:
        return not self.failures()


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

    def scores(self) -> ContinuationScores:
        fps = self.frames_per_second
        return ContinuationScores(
            level_db=level_difference_db(self.continuation, self.seed, fps),
            silent_fraction=silent_fraction(self.continuation, self.seed, fps),
            change_ratio=change_ratio(self.continuation, self.seed, fps),
            copy_fraction=copy_fraction(self.continuation, self.seed),
            frechet=frechet_distance(self.continuation, self.truth),
            frechet_frozen=frechet_distance(self.frozen, self.truth),
            self_repetition=self_repetition(self.continuation, fps),
            self_repetition_truth=self_repetition(self.truth, fps),
        )

    def timeline(self) -> dict[str, np.ndarray]:
        """The metrics over time since the seam (seconds): per 1 s window, change per 0.5 s block."""
        fps = self.frames_per_second
        window, block = frames_in(WINDOW_SECONDS, fps), frames_in(BLOCK_SECONDS, fps)
        levels = window_levels_db(self.continuation, window) - seed_level_db(self.seed, fps)
        copied = nearest_distance_db(self.continuation, self.seed) <= COPY_TOLERANCE_DB
        changes = block_changes_db(self.continuation, block) / _seed_change_db(self.seed, fps)
        return {
            "window_time": (np.arange(len(levels)) + 0.5) * window / fps,
            "level_db": levels,
            "copy_fraction": _chunks(copied, window).mean(axis=1),
            "change_time": (np.arange(len(changes)) + 1.0) * block / fps,  # the boundary between the blocks
            "change_ratio": changes,
        }


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
               seconds: float, min_truth_seconds: float | None = None) -> list[Clip]:
    """Up to ``count`` clips of seed + true continuation, deterministically.

    Files (sorted) take turns, so the clips spread over as many tracks as
    possible. A file giving k clips is cut into k equal parts and each clip sits
    in the middle of its part (away from intros and endings). A file too short for
    a whole clip still gives one from its start, with a true continuation cut
    short, if that holds at least ``min_truth_seconds`` (default: half of
    ``seconds``). Unreadable files are skipped, as in training.
    """
    if count < 1:
        raise MusicgenError("evaluate at least one seed")
    if seed_seconds < MIN_EVAL_SECONDS or seconds < MIN_EVAL_SECONDS:
        raise MusicgenError(f"the seed and the continuation must each be at least {MIN_EVAL_SECONDS:g} s")
    min_truth_seconds = max(MIN_EVAL_SECONDS, seconds / 2 if min_truth_seconds is None else min_truth_seconds)
    seed_n = int(round(seed_seconds * cfg.sample_rate))
    need = seed_n + int(round(seconds * cfg.sample_rate))
    least = seed_n + int(round(min(seconds, min_truth_seconds) * cfg.sample_rate))
    # Lengths first, one file in memory at a time: a validation set can be an hour of audio.
    lengths = {}
    for path in find_audio_files(paths):
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
class SeedEvaluation:
    clip: Clip
    rng_seed: int
    frames: SeedFrames
    scores: ContinuationScores
    adapt_steps: int = 0  # fine-tuning steps on the seed (0: not adapted)

    def to_dict(self) -> dict:
        return {"file": str(self.clip.path), "offset_seconds": round(self.clip.offset_seconds, 3),
                "truth_seconds": round(self.clip.truth_seconds, 3), "rng_seed": self.rng_seed,
                "adapt_steps": self.adapt_steps,
                **asdict(self.scores), "passed": self.scores.passed, "failed": self.scores.failures()}


def evaluate_clip(bundle: ModelBundle, clip: Clip, seconds: float, temperature: float,
                  rng_seed: int, anchor: bool = True, adapt_seconds: float = 0.0, int8: bool = True) -> SeedEvaluation:
    """Continue the clip's seed for ``seconds`` with the real pipeline and score the result."""
    cfg = bundle.features
    session = ContinuationSession(bundle, clip.seed,
                                  ContinuationParams(seconds, temperature, rng_seed, anchor, adapt_seconds, int8))
    continuation = session.render()
    frozen = frozen_continuation(cfg, session.seed, len(continuation))
    frames = SeedFrames.from_audio(cfg, session.seed, continuation, clip.truth, frozen)
    return SeedEvaluation(clip, rng_seed, frames, frames.scores(),
                          session.adaptation.steps if session.adaptation else 0)


def summarise(evaluations: Sequence[SeedEvaluation]) -> dict:
    """How many seeds pass, how many meet each target, and each metric's median."""
    scores = [e.scores for e in evaluations]
    fields = list(asdict(scores[0])) if scores else []
    return {
        "seeds": len(scores),
        "passed": sum(s.passed for s in scores),
        "meeting": {target: sum(target not in s.failures() for s in scores)
                    for target in ("silent", "level", "change", "copy", "frechet")},
        "median": {f: float(np.median([getattr(s, f) for s in scores])) for f in fields},
    }


def report(bundle: ModelBundle, settings: dict, teacher_forced: TeacherForcedResult,
           evaluations: Sequence[SeedEvaluation]) -> dict:
    """Everything measured, as JSON-ready data."""
    return {
        "model": {"name": bundle.name, "preset": bundle.preset, "parameters": bundle.parameter_count},
        "settings": {**settings, "n_mels": N_MELS, "dynamic_range_db": DYNAMIC_RANGE_DB,
                     "frames_per_second": bundle.features.frames_per_second},
        "targets": {"max_silent_fraction": MAX_SILENT_FRACTION, "max_abs_level_db": MAX_ABS_LEVEL_DB,
                    "min_change_ratio": MIN_CHANGE_RATIO, "max_copy_fraction": MAX_COPY_FRACTION,
                    "frechet": "below the frozen baseline",
                    "max_teacher_forced_ratio": MAX_TEACHER_FORCED_RATIO},
        "teacher_forced": {**asdict(teacher_forced), "ratio": teacher_forced.ratio,
                           "passed": teacher_forced.ratio <= MAX_TEACHER_FORCED_RATIO},
        "seeds": [e.to_dict() for e in evaluations],
        "summary": summarise(evaluations),
    }


# --- output ---------------------------------------------------------------------------------------

def _write_atomically(path: str | os.PathLike, write: Callable) -> None:
    try:
        with atomic_file(path) as f:
            write(f)
    except OSError as exc:
        raise MusicgenError(f"cannot write {path}: {exc.strerror or exc}") from None


def write_json(data: dict, path: str | os.PathLike) -> None:
    _write_atomically(path, lambda f: f.write((json.dumps(data, indent=1) + "\n").encode()))


def check_plotting() -> None:
    """Fail now, not after minutes of generating, when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise MusicgenError("the plots need matplotlib, which is not installed (pip install matplotlib)") from None


def plot_evaluation(evaluation: SeedEvaluation, path: str | os.PathLike, title: str = "") -> None:
    """PNG: seed + model continuation and seed + true continuation (seam marked), then the metrics over time."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # Agg: no display, no global backend
    from matplotlib.figure import Figure

    frames = evaluation.frames
    fps = frames.frames_per_second
    seam = len(frames.seed) / fps
    end = seam + len(frames.continuation) / fps
    line = frames.timeline()
    lo, hi = float(frames.seed.min()), float(frames.seed.max())

    fig = Figure(figsize=(12, 9), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(4, 1, sharex=True, height_ratios=(3, 3, 2, 2))
    for ax, cont, label in ((axes[0], frames.continuation, "seed + model"), (axes[1], frames.truth, "seed + truth")):
        image = ax.imshow(np.concatenate([frames.seed, cont]).T, origin="lower", aspect="auto", cmap="magma",
                          vmin=lo, vmax=hi, extent=(0, seam + len(cont) / fps, 0, frames.seed.shape[1]),
                          interpolation="nearest")
        ax.set_ylabel(f"{label}\nmel band")
    fig.colorbar(image, ax=axes[:2], label="dB")

    axes[2].plot(seam + line["window_time"], line["level_db"], ".-", label="level − seed (dB)")
    for y in (-MAX_ABS_LEVEL_DB, MAX_ABS_LEVEL_DB):
        axes[2].axhline(y, color="grey", ls=":", lw=1)
    axes[2].axhline(-SILENCE_DB, color="red", ls=":", lw=1, label="silent below")
    axes[2].set_ylabel("dB")
    axes[2].legend(loc="lower left", fontsize="small")

    axes[3].plot(seam + line["change_time"], line["change_ratio"], ".-", label="change ratio")
    axes[3].plot(seam + line["window_time"], line["copy_fraction"], ".-", label="copy fraction")
    axes[3].axhline(MIN_CHANGE_RATIO, color="C0", ls=":", lw=1)
    axes[3].axhline(MAX_COPY_FRACTION, color="C1", ls=":", lw=1)
    axes[3].set_ylabel("ratio")
    axes[3].set_xlabel("seconds from the seed's start")
    axes[3].legend(loc="upper left", fontsize="small")
    for ax in axes:
        ax.axvline(seam, color="cyan" if ax in axes[:2] else "black", lw=1.5)
        ax.set_xlim(0, end)

    s = evaluation.scores
    fig.suptitle(f"{title}  level {s.level_db:+.1f} dB, silent {s.silent_fraction:.2f}, change "
                 f"{s.change_ratio:.2f}, copy {s.copy_fraction:.2f}, Fréchet {s.frechet:.0f} "
                 f"(frozen {s.frechet_frozen:.0f}): {'pass' if s.passed else 'fail'}", fontsize="medium")
    _write_atomically(path, lambda f: fig.savefig(f, format="png", dpi=90))
