"""How well the tempo and key readout agrees with the scores, how stable it is, and how fast.

    python benchmarks/analysis_accuracy.py [SET_DIR ...] [--seconds 8] [--per-file 6] [--half report]

SET_DIR: sets with labels in their manifest.json (ood_corpus.py's piano and
instruments; default: those under ~/.cache/musicgen-corpus/ood). Each labelled
file gives --per-file seeds, evenly spaced, skipping spans where the score
changes tempo or key. Files are split into a tune half and a report half by
name (core.labels.half): choose constants on --half tune, quote --half report.

Per seed:
  tempo ok   the readout within 4 % of the score's quarter-note tempo, its double or half
  key ok     the score's key or its relative (the same signature)
  stable     the same readout for 10 framing offsets (0-511 samples) and selections
             3 frames shorter and longer (7 lengths), counted per seed over all 16
Timing: the median CPU milliseconds per 10 s of seed on one thread, and the 90th percentile (the
analysis frames the clip itself, so its features are included).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from threadpoolctl import threadpool_limits

from musicgen_gui.core.analysis import analyse
from musicgen_gui.core.features import FeatureConfig
from musicgen_gui.core.labels import half, key_agrees, label_at, read_labels, tempo_agrees

CFG = FeatureConfig()
OFFSETS = np.linspace(0, 511, 10).astype(int)
LENGTHS = np.arange(-3, 4) * CFG.hop


def seeds(folder: Path, seconds: float, per_file: int, which: str):
    for name, labels in sorted(read_labels(folder).items()):
        if which != "all" and half(name) != which:
            continue
        audio, sr = sf.read(folder / name, dtype="float32")
        assert sr == CFG.sample_rate, f"{name}: {sr} Hz"
        n = int(seconds * sr)
        margin = 512 + 3 * CFG.hop
        starts = np.linspace(margin, len(audio) - n - margin, per_file).astype(int)
        for start in starts:
            label = label_at(labels, start / sr - 1.0, (start + n) / sr + 1.0)
            if label.bpm is None or label.sharps is None:
                continue
            yield f"{name}@{start / sr:.0f}s", audio, start, n, label


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sets", nargs="*", type=Path)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--per-file", type=int, default=6)
    ap.add_argument("--half", choices=("tune", "report", "all"), default="report")
    ap.add_argument("--no-stability", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    sets = args.sets or [Path("~/.cache/musicgen-corpus/ood").expanduser() / s for s in ("piano", "instruments")]
    rows, times = [], []
    # One thread throughout: BLAS threads left spinning by an untimed multithreaded call would add
    # their CPU time to the next timed one.
    threadpool_limits(limits=1)
    for folder in sets:
        for name, audio, start, n, label in seeds(folder, args.seconds, args.per_file, args.half):
            clip = audio[start:start + n]
            t0 = time.process_time()  # CPU time: the figure a busy machine does not inflate
            result = analyse(clip, CFG)
            times.append((time.process_time() - t0) * 1000 * 10 / args.seconds)
            bpm = result.beat.quarter_bpm if result.beat else None
            ok_t, ok_k = tempo_agrees(bpm, label.bpm), key_agrees(result.key, label.sharps)
            same = None
            if not args.no_stability:
                readout = result.describe()
                variants = [audio[start - o:start - o + n] for o in OFFSETS[1:]]
                variants += [audio[start:start + n + d] for d in LENGTHS if d]
                others = [analyse(v, CFG).describe() for v in variants]
                same = all(o == readout for o in others)
            rows.append((folder.name, ok_t, ok_k, same))
            if args.verbose or not (ok_t and ok_k):
                marks = ("" if ok_t else "T") + ("" if ok_k else "K")
                unstable = "" if same in (None, True) else f" | unstable: also {', '.join(sorted(set(others) - {readout}))}"
                print(f"  {marks:2s} {folder.name}/{name}: {result.describe()} | score {label.bpm:g} BPM {label.meter} "
                      f"{label.sharps:+d} sharps{unstable}")
    for set_name in sorted({r[0] for r in rows}) + ["all"]:
        chosen = [r for r in rows if set_name in ("all", r[0])]
        line = (f"{set_name:12s} {len(chosen):3d} seeds  tempo ok {sum(r[1] for r in chosen):3d} "
                f"({np.mean([r[1] for r in chosen]):.0%})  key ok {sum(r[2] for r in chosen):3d} "
                f"({np.mean([r[2] for r in chosen]):.0%})")
        if not args.no_stability:
            line += f"  stable {sum(r[3] for r in chosen):3d} ({np.mean([r[3] for r in chosen]):.0%})"
        print(line)
    print(f"analysis: median {np.median(times):.1f} CPU ms per 10 s of seed (90th percentile {np.percentile(times, 90):.1f})"
          f", {args.half} half, {args.seconds:g} s seeds")


if __name__ == "__main__":
    main()
