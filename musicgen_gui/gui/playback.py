"""The takes and playback: the take list and its selection, playing the seed or a take, A/B, export.

``TakesController`` owns which take is selected (and the one before, the other
half of A/B) and what is playing, and says so through signals: ``selected``
when the selection moves (also when A/B moves it), ``playing`` when a playback
starts, ``position`` on every tick while it plays.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import soundfile as sf
from PySide6.QtCore import QObject, Signal

from ..core.audio_io import write_wav
from ..core.errors import MusicgenError
from ..core.features import FeatureConfig
from .mode import IDLE, PLAYING, STREAMING
from .seed import UNREAD, describe
from .takes import Take, TakeListModel, TakeStore

if TYPE_CHECKING:
    from ..core.analysis import MusicAnalysis


class TakesController(QObject):
    selected = Signal(object)  # the Take, or None
    analysed = Signal(object, str)  # a take, and its continuation's tempo and key
    playing = Signal(object, int)  # the take (None: the seed) and the sample its playback starts at
    position = Signal(object, float)  # while playing: the take (None: the seed), and seconds into it
    stopped = Signal()

    def __init__(self, store: TakeStore, app):
        """``app``: the AppController (mode, settings, audio, jobs, messages)."""
        super().__init__(app)
        self.app = app
        self.model = TakeListModel(store, self)
        self.model.errorsAdded.connect(self._show_errors)
        self.current: Take | None = None
        self.previous: Take | None = None  # the one selected before: the other half of A/B
        self.analysis: tuple[Take | None, str] = (None, "")
        self._seed_readings: dict[str, MusicAnalysis] = {}  # seed_id -> its analysis
        self.played: Take | None = None  # the take playing (None: the seed, or nothing)
        self.playback = None
        self.offset = 0  # sample (of the seed, or of the take's continuation) where the playback starts

    # ---------------------------------------------------------- the list
    def select(self, take: Take | None) -> None:
        if take is self.current:
            return
        if self.current is not None:
            self.previous = self.current
        self.current = take
        if take is not None and self.app.mode != STREAMING:
            self.analyse(take)
        self.selected.emit(take)
        self.app.changed.emit()

    def other(self) -> Take | None:
        """The other half of A/B, if it is still listed."""
        return self.previous if self.previous is not None and self.model.row_of(self.previous) >= 0 else None

    def load_saved(self) -> None:
        """The takes saved by earlier runs, read in the background."""
        self.app.jobs.run(self.model.store.load_all, self._loaded, self.app.error)

    def _loaded(self, result) -> None:
        saved, problems = result
        self.model.set_all(saved + self.model.takes())
        if problems:
            self.app.error("Some saved takes could not be read: " + "; ".join(problems))
        self.app.changed.emit()

    def delete(self) -> None:
        if not self.app.enabled("delete_take"):
            return
        row = self.model.row_of(self.current)
        self.model.delete(row)
        self.current = None
        self.select(self.model.take(min(row, self.model.rowCount() - 1)))
        self._show_errors()
        self.app.info("Take deleted. Edit ▸ Undo (Ctrl+Z) brings it back.")
        self.app.changed.emit()

    def undo_delete(self) -> None:
        if self.model.can_undo:
            take = self.model.take(self.model.undo_delete())
            self.select(take)
            self.app.info(f"{take.name} restored.")  # in place of "Take deleted", which is no longer true
            self._show_errors()

    def _show_errors(self) -> None:
        while self.model.errors:
            self.app.error(self.model.errors.pop(0))

    def analyse(self, take: Take) -> None:
        """The continuation's tempo and key, in the background."""
        samples, cfg = take.continuation().copy(), self.app.features
        # A failure reads as unknown; the seed's readout, which fails alike, has said why (a streaming
        # take is read again every few seconds, and would repeat it).
        self.app.jobs.run(lambda: describe(samples, cfg, self.seed_reading(take)),
                          lambda text: self._set_analysis(take, text), lambda _: self._set_analysis(take, UNREAD))

    def seed_reading(self, take: Take) -> MusicAnalysis:
        """The take's seed's tempo, beat and key, worked out once per seed (takes share their seed, and
        a streaming take's readout is renewed every few seconds). Safe from the background jobs."""
        from ..core.analysis import analyse  # here, off the GUI thread: not needed to draw the window

        key = take.seed_id
        if key not in self._seed_readings:
            self._seed_readings[key] = analyse(take.seed, FeatureConfig(sample_rate=take.sample_rate))
        return self._seed_readings[key]

    def _set_analysis(self, take: Take, text: str) -> None:
        self.analysis = (take, text)
        self.analysed.emit(take, text)

    # ---------------------------------------------------------- playback
    def toggle_seed_playback(self) -> None:
        app = self.app
        if app.mode == PLAYING:
            self.stop()
        elif app.enabled("play_seed"):
            seed = app.seed
            self._play(None, seed.region_samples(), seed.region[0], seed.clip.sample_rate)

    def play_take(self, take: Take | None = None, start: int = 0) -> None:
        """Play a take from ``start`` (a sample of its continuation; the lead-in before it at 0)."""
        take = take or self.current
        if take is None or not self.app.enabled("play_take"):
            return
        audio = take.audio(with_seed=True)
        lead = min(len(take.seed), int(self.app.lead_in * take.sample_rate)) if start == 0 else 0
        begin = len(take.seed) + start - lead
        self._play(take, audio[begin:], start - lead, take.sample_rate)

    def compare(self) -> None:
        """A/B: the other of the last two takes selected, at the same point of the continuation; the
        selection and the readout move with the sound."""
        if not self.app.enabled("compare"):
            return
        position = 0
        if self.app.mode == PLAYING and self.played is not None:
            position = max(0, self.offset + self.playback.position)
        other = self.other() if self.played is self.current else self.current
        self.select(other)
        self.play_take(other, start=min(position, other.kept))

    def _play(self, take: Take | None, audio, offset: int, rate: int) -> None:
        try:
            playback = self.app.audio.play(rate)
        except MusicgenError as exc:
            self.app.error(str(exc))
            return
        self.playback, self.played, self.offset = playback, take, offset
        # Fed from a thread: a long take does not fit the ring at once.
        self.app.jobs.run(lambda: playback.write(audio) and playback.finish(), lambda _: None, self.app.error)
        self.app.set_mode(PLAYING)
        self.playing.emit(take, offset)

    def seconds(self) -> float:
        """Where the playback is: seconds into the seed clip, or into the take's continuation."""
        return (self.offset + self.playback.position) / self.app.features.sample_rate

    def status(self) -> str:
        position = self.seconds() if self.playback is not None else 0.0
        if self.played is None:
            return f"Playing the seed · {position:.1f} s"
        take = self.played
        return f"Playing {take.name} · {max(0.0, position):.1f} of {take.kept / take.sample_rate:.1f} s"

    def stop(self) -> None:
        if self.app.mode != PLAYING:
            return
        self.playback.stop()
        self.playback = self.played = None
        self.app.set_mode(IDLE)
        self.stopped.emit()

    def tick(self) -> None:
        if self.app.mode != PLAYING:
            return
        if self.playback.finished:
            self.stop()
        else:
            self.position.emit(self.played, self.seconds())

    # ------------------------------------------------------------ export
    def export(self, take: Take, path: str, with_seed: bool, bits: str, unheard: bool = False) -> None:
        """Write the take in the background (atomically): with the seed, at the seed file's own rate
        and channels (core.export); tagged with the seed's tempo and the settings. Says what was written."""
        # Imported here: not needed to draw the window.
        from ..core.export import SeedSource, acid_chunk, write_with_seed
        from ..core.export import describe as describe_take

        continuation, seed = take.finished(unheard), take.seed
        source = SeedSource(take.source, *take.region_s) if take.source else None
        comment = describe_take(take.name, take.model, take.params.to_dict(), source)
        seed_s = len(seed) / take.sample_rate

        def write():
            analysis = self.seed_reading(take)  # the continuation keeps the seed's beat
            if with_seed:
                written, rate = write_with_seed(path, source, seed, continuation, take.sample_rate, bits, analysis,
                                                take.name, comment)
            else:
                written, rate = write_wav(path, continuation, take.sample_rate, bits, title=take.name, comment=comment,
                                          chunks=acid_chunk(len(continuation) / take.sample_rate, analysis)), \
                    take.sample_rate
            return written, sf.info(written).frames / rate

        def done(result):
            written, seconds = result
            self.app.app_settings.export_folder = str(Path(written).parent)  # proposed next time
            parts = f"seed {seed_s:.2f} s + continuation {seconds - seed_s:.2f} s" if with_seed else "continuation"
            self.app.info(f"Exported {seconds:.2f} s ({parts}) of {take.name} to {written}")

        self.app.jobs.run(write, done, self.app.error)
