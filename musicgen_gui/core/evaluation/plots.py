"""The plots of ``musicgen evaluate --plots``: one PNG per seed, for a listener to check each measure.

matplotlib is imported only here, and only when a plot is made (Agg: no display)."""

from __future__ import annotations

import os

import numpy as np

from ..errors import MusicgenError
from ..features import FeatureConfig
from .metrics import (
    BLOCK_SECONDS, COPY_TOLERANCE_DB, ONSET_HOP, REPLAY_CORRELATION, REPLAY_WINDOW_SECONDS, LOUDNESS_WINDOW_SECONDS,
    TIMBRE_BANDS, TIMBRE_LOW_HZ, TIMBRE_RANGE_DB, WINDOW_SECONDS, _chunks, _seed_change_db, band_levels_db,
    block_changes_db, frames_in, loudness_differences, mean_chroma, nearest_distance_db, onset_envelope,
    replay_correlations, seed_level_db, window_levels_db)
from .protocol import (
    HORIZONS, LOUDNESS_SKIP_SECONDS, MAX_COPY_FRACTION, MAX_LOUDNESS_LU, MAX_TIMBRE_DB, MIN_CHANGE_RATIO,
    SKIP_SECONDS, SeedEvaluation, SeedFrames, frozen_continuation)
from .report import _write_atomically


def check_plotting() -> None:
    """Fail now, not after minutes of generating, when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise MusicgenError("the plots need matplotlib, which is not installed (pip install matplotlib)") from None


def timeline(frames: SeedFrames) -> dict[str, np.ndarray]:
    """The metrics over time since the seam (seconds): per 1 s window, change per 0.5 s block,
    replay per 2 s window."""
    fps = frames.frames_per_second
    window, block = frames_in(WINDOW_SECONDS, fps), frames_in(BLOCK_SECONDS, fps)
    replay = min(frames_in(REPLAY_WINDOW_SECONDS, fps), len(frames.seed), len(frames.continuation))
    levels = window_levels_db(frames.continuation, window) - seed_level_db(frames.seed, fps)
    copied = nearest_distance_db(frames.continuation, frames.seed) <= COPY_TOLERANCE_DB
    changes = block_changes_db(frames.continuation, block) / _seed_change_db(frames.seed, fps)
    replays = replay_correlations(frames.continuation, frames.seed, fps)
    return {
        "window_time": (np.arange(len(levels)) + 0.5) * window / fps,
        "level_db": levels,
        "copy_fraction": _chunks(copied, window).mean(axis=1),
        "change_time": (np.arange(len(changes)) + 1.0) * block / fps,  # the boundary between the blocks
        "change_ratio": changes,
        "replay_time": (np.arange(len(replays)) + 0.5) * replay / fps,
        "replay": replays,
        "replay_truth": replay_correlations(frames.truth, frames.seed, fps),
    }


def _beat_grid(envelope: np.ndarray, period: float, until: int) -> np.ndarray:
    """Frames of a beat grid at ``period``, phased on the envelope's strongest onsets, up to ``until``."""
    phases = np.arange(max(1, min(int(np.ceil(period)), len(envelope) - 1)))
    strength = [envelope[np.arange(p, len(envelope) - 1, period).astype(int)].mean() for p in phases]
    return np.arange(phases[int(np.argmax(strength))], until, period)


def plot_evaluation(cfg: FeatureConfig, evaluation: SeedEvaluation, path: str | os.PathLike, title: str = "") -> None:
    """PNG of the first draw, for a listener to check each measure: seed + model continuation
    above seed + true continuation (seam and scored part marked), then over time the loudness
    against the ±2 LU band, the replay correlation, change and copy, and below the mean chroma,
    the band levels and the onset envelope on the seed's beat grid, the model's beside the truth's."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # Agg: no display, no global backend
    from matplotlib.figure import Figure

    sr, seed, cont, truth = cfg.sample_rate, evaluation.seed, evaluation.continuation, evaluation.clip.truth
    profile = evaluation.profile
    frames = SeedFrames.from_audio(cfg, seed, cont, truth, frozen_continuation(cfg, seed, len(cont)))
    fps = frames.frames_per_second
    seam = len(seed) / sr
    end = seam + len(cont) / sr
    line = timeline(frames)
    lo, hi = float(frames.seed.min()), float(frames.seed.max())
    skip = int(round(SKIP_SECONDS * sr))
    sides = (("model", cont, "C0"), ("truth", truth, "C1"))

    fig = Figure(figsize=(13, 17), layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(7, 2, height_ratios=(3, 3, 2, 2, 2, 2.5, 2.5))
    spec_axes = [fig.add_subplot(grid[0, :])]
    spec_axes.append(fig.add_subplot(grid[1, :], sharex=spec_axes[0]))
    time_axes = [fig.add_subplot(grid[i, :], sharex=spec_axes[0]) for i in (2, 3, 4)]
    for ax, c, label in ((spec_axes[0], frames.continuation, "seed + model"),
                         (spec_axes[1], frames.truth, "seed + truth")):
        image = ax.imshow(np.concatenate([frames.seed, c]).T, origin="lower", aspect="auto", cmap="magma",
                          vmin=lo, vmax=hi, extent=(0, seam + len(c) / fps, 0, frames.seed.shape[1]),
                          interpolation="nearest")
        ax.set_ylabel(f"{label}\nmel band")
    fig.colorbar(image, ax=spec_axes, label="dB")

    ax = time_axes[0]
    for name, x, color in sides:
        lu = loudness_differences(x[int(round(LOUDNESS_SKIP_SECONDS * sr)):], profile.loudness_lufs, sr)
        t = seam + LOUDNESS_SKIP_SECONDS + min(LOUDNESS_WINDOW_SECONDS, len(x) / sr) / 2 + np.arange(len(lu))
        ax.plot(t, lu, ".-", color=color, label=f"{name}: short-term loudness − seed's (LU)")
    ax.axhspan(-MAX_LOUDNESS_LU, MAX_LOUDNESS_LU, color="green", alpha=0.15, label=f"±{MAX_LOUDNESS_LU:g} LU")
    ax.set_ylabel("LU")
    ax.legend(loc="lower left", fontsize="small")

    ax = time_axes[1]
    ax.plot(seam + line["replay_time"], line["replay"], ".-", color="C0", label="model: best correlation with the seed")
    ax.plot(seam + line["replay_time"][:len(line["replay_truth"])], line["replay_truth"], ".-", color="C1",
            label="truth")
    ax.axhline(REPLAY_CORRELATION, color="red", ls=":", lw=1, label="replay above")
    ax.set_ylabel("replay\ncorrelation")
    ax.legend(loc="lower left", fontsize="small")

    ax = time_axes[2]
    ax.plot(seam + line["change_time"], line["change_ratio"], ".-", label="change ratio")
    ax.plot(seam + line["window_time"], line["copy_fraction"], ".-", label="copy fraction")
    ax.axhline(MIN_CHANGE_RATIO, color="C0", ls=":", lw=1)
    ax.axhline(MAX_COPY_FRACTION, color="C1", ls=":", lw=1)
    ax.set_ylabel("ratio")
    ax.set_xlabel("seconds from the seed's start")
    ax.legend(loc="upper left", fontsize="small")
    for ax in spec_axes + time_axes:
        ax.axvline(seam, color="cyan" if ax in spec_axes else "black", lw=1.5)
        ax.axvspan(seam, seam + SKIP_SECONDS, color="grey", alpha=0.2)  # not scored
        ax.axvline(seam + HORIZONS["20s"], color="grey", ls="--", lw=1)
        ax.set_xlim(0, end)

    ax = fig.add_subplot(grid[5, 0])
    classes = np.arange(12)
    ax.plot(classes, profile.chroma, "k.-", label="seed")
    for name, x, color in sides:
        ax.plot(classes, mean_chroma(x[skip:], sr, profile.tuning), ".-", color=color, label=name)
    ax.set_xticks(classes, ["C", "C♯", "D", "D♯", "E", "F", "F♯", "G", "G♯", "A", "A♯", "B"])
    ax.set_ylabel("mean chroma")
    ax.legend(fontsize="small")

    ax = fig.add_subplot(grid[5, 1])
    edges = np.geomspace(TIMBRE_LOW_HZ, sr / 2, TIMBRE_BANDS + 1)
    centres = np.sqrt(edges[:-1] * edges[1:])
    seed_bands = np.maximum(profile.bands_db, profile.bands_db.max() - TIMBRE_RANGE_DB)
    ax.fill_between(centres, seed_bands - MAX_TIMBRE_DB, seed_bands + MAX_TIMBRE_DB, color="grey", alpha=0.2,
                    label=f"seed ±{MAX_TIMBRE_DB:g} dB")
    ax.plot(centres, seed_bands, "k.-", label="seed")
    for name, x, color in sides:
        bands = band_levels_db(x[skip:], sr)
        bands = np.maximum(bands, bands.max() - TIMBRE_RANGE_DB)
        ax.plot(centres, bands - np.median(bands - seed_bands), ".-", color=color, label=f"{name}, level removed")
    ax.set_xscale("log")
    ax.set_xlabel("Hz")
    ax.set_ylabel("band level (dB)")
    ax.legend(fontsize="small")

    # The onset envelope from 4 s before the seam to 10 s into the scored part, on the seed's grid.
    ax = fig.add_subplot(grid[6, :])
    rate = sr / ONSET_HOP
    seed_env = onset_envelope(seed, sr)
    start, stop = max(0.0, seam - 4.0), seam + SKIP_SECONDS + 10.0
    for name, x, color in (("seed", seed, "k"),) + sides:
        env = seed_env if name == "seed" else onset_envelope(x[:int((stop - seam) * sr)], sr)
        t = (0.0 if name == "seed" else seam) + np.arange(len(env)) / rate
        keep = t >= start
        ax.plot(t[keep], env[keep], color=color, lw=1, label=f"{name} onsets")
    if profile.beat_period > 0:
        for i, b in enumerate(_beat_grid(seed_env, profile.beat_period, int(stop * rate))):
            if b / rate >= start:
                ax.axvline(b / rate, color="green", lw=0.6, alpha=0.6, label="seed's beat grid" if i == 0 else None)
    ax.axvline(seam, color="black", lw=1.5)
    ax.set_xlim(start, stop)
    ax.set_xlabel(f"seconds from the seed's start (seed tempo {profile.tempo_bpm(sr):.0f} BPM, "
                  f"{'a clear beat' if profile.has_beat else 'no clear beat: not judged'})")
    ax.legend(loc="upper left", fontsize="small", ncols=4)

    s, t = evaluation.draws[0].scores["full"], evaluation.truth["full"]
    beat = "–" if s.beat_strength is None else f"{s.beat_strength:.2f} ({t.beat_strength:.2f})"
    fig.suptitle(f"{title}\nmodel (truth), whole length: key {s.key_correlation:.2f} ({t.key_correlation:.2f}), "
                 f"beat {beat}, timbre {s.timbre_db:.1f} ({t.timbre_db:.1f}) dB, replay {s.replay_fraction:.2f} "
                 f"({t.replay_fraction:.2f}), loudness ±{s.loudness_max_lu:.1f} ({t.loudness_max_lu:.1f}) LU, "
                 f"clipped {100 * s.clipped_fraction:.2f} % (seed {100 * s.seed_clipped_fraction:.2f} %)\n"
                 f"level {s.level_db:+.1f} dB, change {s.change_ratio:.2f}, copy {s.copy_fraction:.2f}, Fréchet "
                 f"{s.frechet:.0f} (frozen {s.frechet_frozen:.0f}): "
                 f"{'pass' if s.passed else 'fail: ' + ', '.join(s.failures())}; truth "
                 f"{'passes' if t.passed else 'fails: ' + ', '.join(t.failures())}", fontsize="medium")
    _write_atomically(path, lambda f: fig.savefig(f, format="png", dpi=80))
