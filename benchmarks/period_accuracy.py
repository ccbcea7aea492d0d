"""How far the beat period read on a seed is from the music's, before and after the seed memory puts it
right on the seed's own repeats (core/memory.py, repeating_period).

    python benchmarks/period_accuracy.py [--half tune] [--seconds 8] [--every 6]

Windows of --seconds every --every seconds of each file of the half. The reference: for rendered scores
(ood piano and instruments) the score's tempo; for electronic music (ood electronic, electronic/val) the
beat read over the 30 s around the window, where that reading is sure. A window read at another
metrical level than the reference (by more than 5 % once folded by 2 and 3/2) is left out: that is a
question of level, not of period. Printed per set: windows, and how many are more than 0.5 % and 1 %
off, as read and as the memory uses it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from musicgen_gui.core.analysis import analyse, band_log_power
from musicgen_gui.core.audio_io import find_audio_files, load_audio
from musicgen_gui.core.features import FeatureConfig, align_to_frames, log_power
from musicgen_gui.core.labels import half, label_at, read_labels
from musicgen_gui.core.memory import repeating_period

CFG = FeatureConfig()
LEVELS = (1, 2, 0.5, 1.5, 2 / 3, 3, 1 / 3, 4, 0.25, 0.75, 4 / 3)


def reference_bpm(kind: str, labels: dict, name: str, audio: np.ndarray, start: float, seconds: float):
    sr = CFG.sample_rate
    if kind == "score":
        label = label_at(labels[name], start - 1, start + seconds + 1) if name in labels else None
        return label.bpm if label else None
    lo = max(0, int((start + seconds / 2 - 15) * sr))
    window = audio[lo:lo + 30 * sr]
    beat = analyse(window, CFG).beat if len(window) >= 20 * sr else None
    return beat.bpm if beat is not None and beat.sure else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--half", choices=("tune", "report", "all"), default="report")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--every", type=float, default=6.0)
    args = ap.parse_args()
    corpus = Path("~/.cache/musicgen-corpus").expanduser()
    sets = [("other electronic", "electronic", corpus / "ood/electronic"),
            ("electronic in domain", "electronic", corpus / "electronic/val"),
            ("other pianos", "score", corpus / "ood/piano"), ("instruments", "score", corpus / "ood/instruments")]
    fps, sr = CFG.frames_per_second, CFG.sample_rate
    for set_name, kind, folder in sets:
        labels = read_labels(folder)
        errors = []
        for path in find_audio_files([folder]):
            if args.half != "all" and half(path.name) != args.half:
                continue
            audio = load_audio(path, sr).samples
            for start in np.arange(4.0, len(audio) / sr - args.seconds - 4.0, args.every):
                seed = align_to_frames(audio[int(start * sr):int((start + args.seconds) * sr)], CFG)
                beat = analyse(seed, CFG).beat
                ref = reference_bpm(kind, labels, path.name, audio, start, args.seconds) if beat else None
                if ref is None:
                    continue
                ref *= min(LEVELS, key=lambda f: abs(np.log(beat.bpm / (ref * f))))
                if abs(np.log(beat.bpm / ref)) > 0.05:
                    continue
                period = repeating_period(band_log_power(log_power(seed, CFG), CFG), beat.period_frames)
                errors.append((abs(beat.bpm / ref - 1), abs(60 * fps / period / ref - 1)))
        e = np.array(errors).reshape(-1, 2)
        print(f"{set_name:22s} {len(e):4d} windows  more than 0.5 % off: read {int((e[:, 0] > 0.005).sum()):3d}, "
              f"memory {int((e[:, 1] > 0.005).sum()):3d}  more than 1 %: read {int((e[:, 0] > 0.01).sum()):3d}, "
              f"memory {int((e[:, 1] > 0.01).sum()):3d}")


if __name__ == "__main__":
    main()
