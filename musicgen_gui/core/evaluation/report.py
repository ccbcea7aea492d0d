"""The summary of a ``musicgen evaluate`` run, per set and horizon, and its JSON report."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict

import numpy as np

from ..bundle import ModelBundle
from ..errors import MusicgenError
from ..fileio import atomic_file
from .metrics import (
    DETAIL_BLOCK_SECONDS, DETAIL_SMOOTHING_OCTAVES, DYNAMIC_RANGE_DB, LRA_HOP_SECONDS, MOVEMENT_SECONDS, N_MELS,
    REPLAY_CORRELATION, SELF_DISTANCE_SECONDS)
from .protocol import (
    HORIZONS, LOUDNESS_SKIP_SECONDS, MAX_ABS_LEVEL_DB, MAX_COPY_FRACTION, MAX_LOUDNESS_BIAS_LU, MAX_LOUDNESS_LU,
    MAX_LOUDNESS_RANGE_DIFFERENCE_LU, MAX_REPLAY_FRACTION,
    MAX_SILENT_FRACTION, MAX_TEACHER_FORCED_RATIO, MAX_TIMBRE_DB, MIN_BEAT_STRENGTH, MIN_CHANGE_RATIO,
    MIN_KEY_CORRELATION, SKIP_SECONDS, TARGETS, ContinuationScores, Readout, SeedEvaluation)
from .teacher_forced import TeacherForcedResult


def _tally(scores: Sequence[ContinuationScores]) -> dict:
    """How many of these continuations (one per seed) pass, meet each target, keep loudness and peaks."""
    return {"passed": sum(s.passed for s in scores),
            "meeting": {target: sum(target not in s.failures() for s in scores) for target in TARGETS},
            "loudness_kept": sum(s.loudness_kept for s in scores),
            "peaks_kept": sum(s.peaks_kept for s in scores)}


def _medians(scores: Sequence[ContinuationScores]) -> dict:
    """Each measure's median (over the values there are: beat is None on seeds without one)."""
    out = {}
    for field in asdict(scores[0]) if scores else ():
        values = [v for s in scores if (v := getattr(s, field)) is not None]
        out[field] = float(np.median(values)) if values else None
    return out


def summarise(evaluations: Sequence[SeedEvaluation]) -> dict:
    """Per horizon, for the model (the mean, min and max over draws) and the truth:
    seeds passing, meeting each target, keeping loudness and peaks, and each measure's median."""
    draws = min((len(e.draws) for e in evaluations), default=0)
    out = {"seeds": len(evaluations), "draws": draws,
           "seeds_with_beat": sum(e.profile.has_beat for e in evaluations),
           "readout": summarise_readouts([e.readout for e in evaluations if e.readout])}
    for horizon in HORIZONS:
        tallies = [_tally([e.draws[d].scores[horizon] for e in evaluations]) for d in range(draws)]
        truth = [e.truth[horizon] for e in evaluations]

        def spread(key, target=None):
            counts = [t[key] if target is None else t[key][target] for t in tallies]
            return {"mean": float(np.mean(counts)) if counts else 0.0, "min": min(counts, default=0),
                    "max": max(counts, default=0), "per_draw": counts}

        # Seeds whose loudness range is within MAX_LOUDNESS_RANGE_DIFFERENCE_LU of the truth's, per draw.
        ranges = [sum(abs(e.draws[d].scores[horizon].loudness_range_lu - e.truth[horizon].loudness_range_lu)
                      <= MAX_LOUDNESS_RANGE_DIFFERENCE_LU for e in evaluations) for d in range(draws)]
        for tally, count in zip(tallies, ranges):
            tally["range_kept"] = count
        out[horizon] = {
            "model": {"passed": spread("passed"), "meeting": {t: spread("meeting", t) for t in TARGETS},
                      "loudness_kept": spread("loudness_kept"), "peaks_kept": spread("peaks_kept"),
                      "range_kept": spread("range_kept"),
                      "median": _medians([d.scores[horizon] for e in evaluations for d in e.draws])},
            "truth": {**_tally(truth), "median": _medians(truth)},
        }
    return out


def summarise_readouts(readouts: Sequence[Readout]) -> dict:
    """Labelled seeds and how many read as their score says; seeds whose truth reads as the seed
    does, and over the draws the mean number of those whose continuation does too."""
    same = [r for r in readouts if r.truth_same]
    draws = min((len(r.draws) for r in same), default=0)
    per_draw = [sum(r.draws[d] == r.seed for r in same) for d in range(draws)]
    return {"tempo_labelled": sum(r.tempo_ok is not None for r in readouts),
            "tempo_ok": sum(bool(r.tempo_ok) for r in readouts),
            "key_labelled": sum(r.key_ok is not None for r in readouts),
            "key_ok": sum(bool(r.key_ok) for r in readouts),
            "truth_same": len(same),
            "continuation_same": {"mean": float(np.mean(per_draw)) if per_draw else 0.0, "per_draw": per_draw}}


def report(bundle: ModelBundle, settings: dict,
           sets: dict[str, tuple[TeacherForcedResult, Sequence[SeedEvaluation]]]) -> dict:
    """Everything measured, per named seed set, as JSON-ready data."""
    return {
        "model": {"name": bundle.name, "preset": bundle.preset, "parameters": bundle.parameter_count},
        "settings": {**settings, "n_mels": N_MELS, "dynamic_range_db": DYNAMIC_RANGE_DB,
                     "frames_per_second": bundle.features.frames_per_second, "skip_seconds": SKIP_SECONDS,
                     "horizons": HORIZONS, "loudness_skip_seconds": LOUDNESS_SKIP_SECONDS,
                     "self_distance_seconds": SELF_DISTANCE_SECONDS, "movement_seconds": MOVEMENT_SECONDS,
                     "detail_smoothing_octaves": DETAIL_SMOOTHING_OCTAVES, "detail_block_seconds": DETAIL_BLOCK_SECONDS,
                     "loudness_range_hop_seconds": LRA_HOP_SECONDS},
        "targets": {"max_silent_fraction": MAX_SILENT_FRACTION, "max_abs_level_db": MAX_ABS_LEVEL_DB,
                    "min_change_ratio": MIN_CHANGE_RATIO, "max_copy_fraction": MAX_COPY_FRACTION,
                    "frechet": "below the frozen baseline", "min_key_correlation": MIN_KEY_CORRELATION,
                    "min_beat_strength": MIN_BEAT_STRENGTH, "max_timbre_db": MAX_TIMBRE_DB,
                    "max_replay_fraction": MAX_REPLAY_FRACTION, "replay_correlation": REPLAY_CORRELATION,
                    "max_loudness_lu": MAX_LOUDNESS_LU, "max_loudness_bias_lu": MAX_LOUDNESS_BIAS_LU,
                    "max_loudness_range_difference_lu": MAX_LOUDNESS_RANGE_DIFFERENCE_LU, "peaks": "no more clipped samples than the seed",
                    "max_teacher_forced_ratio": MAX_TEACHER_FORCED_RATIO},
        "sets": {name: {"teacher_forced": {**asdict(tf), "ratio": tf.ratio,
                                           "passed": tf.ratio <= MAX_TEACHER_FORCED_RATIO},
                        "seeds": [e.to_dict() for e in evaluations], "summary": summarise(evaluations)}
                 for name, (tf, evaluations) in sets.items()},
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
