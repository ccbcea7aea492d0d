"""How often the score's own notes, in the seed's window, give the key signature the score is labelled with.

    python benchmarks/key_ceiling.py [--half tune|report|all]

The ceiling for any key reader that hears only the seed. For each seed of
benchmarks/analysis_accuracy.py (the piano and instruments sets, 6 seeds of
8 s per labelled file), the notes sounding in its window are taken from the
MIDI file that ood_corpus.py rendered (rebuilt here from the same music21
score), each weighted by its seconds inside the window. Their key is read by
music21's Bellman-Budge and Aarden-Essen profiles, and by the signature whose
seven tones hold the most of them (as core/key.py's coverage does), then
compared with the label as analysis_accuracy.py compares the readout (the same
signature). Windows: the seed's 8 s, 20 s centred on it, and the stretch around
it whose key signature does not change.

MIDI seconds map to the audio's as ood_corpus.render_work made it: the first
movement loses the silence before its first note less the 50 ms pad, a later
movement starts where the manifest's labels put its first tempo. Needs music21
(a dev tool, as for the corpus builders).
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "resources" / "models"))
sys.path.insert(0, str(HERE))
import corpus as C  # noqa: E402
import ood_corpus as O  # noqa: E402
from analysis_accuracy import seeds  # noqa: E402

from musicgen_gui.core.key import DIATONIC  # noqa: E402
from musicgen_gui.core.labels import read_labels  # noqa: E402

WINDOWS = ("8 s", "20 s", "same signature")


def midi_notes(mf) -> list[tuple[float, float, int]]:
    """(start s, end s, pitch) of a music21 MidiFile's notes, through its tempo map."""
    from music21.midi import ChannelVoiceMessages, MetaEvents

    tempos, events = [], []
    for n, track in enumerate(mf.tracks):
        tick = 0
        for e in track.events:
            if e.isDeltaTime():
                tick += e.time
            elif e.type == MetaEvents.SET_TEMPO:
                tempos.append((tick, int.from_bytes(bytes(e.data)[:3], "big")))
            elif e.type in (ChannelVoiceMessages.NOTE_ON, ChannelVoiceMessages.NOTE_OFF):
                on = e.type == ChannelVoiceMessages.NOTE_ON and e.velocity > 0
                events.append((tick, on, (n, e.channel, e.pitch)))
    marks = [(0, 0.0, 500000)]  # (tick, seconds, microseconds per quarter from there); MIDI's default
    for tick, usec in sorted(tempos):
        t0, s0, u0 = marks[-1]
        marks.append((tick, s0 + (tick - t0) / mf.ticksPerQuarterNote * u0 / 1e6, usec))
    ticks = np.array([m[0] for m in marks])

    def seconds(tick):
        t0, s0, u0 = marks[int(np.searchsorted(ticks, tick, side="right")) - 1]
        return s0 + (tick - t0) / mf.ticksPerQuarterNote * u0 / 1e6

    sounding, notes = {}, []
    for tick, on, key in sorted(events, key=lambda e: (e[0], e[1])):  # a note's end before the next start
        if on:
            sounding.setdefault(key, []).append(tick)
        elif sounding.get(key):
            start = sounding[key].pop(0)
            if tick > start:
                notes.append((seconds(start), seconds(tick), key[2]))
    return notes


def file_notes(track: dict) -> list[tuple[float, float, int]]:
    """A manifest track's notes in seconds of its audio."""
    from music21.midi import translate

    program = int(track["instrument"].split("program ")[1].split(":")[0])
    movements = [s.split("corpus: ", 1)[1] for s in track["source"].split("; ")]
    tempo_marks = track["labels"]["tempo"]
    notes, used = [], 0
    for k, rel in enumerate(movements):
        mf = translate.streamToMidiFile(O.score(rel, program))
        found = midi_notes(mf)
        if k == 0:
            offset = -max(min(n[0] for n in found) - C.PAD / C.SR, 0.0)
        else:
            offset = tempo_marks[used][0]  # this movement's start, less its (small) lead
        used += len(O.shifted(O.midi_labels(mf), offset)["tempo"])  # as the manifest lists them
        notes += [(a + offset, b + offset, p) for a, b, p in found]
    return notes


def profile(notes, start: float, end: float) -> np.ndarray:
    """Seconds of each pitch class sounding between start and end."""
    pc = np.zeros(12)
    for a, b, p in notes:
        pc[p % 12] += max(0.0, min(b, end) - max(a, start))
    return pc


def signature_readers():
    from music21 import analysis, note, stream

    def music21_reader(method):
        def read(pc):
            s = stream.Stream()
            for i in np.nonzero(pc)[0]:
                n = note.Note(60 + int(i))
                n.quarterLength = max(round(float(pc[i]) * 64) / 64, 1 / 64)
                s.append(n)
            return method().getSolution(s).sharps
        return read

    def coverage(pc):
        cover = DIATONIC @ pc
        best = np.nonzero(cover >= cover.max() - 1e-9 * cover.max())[0]
        if len(best) > 1:
            return None  # tied: counted as a miss
        fifths = (int(best[0]) * 7) % 12
        return fifths - 12 if fifths > 6 else fifths

    return {"Bellman-Budge": music21_reader(analysis.discrete.BellmanBudge),
            "Aarden-Essen": music21_reader(analysis.discrete.AardenEssen), "coverage": coverage}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--half", choices=("tune", "report", "all"), default="report")
    args = ap.parse_args()
    warnings.simplefilter("ignore")  # music21's notices about the corpus files
    readers = signature_readers()
    counts = {(w, r): 0 for w in WINDOWS for r in [*readers, "any"]}
    n = 0
    for set_name in ("piano", "instruments"):
        folder = Path("~/.cache/musicgen-corpus/ood").expanduser() / set_name
        tracks = {t["file"]: t for t in json.loads((folder / "manifest.json").read_text())["tracks"]}
        labels, notes_of = read_labels(folder), {}
        for name, audio, start, length, label in seeds(folder, 8.0, 6, args.half):
            file = name.split("@")[0]
            if file not in notes_of:
                notes_of[file] = file_notes(tracks[file])
            keys = labels[file]["key"]
            s, e = start / C.SR, (start + length) / C.SR
            centre = (s + e) / 2
            changes = [k[0] for k in keys] + [len(audio) / C.SR]
            i = max(j for j in range(len(keys)) if keys[j][0] <= centre)
            spans = {"8 s": (s, e), "20 s": (centre - 10, centre + 10), "same signature": (changes[i], changes[i + 1])}
            n += 1
            for w, (a, b) in spans.items():
                pc = profile(notes_of[file], a, b)
                agree = {r: read(pc) is not None and (read(pc) - label.sharps) % 12 == 0 for r, read in readers.items()}
                for r, ok in agree.items():
                    counts[w, r] += ok
                counts[w, "any"] += any(agree.values())  # the best reader for each seed, chosen after the fact
    print(f"{args.half} half, {n} seeds: the score's notes give the labelled signature on")
    for w in WINDOWS:
        print(f"  {w:15s} " + "  ".join(f"{r} {counts[w, r]} ({counts[w, r] / n:.0%})" for r in [*readers, "any"]))


if __name__ == "__main__":
    main()
