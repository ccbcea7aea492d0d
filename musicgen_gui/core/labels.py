"""What a rendered score says its tempo, meter and key are, and whether a readout agrees.

The out-of-domain sets rendered from music21 scores (resources/models/ood_corpus.py)
list each file's tempo, meter and key signature as they change, in seconds of
the audio, under "labels" in the set's manifest.json. Tempo is the MIDI
file's quarter-note BPM; the key is a signature, so a readout of the key or of
its relative minor or major agrees with it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .key import Key

TEMPO_TOLERANCE = 0.04  # of the score's tempo, its double or its half


@dataclass(frozen=True)
class Label:
    bpm: float | None  # None where the tempo changes within the span
    meter: str | None
    sharps: int | None  # the key signature: sharps (> 0) or flats (< 0)


def read_labels(folder: str | os.PathLike) -> dict[str, dict]:
    """File name -> its labels, for the files of a set's manifest that have them ({} without one)."""
    manifest = Path(folder) / "manifest.json"
    if not manifest.is_file():
        return {}
    tracks = json.loads(manifest.read_text()).get("tracks", [])
    return {t["file"]: t["labels"] for t in tracks if t.get("labels")}


def label_at(labels: dict, start: float, end: float) -> Label:
    """What holds from ``start`` to ``end`` seconds; a field is None where it changes in between."""
    def holding(name):
        changes = labels.get(name) or []
        before = [c for c in changes if c[0] <= start]
        inside = [c for c in changes if start < c[0] < end and c[1:] != (before[-1][1:] if before else None)]
        return before[-1][1:] if before and not inside else None

    tempo, meter, key = holding("tempo"), holding("meter"), holding("key")
    return Label(tempo[0] if tempo else None, meter[0] if meter else None, key[0] if key else None)


def tempo_agrees(bpm: float | None, score_bpm: float) -> bool:
    """Within TEMPO_TOLERANCE of the score's tempo, or of its double or half."""
    return bpm is not None and any(abs(bpm / (score_bpm * f) - 1) <= TEMPO_TOLERANCE for f in (0.5, 1.0, 2.0))


def key_agrees(key: Key | None, sharps: int) -> bool:
    """The score's key or its relative: the same signature (six sharps and six flats are one)."""
    return key is not None and (key.sharps - sharps) % 12 == 0


def half(name: str) -> str:
    """'tune' or 'report': a fixed split of files, so constants chosen on one half are reported on the other."""
    return "tune" if hashlib.sha1(name.encode()).digest()[0] % 2 == 0 else "report"
