"""The app's state and commands, in one place; the window shows it and forwards the user's input.

``AppController`` holds the mode, the model, the seed and its region, the takes
and what is playing. Every change emits ``changed``; the window then re-reads
``enabled()``, ``status()`` and the rest. Devices are the AudioBackend's,
generation runs are the GenerationController's, slow work (decoding a seed,
loading a model, analysing, exporting) runs in CallWorkers.
"""

from __future__ import annotations

import dataclasses
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from PySide6.QtCore import QObject, QTimer, Signal

from ..audio import recorder as recordings
from ..audio.backend import AudioBackend
from ..core.analysis import analyse
from ..core.audio_io import load_audio, write_wav
from ..core.bundle import ModelBundle, load_bundle
from ..core.errors import MusicgenError
from ..core.features import FeatureConfig, log_power
from ..core.session import DEFAULT_FOLLOW, MAX_SEED_SECONDS, ContinuationParams
from . import mode as modes
from .generation import GenerationController, Go, RunRequest
from .mode import IDLE, PLAYING, RECORDING, STREAMING, Mode
from .settings import AppSettings
from .takes import Take, TakeListModel, TakeStore
from .workers import CallWorker

TICK_MS = 35  # redraws at up to 28 fps; painting holds the GIL, which generation needs too
PRIME_DELAY_MS = 300  # settle time after a change before the next continuation is primed
EXTEND_CONTEXT_SECONDS = 30.0  # the end of the take an extension is seeded with
ANALYSE_EVERY_S = 3.0  # the continuation's tempo and key, and saving it so far, while it streams
DEVICE_LOST = "device lost"  # the message group of a microphone or speaker that went away


@dataclass
class SeedClip:
    path: str
    samples: np.ndarray  # mono float32 at the model's rate
    sample_rate: int
    frames: np.ndarray  # log-power frames of the whole clip


@dataclass
class Settings:
    """What the settings panel says; the random seed only counts when ``fixed_seed``."""
    seconds: float = 20.0
    temperature: float = 0.5
    fixed_seed: bool = False
    rng_seed: int = 0
    anchor: bool = True
    adapt_seconds: float = 0.0
    follow: float = DEFAULT_FOLLOW
    lead_in: float = 2.0


class AppController(QObject):
    changed = Signal()
    message = Signal(str, str, object)  # text, "error" or "info", group
    clearMessages = Signal()  # stale after a new seed or run, except that a device is gone
    seedLoaded = Signal()
    runStarted = Signal(object, int)  # the take, and the sample of it where this run starts
    recordingStarted = Signal(object)  # the Recorder
    analysisChanged = Signal()
    rngSeedShown = Signal(int)  # the random seed of the take shown, for the settings panel
    tick = Signal()

    def __init__(self, app_settings: AppSettings, recordings_dir: Path, takes_dir: Path | None = None, parent=None):
        super().__init__(parent)
        self.app_settings = app_settings
        self.mode = IDLE
        self.audio = AudioBackend(recordings_dir, self)
        self.generation = GenerationController(self)
        self.takes = TakeListModel(TakeStore(takes_dir), self)
        self.bundle: ModelBundle | None = None
        self.model_name = ""
        self.model_loading = False
        self.seed: SeedClip | None = None
        self.region = (0, 0)  # the selected part of the seed, in samples
        self.settings = Settings()
        self.current: Take | None = None  # the selected take
        self.run_take: Take | None = None  # the take being generated
        self._previous: Take | None = None  # the one selected before: the other half of A/B
        self.playing: Take | None = None  # the take now playing (None: the seed, or nothing)
        self.playback = None
        self.play_offset = 0  # sample (of the seed, or of the take's continuation) where the playback's audio starts
        self.run_start = 0  # where in the take the run in progress started
        self.lead_samples = 0  # seed played before it
        self.stats: dict[str, float] = {}  # the last run's figures, for the status bar and measurements
        self.seed_analysis = ""  # tempo and key of the selected region
        self.take_analysis: tuple[Take | None, str] = (None, "")  # and of a take's continuation
        self._jobs: set[CallWorker] = set()
        self._analysed_at = 0.0
        self._timer = QTimer(self, interval=TICK_MS, timeout=self._tick)
        self._prime_timer = QTimer(self, interval=PRIME_DELAY_MS, singleShot=True, timeout=self._prime)
        self.generation.failed.connect(lambda text: self.message.emit(text, "error", None))
        self.generation.note.connect(lambda text: self.message.emit(text[0].upper() + text[1:] + ".", "info", None))
        self.generation.runFinished.connect(self._run_finished)
        self.audio.outputLost.connect(self._output_lost)
        self.audio.inputLost.connect(lambda reason: self.finish_recording(reason))
        self.audio.devicesChanged.connect(self.changed)

    # ------------------------------------------------------------- state
    @property
    def features(self) -> FeatureConfig:
        return self.bundle.features if self.bundle is not None else FeatureConfig()

    def facts(self) -> set[str]:
        facts = set()
        if self.seed is not None:
            facts.add(modes.SEED)
            if self.region[1] - self.region[0] >= self.features.min_seed_samples:
                facts.add(modes.SEED_LONG_ENOUGH)
        if self.bundle is not None and not self.model_loading:
            facts.add(modes.MODEL)
        if self.current is not None and self.current.n_samples:
            facts.add(modes.TAKE)
            if self._previous is not None and self.takes.row_of(self._previous) >= 0:
                facts.add(modes.TWO_TAKES)
        if self.audio.input is not None:
            facts.add(modes.MICROPHONE)
        if self.audio.player is not None:
            facts.add(modes.SPEAKERS)
        return facts

    def enabled(self, command: str) -> bool:
        return modes.enabled(command, self.mode, self.facts())

    def continue_blocker(self) -> str | None:
        """Why Continue is off, when a seed is loaded but it cannot be continued."""
        if self.seed is None or self.mode != IDLE:
            return None
        if self.bundle is None:
            return "Continue is off: no model is loaded" + (" yet" if self.model_loading else "")
        cfg = self.features
        length = self.region[1] - self.region[0]
        if length < cfg.min_seed_samples:
            return (f"Continue is off: the seed is too short ({length / cfg.sample_rate:.2f} s); "
                    f"it must be at least {cfg.min_seed_samples / cfg.sample_rate:.2f} s long")
        return None

    def status(self) -> str:
        rate = self.features.sample_rate
        if self.mode == RECORDING:
            rec = self.audio.recorder
            return f"● Recording {rec.samples_written / rec.sample_rate:.1f} s" if rec and rec.sample_rate else ""
        if self.mode == PLAYING:
            position = (self.play_offset + self.playback.position) / rate if self.playback else 0.0
            if self.playing is None:
                return f"Playing the seed · {position:.1f} s"
            return f"Playing {self.playing.name} · {max(0.0, position):.1f} of {self.playing.kept / rate:.1f} s"
        if self.mode == STREAMING:
            take = self.run_take
            if self.generation.adapting:
                return (f"adapting the model to the seed for {take.settings['adapt_seconds']:.0f} s "
                        "(the first time, after loading TensorFlow)…")
            generated = (take.n_samples - self.run_start) / rate
            text = f"generating {take.name} · {generated:.1f} s"
            if self.playback is not None:
                ahead = generated - (self.playback.position - self.lead_samples) / rate
                text += f" · {max(0.0, ahead):.1f} s ahead · underruns {self.playback.underruns}"
            if "fps" in self.stats:
                text += f" · {self.stats['fps']:.0f} fps"
            return text
        blocker = self.continue_blocker()
        if blocker:
            return blocker
        take = self.current
        if take is None:
            return ""
        text = f"{take.name}: {take.kept / take.sample_rate:.1f} s"
        if take.unheard:
            text += f", and {take.unheard / take.sample_rate:.1f} s generated after Stop (offered on export)"
        return text

    def model_status(self) -> str:
        if self.model_loading:
            return "Model: loading…"
        if self.bundle is None:
            return "No model"
        b = self.bundle
        return f"Model: {b.name} ({b.preset}, {b.features.sample_rate} Hz)"

    def _set_mode(self, mode: Mode) -> None:
        self.mode = mode
        if mode == IDLE:
            self._timer.stop()
        elif not self._timer.isActive():
            self._fps_window = (time.perf_counter(), 0)
            self._ticks = 0
            self._timer.start()
        if mode in (RECORDING, PLAYING):
            self.generation.drop_primer()
        self.changed.emit()

    # ------------------------------------------------------------- models
    def load_model(self, name_or_path: str) -> None:
        """Load in the background; Continue is enabled once it is in."""
        self.model_loading = True
        self.changed.emit()
        self._job(lambda: load_bundle(name_or_path), lambda bundle: self._model_loaded(bundle, name_or_path),
                  self._model_failed)

    def _model_loaded(self, bundle: ModelBundle, name_or_path: str) -> None:
        old_rate = self.features.sample_rate if self.bundle else None
        self.model_loading = False
        self.bundle, self.model_name = bundle, name_or_path
        if self.seed is not None and bundle.features.sample_rate != old_rate:
            self.load_seed(self.seed.path, remember=False)  # resampled to the new rate
        self.audio.set_rate(bundle.features.sample_rate)
        self.changed.emit()
        self.schedule_priming()

    def _model_failed(self, text: str) -> None:
        self.model_loading = False
        self.message.emit(text, "error", None)
        self.changed.emit()

    # --------------------------------------------------------------- seed
    def load_seed(self, path: str | Path, remember: bool = True, then=None) -> bool:
        """Decode and analyse ``path`` in the background; ``seedLoaded`` (or a message) when done.
        False if it cannot start now (something is running)."""
        if self.mode != IDLE:
            return False
        cfg = self.features

        def decode():
            loaded = load_audio(path, cfg.sample_rate, max_seconds=MAX_SEED_SECONDS)
            return loaded, log_power(loaded.samples, cfg)

        def done(result):
            loaded, frames = result
            if self.mode != IDLE:
                return
            self.seed = SeedClip(str(path), loaded.samples, cfg.sample_rate, frames)
            self.region = (0, len(loaded.samples))
            self.clearMessages.emit()
            if loaded.truncated:
                self.message.emit(f"Only the first {MAX_SEED_SECONDS / 60:.0f} minutes of {Path(path).name} "
                                  "are used.", "info", None)
            if remember:
                self.app_settings.add_recent_file(str(path))
            self.seedLoaded.emit()
            self._analyse_seed()
            self.changed.emit()
            self.schedule_priming()
            if then is not None:
                then()

        self._job(decode, done, lambda text: self.message.emit(text, "error", None))
        return True

    def set_region(self, start: int, end: int) -> None:
        if self.seed is None or (start, end) == self.region:
            return
        self.region = (start, end)
        self._analyse_seed()
        self.changed.emit()
        self.schedule_priming()

    def region_samples(self) -> np.ndarray:
        return self.seed.samples[self.region[0]:self.region[1]]

    def region_frames(self) -> np.ndarray:
        """The clip's frames that lie wholly inside the region."""
        cfg, (start, end) = self.features, self.region
        return self.seed.frames[-(-start // cfg.hop):max(0, (end - cfg.n_fft) // cfg.hop + 1)]

    def _analyse_seed(self) -> None:
        samples, cfg = self.region_samples().copy(), self.features
        self._job(lambda: _describe(samples, cfg), lambda text: self._set_analysis(seed=text), lambda _: None)

    def _analyse_take(self, take: Take) -> None:
        samples, seed, cfg = take.continuation().copy(), take.seed, self.features
        self._analysed_at = time.monotonic()
        self._job(lambda: _describe(samples, cfg, seed), lambda text: self._set_analysis(take=(take, text)),
                  lambda _: None)

    def analysis_text(self) -> str:
        """The readout: the selected seed's tempo and key, and the selected take's."""
        take, text = self.take_analysis
        parts = [f"Seed: {self.seed_analysis}" if self.seed_analysis else "",
                 f"{take.name}: {text}" if text and take is self.current else ""]
        return "    ".join(p for p in parts if p)

    def _set_analysis(self, seed: str | None = None, take: tuple | None = None) -> None:
        self.seed_analysis = self.seed_analysis if seed is None else seed
        self.take_analysis = self.take_analysis if take is None else take
        self.analysisChanged.emit()

    # --------------------------------------------------------- generation
    def set_settings(self, settings: Settings) -> None:
        temperature_changed = settings.temperature != self.settings.temperature
        self.settings = settings
        if temperature_changed and self.mode == STREAMING:
            self.generation.set_temperature(settings.temperature)
        self.schedule_priming()

    def _params(self, rng_seed: int) -> ContinuationParams:
        s = self.settings
        return ContinuationParams(seconds=s.seconds, temperature=s.temperature, rng_seed=rng_seed, anchor=s.anchor,
                                  adapt_seconds=s.adapt_seconds, follow=s.follow)

    def _request(self, context: np.ndarray, key: tuple) -> RunRequest:
        """The run for ``context`` with the current settings; a primed one if it was made from the same."""
        s = self.settings
        key = (id(self.bundle), key, dataclasses.replace(self._params(0), rng_seed=s.rng_seed if s.fixed_seed else None))
        primed = self.generation.primed_request(key)
        if primed is not None:
            return primed
        return RunRequest(self.bundle, context, self._params(s.rng_seed if s.fixed_seed else random.randrange(2**31)),
                          key)

    def _seed_key(self) -> tuple:
        return ("seed", self.seed.path, len(self.seed.samples), self.region)

    def schedule_priming(self) -> None:
        """Anything the next continuation depends on changed: prime it again once the user pauses."""
        self._prime_timer.start()

    def _prime(self) -> None:
        if self.mode == IDLE and self.enabled("continue") and not self.settings.adapt_seconds:
            self.generation.prime(self._request(self.region_samples(), self._seed_key()))

    def continue_seed(self) -> None:
        """A new take from the selected region."""
        if not self.enabled("continue"):
            return
        context = self.region_samples()
        rate = self.features.sample_rate
        take = Take(rate, context.copy(), {}, self.model_name, self.seed.path,
                    (self.region[0] / rate, self.region[1] / rate))
        self._start_run(self._request(context, self._seed_key()), take, lead=context)

    def regenerate(self) -> None:
        """A new take from the selected take's seed, with the current settings."""
        if not self.enabled("regenerate"):
            return
        old = self.current
        take = Take(old.sample_rate, old.seed, {}, self.model_name, old.source, old.region_s)
        self._start_run(self._request(old.seed, ("take", old.ident)), take, lead=old.seed)

    def extend(self) -> None:
        """A new take: the selected one as heard, continued from its end."""
        if not self.enabled("extend"):
            return
        old = self.current
        heard = old.continuation()
        take = Take(old.sample_rate, old.seed, {}, self.model_name, old.source, old.region_s, parent=old.ident,
                    continuation_samples=heard.copy())
        frames = old.frames()[:len(heard) // self.features.hop]
        if frames.shape[1] == self.features.n_bins:  # shown before the seam (a take read from disk has none)
            take.reserve(0, len(frames), frames.shape[1])
            take.append(np.zeros(0, np.float32), frames)
        context = np.concatenate([old.seed, heard])[-int(EXTEND_CONTEXT_SECONDS * old.sample_rate):]
        self._start_run(self._request(context, ("extend", old.ident, old.kept)), take, lead=context)

    def _start_run(self, request: RunRequest, take: Take, lead: np.ndarray) -> None:
        pressed = time.perf_counter()
        self._prime_timer.stop()
        primed = self.generation.primed_request(request.key) is request
        take.settings = {"seconds": request.params.seconds, "temperature": request.params.temperature,
                         "rng_seed": request.params.rng_seed, "anchor": request.params.anchor,
                         "adapt_seconds": request.params.adapt_seconds, "follow": request.params.follow}
        cfg = self.features
        self.run_start = take.n_samples
        total = int(round(request.params.seconds * cfg.sample_rate))
        take.reserve(total, total // cfg.hop + 16, cfg.n_bins)
        playback = None
        lead = lead[max(0, len(lead) - int(self.settings.lead_in * cfg.sample_rate)):]
        if self.audio.player is not None:
            try:
                playback = self.audio.play(cfg.sample_rate)
            except MusicgenError as exc:
                self.message.emit(str(exc), "error", None)
        self.playback, self.playing = playback, None
        self.lead_samples = len(lead)
        self.run_take = take
        self.generation.start(request, Go(take, playback, lead))
        self.stats = {"pressed": pressed, "primed": primed}
        self.clearMessages.emit()
        self.takes.add(take)
        self.select(take)
        self._analysed_at = time.monotonic()
        self._set_mode(STREAMING)
        self.runStarted.emit(take, self.run_start)

    def _run_finished(self) -> None:
        if self.mode == STREAMING and self.playback is None:
            self._end_run()  # nothing to play out

    def _end_run(self, heard: int | None = None) -> None:
        take, self.run_take = self.run_take, None
        playback, self.playback = self.playback, None
        if playback is not None:
            self.stats.update(underruns=playback.underruns, xruns=playback.xruns)
            playback.stop()
        take.heard = heard
        if take.n_samples == 0:  # stopped before anything was generated: nothing to keep
            self._set_mode(IDLE)
            self.takes.delete(self.takes.row_of(take), undoable=False)
            self.select(self._previous if self.current is take else self.current)
            return
        self.takes.changed(take)
        store = self.takes.store  # written in the background: a long take is tens of MB
        self._job(lambda: store.save(take), lambda _: None,
                  lambda text: self.message.emit(f"{take.name} is not saved: {text}", "error", None))
        self._analyse_take(take)
        self._set_mode(IDLE)
        self.schedule_priming()

    # ----------------------------------------------------------- stopping
    def stop(self) -> None:
        """Stop whatever runs, at once: a stopped take ends where the listener stopped hearing it."""
        if self.mode == RECORDING:
            self.finish_recording()
        elif self.mode == STREAMING:
            self.generation.abort()
            heard = None
            if self.playback is not None:
                heard = self.run_start + max(0, self.playback.position - self.lead_samples)
            self._end_run(heard)
        elif self.mode == PLAYING:
            self.playback.stop()
            self.playback = self.playing = None
            self._set_mode(IDLE)

    def close(self) -> None:
        """Stop everything and wait for the threads (the window is closing)."""
        if self.mode != IDLE:
            self.stop()
        self._prime_timer.stop()
        self._prime_timer.timeout.disconnect()
        self.generation.wait_all()
        for job in list(self._jobs):
            job.wait()
        self.audio.close()
        self.takes.store.purge_deleted()

    # -------------------------------------------------------------- takes
    def select(self, take: Take | None) -> None:
        if take is self.current:
            return
        if self.current is not None:
            self._previous = self.current
        self.current = take
        if take is not None and not self.settings.fixed_seed:
            self.rngSeedShown.emit(int(take.settings["rng_seed"]))  # "Fixed" then reproduces it
        if take is not None and self.mode == IDLE:
            self._analyse_take(take)
        self.changed.emit()

    def load_takes(self) -> None:
        """The takes saved by earlier runs, read in the background."""
        self._job(self.takes.store.load_all, self._takes_loaded, lambda text: self.message.emit(text, "error", None))

    def _takes_loaded(self, result) -> None:
        saved, problems = result
        self.takes.set_all(saved + self.takes.takes())
        if problems:
            self.message.emit("Some saved takes could not be read: " + "; ".join(problems), "error", None)
        self.changed.emit()

    def delete_take(self) -> None:
        if not self.enabled("delete_take"):
            return
        row = self.takes.row_of(self.current)
        self.takes.delete(row)
        self.current = None
        self.select(self.takes.take(min(row, self.takes.rowCount() - 1)))
        self._show_take_errors()
        self.message.emit("Take deleted. Edit ▸ Undo (Ctrl+Z) brings it back.", "info", None)
        self.changed.emit()

    def undo_delete(self) -> None:
        if self.takes.can_undo:
            self.select(self.takes.take(self.takes.undo_delete()))
            self._show_take_errors()

    def _show_take_errors(self) -> None:
        while self.takes.errors:
            self.message.emit(self.takes.errors.pop(0), "error", None)

    # ----------------------------------------------------------- playback
    def toggle_seed_playback(self) -> None:
        if self.mode == PLAYING:
            self.stop()
        elif self.enabled("play_seed"):
            self._play(None, self.region_samples(), self.region[0])

    def play_take(self, take: Take | None = None, start: int = 0) -> None:
        """Play a take from ``start`` (a sample of its continuation; the lead-in before it at 0)."""
        take = take or self.current
        if take is None or not self.enabled("play_take"):
            return
        audio = take.audio(with_seed=True)
        lead = min(len(take.seed), int(self.settings.lead_in * take.sample_rate)) if start == 0 else 0
        begin = len(take.seed) + start - lead
        self._play(take, audio[begin:], start - lead)

    def compare(self) -> None:
        """A/B: switch to the other of the last two takes selected, at the same point of the continuation."""
        if not self.enabled("compare"):
            return
        position = 0
        if self.mode == PLAYING and self.playing is not None:
            position = max(0, self.play_offset + self.playback.position)
        other = self._previous if self.playing is self.current else self.current
        self.play_take(other, start=min(position, other.kept))

    def _play(self, take: Take | None, audio: np.ndarray, offset: int) -> None:
        try:
            playback = self.audio.play(take.sample_rate if take is not None else self.seed.sample_rate)
        except MusicgenError as exc:
            self.message.emit(str(exc), "error", None)
            return
        self.playback, self.playing, self.play_offset = playback, take, offset
        # Fed from a thread: a long take does not fit the ring at once.
        self._job(lambda: playback.write(audio) and playback.finish(), lambda _: None,
                  lambda text: self.message.emit(text, "error", None))
        self._set_mode(PLAYING)

    def _output_lost(self, reason: str) -> None:
        playing = self.mode in (PLAYING, STREAMING)
        if playing:
            self.stop()
            self.message.emit(f"Playback stopped: {reason}. Anything generated is kept; press ↻ in the settings "
                              "to look for devices again.", "error", DEVICE_LOST)
        else:
            self.message.emit(f"Playback is off: {reason}. Press ↻ in the settings to look for devices again.",
                              "error", DEVICE_LOST)
        self.changed.emit()

    # ---------------------------------------------------------- recording
    def toggle_recording(self) -> None:
        if self.mode == RECORDING:
            self.stop()
        elif self.enabled("record") and self.mode == IDLE:
            try:
                recorder = self.audio.start_recording()
            except MusicgenError as exc:
                self.message.emit(str(exc), "error", None)
                self.changed.emit()
                return
            self._set_mode(RECORDING)
            self.recordingStarted.emit(recorder)

    def finish_recording(self, lost: str | None = None) -> None:
        """Stop recording and make it the seed; ``lost``: why the microphone stopped on its own."""
        if self.mode != RECORDING:
            return
        recorder = self.audio.stop_recording(lost=lost is not None)
        self._set_mode(IDLE)
        path = recorder.path
        if path is None:
            self.message.emit(f"Recording stopped: {lost}. Nothing was recorded." if lost else
                              "Nothing was recorded.", "error", DEVICE_LOST if lost else None)
            return
        seconds = recorder.samples_written / recorder.sample_rate

        def loaded():
            if lost is not None:
                self.message.emit(f"Recording stopped: {lost}. The {seconds:.1f} s recorded so far are the seed "
                                  f"(saved as {path}).", "error", DEVICE_LOST)
            elif recorder.error:
                self.message.emit(recorder.error, "error", None)
            elif recorder.overflows or recorder.dropped:
                self.message.emit("The recording has short gaps: the computer was too busy.", "info", None)
            else:
                self.message.emit(f"Recorded {seconds:.1f} s to {path}", "info", None)

        self.load_seed(path, then=loaded)

    def recover_recording(self, path: Path) -> None:
        if self.mode != IDLE:
            return
        try:
            finished = recordings.recover(path)
        except MusicgenError as exc:
            self.message.emit(str(exc), "error", None)
            return
        self.load_seed(finished, then=lambda: self.message.emit(
            f"Recovered the interrupted recording as the seed (saved as {finished}).", "info", None))

    # -------------------------------------------------------------- export
    def export(self, take: Take, path: str, with_seed: bool, bits: str, unheard: bool = False) -> None:
        """Write the take in the background (atomically, by write_wav); says what was written."""
        audio = take.audio(with_seed, unheard)
        rate, seed_s = take.sample_rate, len(take.seed) / take.sample_rate

        def write():
            written = write_wav(path, audio, rate, bits)
            return written, sf.info(written).frames / rate

        def done(result):
            written, seconds = result
            parts = f"seed {seed_s:.2f} s + continuation {seconds - seed_s:.2f} s" if with_seed else "continuation"
            self.message.emit(f"Exported {seconds:.2f} s ({parts}) of {take.name} to {written}", "info", None)

        self._job(write, done, lambda text: self.message.emit(text, "error", None))

    # ---------------------------------------------------------------- jobs
    def _job(self, fn, on_done, on_failed) -> CallWorker:
        job = CallWorker(fn)
        job.done.connect(on_done)
        job.failed.connect(on_failed)
        job.finished.connect(self._job_finished)
        self._jobs.add(job)
        job.start()
        return job

    def _job_finished(self) -> None:
        job = self.sender()
        job.wait()
        self._jobs.discard(job)

    @property
    def busy(self) -> bool:
        """Background jobs (loading, exporting, analysing) are running."""
        return bool(self._jobs)

    # ---------------------------------------------------------------- tick
    def _tick(self) -> None:
        if self.mode == RECORDING:
            recorder = self.audio.recorder
            if recorder is not None and recorder.error:
                self.finish_recording()
        elif self.mode == PLAYING:
            if self.playback.finished:
                self.stop()
        elif self.mode == STREAMING:
            playback = self.playback
            if playback is not None and "first_sound" not in self.stats and playback.first_sound_time is not None:
                self.stats["first_sound"] = playback.first_sound_time - self.stats["pressed"]
            if time.monotonic() - self._analysed_at > ANALYSE_EVERY_S:
                self._analyse_take(self.run_take)
                take, store = self.run_take, self.takes.store  # so far, in case the app dies before the end
                self._job(lambda: store.save(take, final=False), lambda _: None,
                          lambda text: self.message.emit(f"{take.name} is not saved: {text}", "error", None))
            self.takes.changed(self.run_take)  # its length in the list grows
            if not self.generation.running and playback is not None and playback.finished:
                self._end_run()
                return
        now = time.perf_counter()
        self._ticks += 1
        start, ticks = self._fps_window
        if now - start >= 1.0:
            self.stats["fps"] = (self._ticks - ticks) / (now - start)
            self._fps_window = (now, self._ticks)
        self.tick.emit()


def _describe(samples: np.ndarray, cfg: FeatureConfig, seed: np.ndarray | None = None) -> str:
    """The readout of a clip; of a continuation, read as continuing its seed (analysis.analyse's like)."""
    if len(samples) < cfg.n_fft:
        return ""
    result = analyse(samples, cfg, like=analyse(seed, cfg) if seed is not None and len(seed) else None)
    return "silent" if result.silent else result.describe()
