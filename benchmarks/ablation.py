"""What each part of the generator does: the same seeds continued with parts turned off.

    python benchmarks/ablation.py MODEL --set NAME=DIR [--set NAME=DIR ...] [--baseline MODEL] \
        [--seeds 10] [--seconds 24] [--draws 1] [--half tune|report|all] [--json out.json]

Rows for a seed-conditioned model (gated.py), ContinuationParams as the app runs them except where said:
  full model              follow 0.5: the net decides between its own frame and the memory's
  persistence             the net's own frame replaced by the frame it was fed (repeat the last
                          frame), with the same memory, candidates and gate
  no candidates (wander)  follow 0: the net from the seed's summary alone
  memory alone            each frame the memory's nearest candidate, the net not asked
  stay close              follow 0.8
Rows for a plain model (the seed memory's hand-tuned blend, memory.py):
  net alone, no anchors   follow 0, anchor off: the network as before the memory (peaks still limited)
  net alone               follow 0: the network with the level/timbre anchors and the loudness follower
  persistence             follow 0.5, the network replaced by the frame it was fed (repeat the last
                          frame), with the same memory, anchors and loudness stage
  persistence, wander     follow 0, the network replaced by the frame it was fed: what "net alone"
                          owes to the anchors, the variation on the beat and the loudness stage
  memory, no beat grid    follow 0.5, jumps anywhere the context matches (the seed's beat hidden from it)
  memory (default)        follow 0.5
  full share always       the memory's share not scaled by how well the net predicts the seed
  bass notes blended      the bass's detail across bins blended as the rest (memory.BASS_BOOST 1)
  spread not restored     each bin's spread around its running mean left as the blend makes it
                          (session.SpreadRestorer.MAX_GAIN 1)
  rises not restored      each band's rises left as the blend makes them (session.SpreadRestorer.RISE_MAX_GAIN 1)
  detail not restored     each band's detail across bins left as the blend makes it
                          (session.DetailRestorer.MAX_GAIN 1)
  pitch not anchored      the pitch classes left to drift (session.PitchAnchor.MAX_SHIFT_DB 0)
  timbre not anchored     the spectral balance left to drift (session.TimbreAnchor.MAX_SHIFT_DB 0)
  pauses drawn on         the memory may land in and walk into the seed's pauses
  recent places landed on the memory may land where the continuation played in the last 8 s
                          (memory.RECENT_SECONDS 0)
  no band limit           the continuation not low-passed above the seed's bandwidth
  wander / stay close     follow 0.25 / 0.8
--baseline MODEL adds a row: that model at the default settings (today's bundled models, their blend).
Per set and row: mean seeds passing over the draws (all targets, scored 2-22 s after the
seam), the number meeting each fidelity target, the medians of the fidelity measures and of
what a listener notices (attacks and detail as shares of the truth's, self-repetition distance,
movement as a share of the truth's); the truth's on the last line.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from unittest import mock

import numpy as np

from musicgen_gui.core import analysis, memory, predictor, session
from musicgen_gui.core import evaluation as ev
from musicgen_gui.core.bundle import load_bundle
from musicgen_gui.core.params import DEFAULT_FOLLOW, ContinuationParams

_step = predictor.ConditionedPredictor.step


def _persistence(self, frame, candidates, distances, bias=0.0):
    """The gate's weights as the net sets them, but the fed frame in place of the net's own."""
    _, _, weights = _step(self, frame, candidates, distances, bias)
    x = np.asarray(frame, np.float32)
    if candidates is None:
        return x, x, weights
    per_bin = weights @ self.expand
    return per_bin[0] * x + (per_bin[1:] * candidates).sum(axis=0), x, weights


def _memory_alone(self, frame, candidates, distances, bias=0.0):
    x = np.asarray(frame, np.float32)
    chosen = x if candidates is None else np.asarray(candidates[0], np.float32)
    return chosen, x, None


def _repeat_fed(self, frames):
    return np.array(frames, np.float32)


def _patched_step(replacement):
    return lambda: mock.patch.object(predictor.ConditionedPredictor, "step", replacement)


# Each row: changed ContinuationParams, and the part it turns off (a patch of the generator's own module).
GATED_ROWS = {
    "full model": ({}, None),
    "persistence": ({}, _patched_step(_persistence)),
    "no candidates (wander)": ({"follow": 0.0}, None),
    "memory alone": ({}, _patched_step(_memory_alone)),
    "stay close (follow 0.8)": ({"follow": 0.8}, None),
}
BLEND_ROWS = {
    "net alone, no anchors": ({"follow": 0.0, "anchor": False}, None),
    "net alone": ({"follow": 0.0}, None),
    # run_sequence too: the seed's first prediction, and how well "the net" predicts the seed, are persistence's.
    "persistence": ({}, lambda: mock.patch.multiple(predictor.FramePredictor, step=_repeat_fed,
                                                    run_sequence=_repeat_fed)),
    "persistence, wander": ({"follow": 0.0}, lambda: mock.patch.multiple(predictor.FramePredictor, step=_repeat_fed,
                                                                         run_sequence=_repeat_fed)),
    "memory, no beat grid": ({}, lambda: mock.patch.object(analysis, "estimate_beat", return_value=None)),
    "memory (default)": ({}, None),
    "full share always": ({}, lambda: mock.patch.object(memory, "SHARE_SCALE", (1.0, 1.0))),
    "bass notes blended": ({}, lambda: mock.patch.object(memory, "BASS_BOOST", 1.0)),
    "spread not restored": ({}, lambda: mock.patch.object(session.SpreadRestorer, "MAX_GAIN", 1.0)),
    "rises not restored": ({}, lambda: mock.patch.object(session.SpreadRestorer, "RISE_MAX_GAIN", 1.0)),
    "detail not restored": ({}, lambda: mock.patch.object(session.DetailRestorer, "MAX_GAIN", 1.0)),
    "pitch not anchored": ({}, lambda: mock.patch.object(session.PitchAnchor, "MAX_SHIFT_DB", 0.0)),
    "timbre not anchored": ({}, lambda: mock.patch.object(session.TimbreAnchor, "MAX_SHIFT_DB", 0.0)),
    "pauses drawn on": ({}, lambda: mock.patch.object(memory, "PAUSE_SECONDS", 1e6)),
    "recent places landed on": ({}, lambda: mock.patch.object(memory, "RECENT_SECONDS", 0.0)),
    "no band limit": ({}, lambda: mock.patch.object(session, "seed_bandwidth_hz", return_value=None)),
    "wander (follow 0.25)": ({"follow": 0.25}, None),
    "stay close (follow 0.8)": ({"follow": 0.8}, None),
}
MEASURES = ("key_correlation", "beat_strength", "timbre_db", "replay_fraction", "loudness_max_lu")
LISTENER = ("attack_ratio", "detail_ratio", "self_distance_db", "movement_ratio")


def _listener(medians: dict) -> str:
    return " ".join(f"{medians[m]:>{w}.2f}" if medians.get(m) is not None else f"{'–':>{w}}"
                    for m, w in zip(LISTENER, (6, 6, 7, 6)))


def run_row(bundle, clips, params, draws, turn_off):
    # Each seed's draws seeded as `musicgen evaluate` seeds them (its --rng-seed 0), so that the
    # default row repeats its figures.
    with turn_off() if turn_off else nullcontext():
        return [ev.evaluate_clip(bundle, clip, replace(params, rng_seed=i), draws) for i, clip in enumerate(clips)]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model")
    p.add_argument("--set", action="append", required=True, metavar="NAME=DIR")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--seconds", type=float, default=24.0)
    p.add_argument("--draws", type=int, default=1)
    p.add_argument("--rows", nargs="+", choices=sorted({*GATED_ROWS, *BLEND_ROWS}),
                   help="the rows to run (default: all of the model's kind)")
    p.add_argument("--baseline", help="another model, run at the default settings as a last row")
    p.add_argument("--half", choices=("tune", "report", "all"), default="report")
    p.add_argument("--json")
    args = p.parse_args(argv)
    bundle = load_bundle(args.model)
    kind = GATED_ROWS if bundle.architecture.conditioned else BLEND_ROWS
    rows_wanted = [(row, bundle, *kind[row]) for row in (args.rows or kind) if row in kind]
    if args.baseline:
        baseline = load_bundle(args.baseline)
        rows_wanted.append((f"baseline: {baseline.name}", baseline, {}, None))
    base = ContinuationParams(args.seconds, 0.5, 0, follow=DEFAULT_FOLLOW)
    out = {"model": bundle.name, "seconds": args.seconds, "draws": args.draws, "half": args.half, "sets": {}}
    for spec in args.set:
        name, _, folder = spec.partition("=")
        clips = ev.pick_clips([folder], bundle.features, args.seeds, 8.0, args.seconds, which_half=args.half)
        print(f"\n{bundle.name}, {name}: {len(clips)} seeds, {args.seconds:g} s, {args.draws} draw(s); "
              "passes (mean over draws) and medians, scored 2-22 s after the seam")
        print(f"{'':<26} {'passes':>6} {'key':>5} {'beat':>5} {'timbre':>6} {'replay':>6} {'loud LU':>7} {'loud ok':>7}"
              f"   {'attack':>6} {'detail':>6} {'self dB':>7} {'moves':>6}   meeting key/beat/timbre/replay")
        rows = {}
        truth = None
        for row, model_bundle, changes, turn_off in rows_wanted:
            evaluations = run_row(model_bundle, clips, replace(base, **changes), args.draws, turn_off)
            summary = ev.summarise(evaluations)["20s"]
            model = summary["model"]
            med = model["median"]
            meeting = "/".join(f"{model['meeting'][t]['mean']:.1f}" for t in ("key", "beat", "timbre", "replay"))
            print(f"{row:<26} {model['passed']['mean']:>6.1f} " +
                  " ".join(f"{med[m]:>5.2f}" if med[m] is not None else "    –" for m in MEASURES[:2]) +
                  f" {med['timbre_db']:>6.1f} {med['replay_fraction']:>6.2f} {med['loudness_max_lu']:>7.1f}"
                  f" {model['loudness_kept']['mean']:>7.1f}   {_listener(med)}   {meeting}",
                  flush=True)
            rows[row] = summary
            truth = summary["truth"]
        tm = truth["median"]
        print(f"{'truth':<26} {truth['passed']:>6} {tm['key_correlation']:>5.2f} "
              f"{tm['beat_strength'] if tm['beat_strength'] is not None else float('nan'):>5.2f} "
              f"{tm['timbre_db']:>6.1f} {tm['replay_fraction']:>6.2f} {tm['loudness_max_lu']:>7.1f} "
              f"{truth['loudness_kept']:>7}   {_listener(tm)}   "
              + "/".join(str(truth["meeting"][t]) for t in ("key", "beat", "timbre", "replay")))
        out["sets"][name] = {"seeds": len(clips), "rows": rows}
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
