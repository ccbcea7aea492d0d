"""What each part of the generator does: the same seeds continued with parts turned off.

    python benchmarks/ablation.py electronic --set in-domain=DIR --set out-of-domain=DIR \
        [--seeds 10] [--seconds 24] [--draws 1] [--json out.json]

Rows (ContinuationParams as the app runs them, except where said):
  net alone, no anchors   follow 0, anchor off: the network as before the memory (peaks still limited)
  net alone               follow 0: the network with the level/timbre anchors and the loudness follower
  memory, no beat grid    follow 0.5, jumps anywhere the context matches (the seed's beat hidden from it)
  memory (default)        follow 0.5
  full share always       the memory's share not scaled by how well the net predicts the seed
  pauses drawn on         the memory may land in and walk into the seed's pauses
  no band limit           the continuation not low-passed above the seed's bandwidth
  no 3 s hold             the loudness gain follows its 2 s window only, not the 3 s windows too
  wander / stay close     follow 0.25 / 0.8
Per set and row: mean seeds passing over the draws (all targets, scored 2-22 s after the
seam), the number meeting each fidelity target, the medians, and the seeds with every 3 s
window within 2 LU (loud ok); the truth's on the last line.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from unittest import mock

from musicgen_gui.core import analysis, loudness, memory, session
from musicgen_gui.core import evaluation as ev
from musicgen_gui.core.bundle import load_bundle
from musicgen_gui.core.params import DEFAULT_FOLLOW, ContinuationParams

# Each row: changed ContinuationParams, and the part it turns off (a patch of the generator's own module).
ROWS = {
    "net alone, no anchors": ({"follow": 0.0, "anchor": False}, None),
    "net alone": ({"follow": 0.0}, None),
    "memory, no beat grid": ({}, lambda: mock.patch.object(analysis, "estimate_beat", return_value=None)),
    "memory (default)": ({}, None),
    "full share always": ({}, lambda: mock.patch.object(memory, "SHARE_SCALE", (1.0, 1.0))),
    "pauses drawn on": ({}, lambda: mock.patch.object(memory, "PAUSE_SECONDS", 1e6)),
    "no band limit": ({}, lambda: mock.patch.object(session, "seed_bandwidth_hz", return_value=None)),
    "no 3 s hold": ({}, lambda: mock.patch.object(loudness, "SHORT_TERM_MARGIN_LU", float("inf"))),
    "wander (follow 0.25)": ({"follow": 0.25}, None),
    "stay close (follow 0.8)": ({"follow": 0.8}, None),
}
MEASURES = ("key_correlation", "beat_strength", "timbre_db", "replay_fraction", "loudness_max_lu")


def run_row(bundle, clips, params, draws, turn_off):
    with turn_off() if turn_off else nullcontext():
        return [ev.evaluate_clip(bundle, clip, params, draws) for clip in clips]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model")
    p.add_argument("--set", action="append", required=True, metavar="NAME=DIR")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--seconds", type=float, default=24.0)
    p.add_argument("--draws", type=int, default=1)
    p.add_argument("--rows", nargs="+", choices=list(ROWS), default=list(ROWS))
    p.add_argument("--json")
    args = p.parse_args(argv)
    bundle = load_bundle(args.model)
    base = ContinuationParams(args.seconds, 0.5, 0, follow=DEFAULT_FOLLOW)
    out = {"model": bundle.name, "seconds": args.seconds, "draws": args.draws, "sets": {}}
    for spec in args.set:
        name, _, folder = spec.partition("=")
        clips = ev.pick_clips([folder], bundle.features, args.seeds, 8.0, args.seconds)
        print(f"\n{bundle.name}, {name}: {len(clips)} seeds, {args.seconds:g} s, {args.draws} draw(s); "
              "passes (mean over draws) and medians, scored 2-22 s after the seam")
        print(f"{'':<26} {'passes':>6} {'key':>5} {'beat':>5} {'timbre':>6} {'replay':>6} {'loud LU':>7} {'loud ok':>7}"
              "   meeting key/beat/timbre/replay")
        rows = {}
        truth = None
        for row in args.rows:
            changes, turn_off = ROWS[row]
            evaluations = run_row(bundle, clips, replace(base, **changes), args.draws, turn_off)
            summary = ev.summarise(evaluations)["20s"]
            model = summary["model"]
            med = model["median"]
            meeting = "/".join(f"{model['meeting'][t]['mean']:.1f}" for t in ("key", "beat", "timbre", "replay"))
            print(f"{row:<26} {model['passed']['mean']:>6.1f} " +
                  " ".join(f"{med[m]:>5.2f}" if med[m] is not None else "    –" for m in MEASURES[:2]) +
                  f" {med['timbre_db']:>6.1f} {med['replay_fraction']:>6.2f} {med['loudness_max_lu']:>7.1f}"
                  f" {model['loudness_kept']['mean']:>7.1f}   {meeting}",
                  flush=True)
            rows[row] = summary
            truth = summary["truth"]
        tm = truth["median"]
        print(f"{'truth':<26} {truth['passed']:>6} {tm['key_correlation']:>5.2f} "
              f"{tm['beat_strength'] if tm['beat_strength'] is not None else float('nan'):>5.2f} "
              f"{tm['timbre_db']:>6.1f} {tm['replay_fraction']:>6.2f} {tm['loudness_max_lu']:>7.1f} "
              f"{truth['loudness_kept']:>7}   "
              + "/".join(str(truth["meeting"][t]) for t in ("key", "beat", "timbre", "replay")))
        out["sets"][name] = {"seeds": len(clips), "rows": rows}
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
