"""Takes: every continuation made, with what it was made from, kept on disk and listed.

A ``Take`` holds the seed it continued (whole, as selected), the continuation
generated so far, and every setting, including the random seed actually used.
The generation worker appends each block; the GUI timer reads ``n_samples`` and
``n_frames``, which the worker publishes only after copying the data (a
latest-value hand-over). ``reserve`` runs on the GUI thread before a worker
starts, so the worker never replaces an array the GUI is reading.

``heard`` is where the listener stopped hearing it (Stop mid-stream); what was
generated past it is kept and offered, but is not part of the take unless asked.
Played back or exported, a take ends in a short fade-out, as playback ends, not mid-wave.

``TakeStore`` writes each take to ``<data>/takes/<id>/`` (its continuation as a
float WAV file and a JSON file, each written atomically, the JSON last) every few
seconds while it is generated and when its run ends, so takes survive a crash
and a restart. Seeds are stored once, under ``seeds/`` named by a hash of their
samples, however many takes continue them; takes saved before that kept their
own ``seed.wav``, and still load. ``TakeListModel`` is the list the window shows;
deleting moves a take aside, so that it can be undone.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
from PySide6.QtCore import QAbstractListModel, QModelIndex, Qt, Signal

from ..core.audio_io import write_wav
from ..core.features import FADE_SAMPLES, fade_in
from ..core.fileio import atomic_file
from ..core.params import ContinuationParams

_DELETED = ".deleted"  # deleted takes wait here until the app quits, for Undo
_SEEDS = "seeds"  # one stored copy of each seed, named by its hash
# The settings a take's line in the list shows where they differ from the take before: label, format.
_SHOWN = {"temperature": ("variation", lambda v: f"{v:.2f}"), "follow": ("follow", lambda v: f"{v:.2f}"),
          "anchor": ("anchor", lambda v: "on" if v else "off"),
          "adapt_seconds": ("adapt", lambda v: f"{v:g} s" if v else "off")}
_FIRST_SHOWN = ("temperature", "follow")  # and for a seed's first take, these


def takes_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("musicgen-gui", appauthor=False)) / "takes"


@dataclass
class Take:
    sample_rate: int
    seed: np.ndarray  # the selected region, whole: an export with the seed starts with it
    params: ContinuationParams | None  # its rng_seed is the one used; None until its run starts
    model: str  # the model's name or file
    source: str = ""  # the seed's file, and the region's start and end in seconds
    region_s: tuple[float, float] = (0.0, 0.0)
    name: str = ""
    ident: str = ""
    parent: str | None = None  # the take an extension continued
    heard: int | None = None  # samples heard before Stop; None: the whole take
    temperature_changes: list = field(default_factory=list)  # (sample, value) applied while generating
    follow_changes: list = field(default_factory=list)  # the same, for how closely it follows the seed
    continuation_samples: np.ndarray | None = None

    def __post_init__(self):
        if not self.ident:  # sorts as made
            ns = time.time_ns()
            self.ident = time.strftime("%Y%m%d-%H%M%S", time.localtime(ns // 10**9)) + f"-{ns % 10**9:09d}"
        self._samples = np.zeros(0, np.float32)
        self._frames = np.zeros((0, 1), np.float32)
        self.n_samples = 0
        self.n_frames = 0
        if self.continuation_samples is not None:
            self.reserve(len(self.continuation_samples), 0)
            self.append(self.continuation_samples, np.zeros((0, 1), np.float32))
            self.continuation_samples = None

    def reserve(self, samples: int, frames: int, n_bins: int = 1) -> None:
        """Make room for this many more samples and frames (GUI thread, no worker running)."""
        if self.n_samples + samples > len(self._samples):
            self._samples = np.concatenate([self._samples[:self.n_samples], np.zeros(samples, np.float32)])
        if self._frames.shape[1] != n_bins and frames:
            self._frames, self.n_frames = np.zeros((0, n_bins), np.float32), 0
        if self.n_frames + frames > len(self._frames):
            extra = np.zeros((frames, self._frames.shape[1]), np.float32)
            self._frames = np.concatenate([self._frames[:self.n_frames], extra])

    def append(self, samples: np.ndarray, frames: np.ndarray) -> None:
        """Worker thread. Frames beyond the reservation are not drawn; samples always fit."""
        end = self.n_samples + len(samples)
        self._samples[self.n_samples:end] = samples
        self.n_samples = end
        k = min(len(frames), len(self._frames) - self.n_frames)
        self._frames[self.n_frames:self.n_frames + k] = frames[:k]
        self.n_frames += k

    @property
    def kept(self) -> int:
        """Samples of the continuation that are the take: up to where the listener stopped."""
        return self.n_samples if self.heard is None else min(self.heard, self.n_samples)

    @property
    def unheard(self) -> int:
        """Samples generated past where playback was stopped."""
        return self.n_samples - self.kept

    def continuation(self, unheard: bool = False) -> np.ndarray:
        """The samples as generated (a view): what a take extended from it goes on from."""
        return self._samples[:self.n_samples if unheard else self.kept]

    def finished(self, unheard: bool = False) -> np.ndarray:
        """The continuation as it is exported (a copy): its last samples fade out, as playback fades
        out at Stop and at an end (as a DAW fades a region's edges). It stops mid-wave, where its
        length ran out or where it was stopped, and cut off there it would end in a click."""
        out = self.continuation(unheard).copy()
        k = min(FADE_SAMPLES, len(out))
        out[len(out) - k:] *= fade_in()[::-1][FADE_SAMPLES - k:]
        return out

    def new_frames(self, since: int) -> np.ndarray:
        return self._frames[since:self.n_frames]

    def frames(self) -> np.ndarray:
        return self._frames[:self.n_frames]

    @property
    def seed_id(self) -> str:
        """A hash of the seed's samples: takes of the same seed share it (and its stored copy)."""
        if getattr(self, "_seed_id", None) is None:
            self._seed_id = hashlib.sha256(np.ascontiguousarray(self.seed).tobytes()).hexdigest()[:20]
        return self._seed_id

    def audio(self, with_seed: bool, unheard: bool = False) -> np.ndarray:
        """For playback, which fades out the end itself (audio/engine.py)."""
        continuation = self.continuation(unheard)
        return np.concatenate([self.seed, continuation]) if with_seed else continuation.copy()

    def summary(self, before: Take | None = None) -> str:
        """One line for the list: the name, the length, and what was set otherwise than for ``before`` (the
        take made before it from the same seed; all of it for the first). details() has the rest."""
        text = f"{self.name} · {self.kept / self.sample_rate:.1f} s"
        if self.unheard:
            text += f" (+{self.unheard / self.sample_rate:.1f} unheard)"
        def differs(key: str) -> bool:
            return key in _FIRST_SHOWN if before is None else getattr(before.params, key) != getattr(self.params, key)

        changed = [f"{label} {show(getattr(self.params, key))}" for key, (label, show) in _SHOWN.items()
                   if differs(key)]
        if before is None or before.model != self.model:
            changed.insert(0, Path(self.model).stem)
        if self.parent:
            changed.insert(0, "extended")
        return " · ".join([text] + changed)

    def details(self) -> str:
        lines = [f"seed: {self.source or 'recording'} {self.region_s[0]:.2f}-{self.region_s[1]:.2f} s",
                 f"model: {self.model}",
                 "settings: " + ", ".join(f"{k} {v}" for k, v in self.params.to_dict().items())]
        if self.parent:
            lines.append(f"extends take {self.parent}")
        for name, changes in (("variation", self.temperature_changes), ("follow", self.follow_changes)):
            if changes:
                lines.append(f"{name} changed at " + ", ".join(
                    f"{n / self.sample_rate:.1f} s to {t:.2f}" for n, t in changes))
        return "\n".join(lines)

    def metadata(self) -> dict:
        return {"version": 2, "seed": self.seed_id, "name": self.name, "ident": self.ident, "model": self.model, "source": self.source,
                "region_s": list(self.region_s), "settings": self.params.to_dict(), "parent": self.parent,
                "heard": self.heard, "temperature_changes": self.temperature_changes, "follow_changes": self.follow_changes,
                "sample_rate": self.sample_rate, "generated": self.n_samples}


class TakeStore:
    """Takes on disk, one folder each."""

    def __init__(self, folder: Path | None = None):
        self.folder = Path(folder) if folder is not None else takes_dir()
        self._lock = threading.Lock()  # one save at a time: a late partial save must not replace the final one
        self._saved: dict[str, float] = {}  # samples written per take (inf once its run has ended)

    def save(self, take: Take, final: bool = True) -> None:
        """Write the take (atomically per file; the JSON last, so a folder without it is unfinished).
        ``final=False``: what a running take has so far (any thread), unless there is nothing new (a take
        with nothing generated yet is not written: it would come back empty after a crash)."""
        with self._lock:
            n = take.n_samples  # the worker may append meanwhile; what is below n stays as it is
            if not final and self._saved.get(take.ident, 0) >= n:
                return
            seed = self.folder / _SEEDS / f"{take.seed_id}.wav"
            if not seed.is_file():
                seed.parent.mkdir(parents=True, exist_ok=True)
                write_wav(seed, take.seed, take.sample_rate, "float")
            where = self.folder / take.ident
            where.mkdir(parents=True, exist_ok=True)
            write_wav(where / "continuation.wav", take.continuation(unheard=True)[:n], take.sample_rate, "float")
            with atomic_file(where / "take.json", "w") as f:
                json.dump(take.metadata(), f, indent=1)
            self._saved[take.ident] = math.inf if final else n

    def save_metadata(self, take: Take) -> None:
        with atomic_file(self.folder / take.ident / "take.json", "w") as f:
            json.dump(take.metadata(), f, indent=1)

    def load_all(self) -> tuple[list[Take], list[str]]:
        """The saved takes, oldest first, and a line for each that could not be read."""
        shutil.rmtree(self.folder / _DELETED, ignore_errors=True)
        takes, problems, seeds = [], [], {}
        for meta in sorted(self.folder.glob("*/take.json")):
            try:
                m = json.loads(meta.read_text())
                stored = self.folder / _SEEDS / f"{m['seed']}.wav" if "seed" in m else meta.parent / "seed.wav"
                if stored not in seeds:  # read once, and shared in memory too
                    seeds[stored], _ = sf.read(stored, dtype="float32")
                seed = seeds[stored]
                continuation, _ = sf.read(meta.parent / "continuation.wav", dtype="float32")
                takes.append(Take(int(m["sample_rate"]), seed, ContinuationParams.from_dict(m["settings"]), m["model"], m["source"],
                                  tuple(m["region_s"]), m["name"], m["ident"], m["parent"], m["heard"],
                                  temperature_changes=[tuple(c) for c in m["temperature_changes"]],
                                  follow_changes=[tuple(c) for c in m.get("follow_changes", [])],  # older takes: none
                                  continuation_samples=continuation))
            except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
                problems.append(f"{meta.parent.name}: {exc}")
        return takes, problems

    def delete(self, take: Take) -> None:
        """Moved aside until the app quits (Undo moves it back)."""
        (self.folder / _DELETED).mkdir(parents=True, exist_ok=True)
        source = self.folder / take.ident
        if source.is_dir():
            source.replace(self.folder / _DELETED / take.ident)

    def undelete(self, take: Take) -> None:
        aside = self.folder / _DELETED / take.ident
        if aside.is_dir():
            aside.replace(self.folder / take.ident)

    def purge_deleted(self) -> None:
        """Deleted takes go for good, and so do the stored seeds no take uses any more (the app is
        quitting: no save is under way)."""
        shutil.rmtree(self.folder / _DELETED, ignore_errors=True)
        used = set()
        for meta in self.folder.glob("*/take.json"):
            try:
                used.add(json.loads(meta.read_text()).get("seed"))
            except (OSError, ValueError):
                return  # unreadable: keep every seed rather than guess
        for seed in (self.folder / _SEEDS).glob("*.wav"):
            if seed.stem not in used:
                seed.unlink(missing_ok=True)


class TakeListModel(QAbstractListModel):
    """The takes, in the order they were made; renamed in place, deleted with undo."""

    TakeRole = Qt.ItemDataRole.UserRole + 1
    # A rename (which the view makes, not the window) added to ``errors``: a name refused, or not saved.
    errorsAdded = Signal()

    def __init__(self, store: TakeStore, parent=None):
        super().__init__(parent)
        self.store = store
        self._takes: list[Take] = []
        self._deleted: list[tuple[int, Take]] = []  # for undo, the latest last
        self.errors: list[str] = []  # saving failures and refused names, for the window to show

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._takes)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        take = self._takes[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return take.summary(self._before(index.row()))
        if role == Qt.ItemDataRole.EditRole:
            return take.name
        if role == Qt.ItemDataRole.ToolTipRole:
            return take.details()
        if role == self.TakeRole:
            return take
        return None

    def flags(self, index):
        return super().flags(index) | Qt.ItemFlag.ItemIsEditable if index.isValid() else super().flags(index)

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole) -> bool:
        name = str(value).strip()
        if role != Qt.ItemDataRole.EditRole or not index.isValid() or not name:
            return False
        take = self._takes[index.row()]
        if name != take.name and any(t.name == name for t in self._named()):
            # Unique names: the list, A/B, exports and "restored" messages tell takes apart by them.
            self.errors.append(f"A take is already named {name}: {take.name} keeps its name.")
            self.errorsAdded.emit()
            return False
        take.name = name
        self._save(take)
        self.dataChanged.emit(index, index)
        if self.errors:
            self.errorsAdded.emit()
        return True

    def _named(self) -> list[Take]:
        """The takes whose names are taken: those in the list and the deleted ones undo can bring back."""
        return self._takes + [t for _, t in self._deleted]

    def _before(self, row: int) -> Take | None:
        """The take made before this one from the same seed."""
        seed = self._takes[row].seed_id
        return next((t for t in reversed(self._takes[:row]) if t.seed_id == seed), None)

    def take(self, row: int) -> Take | None:
        return self._takes[row] if 0 <= row < len(self._takes) else None

    def row_of(self, take: Take) -> int:
        return next((i for i, t in enumerate(self._takes) if t is take), -1)

    def takes(self) -> list[Take]:
        return list(self._takes)

    def add(self, take: Take) -> int:
        """A new take, named after its number; returns its row.

        Deleted takes that undo can bring back keep their numbers, so a restored take never shares its name.
        """
        if not take.name:
            take.name = f"Take {max((_number(t.name) for t in self._named()), default=0) + 1}"
        self.beginInsertRows(QModelIndex(), len(self._takes), len(self._takes))
        self._takes.append(take)
        self.endInsertRows()
        return len(self._takes) - 1

    def set_all(self, takes: list[Take]) -> None:
        self.beginResetModel()
        self._takes = list(takes)
        self.endResetModel()

    def changed(self, take: Take) -> None:
        """The take grew or ended: redraw its row."""
        row = self.row_of(take)
        if row >= 0:
            self.dataChanged.emit(self.index(row), self.index(row))

    def delete(self, row: int, undoable: bool = True) -> None:
        take = self._takes[row]
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._takes[row]
        self.endRemoveRows()
        if not undoable:
            return
        self._deleted.append((row, take))
        try:
            self.store.delete(take)
        except OSError as exc:
            self.errors.append(f"cannot move {take.name} aside: {exc.strerror or exc}")

    @property
    def can_undo(self) -> bool:
        return bool(self._deleted)

    def undo_delete(self) -> int:
        """Bring back the last deleted take; returns its row."""
        row, take = self._deleted.pop()
        row = min(row, len(self._takes))
        self.beginInsertRows(QModelIndex(), row, row)
        self._takes.insert(row, take)
        self.endInsertRows()
        try:
            self.store.undelete(take)
        except OSError as exc:
            self.errors.append(f"cannot restore {take.name}: {exc.strerror or exc}")
        return row

    def _save(self, take: Take) -> None:
        try:
            self.store.save_metadata(take)
        except OSError as exc:  # a full or read-only disk: the take stays in the list, and the window says so
            self.errors.append(f"{take.name} is not saved: {exc.strerror or exc}")


def _number(name: str) -> int:
    tail = name.rsplit(" ", 1)[-1]
    return int(tail) if name.startswith("Take ") and tail.isdigit() else 0
