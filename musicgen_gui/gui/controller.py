"""The app's state, split by job: the AppController holds the mode, the model and the settings, and
three parts do the work, each saying what changed through its own signals:

- ``seed`` (seed.py): loading or recording the seed, its region, its tempo and key;
- ``run`` (run.py): Continue, Extend and Regenerate, streaming each new take;
- ``takes`` (playback.py): the take list and its selection, playback, A/B, export.

Every change of what can be done emits ``changed``; the window then asks
``enabled()``, ``status()`` and the rest. Devices are the AudioBackend's; slow
work (decoding, loading a model, analysing, exporting) runs as background jobs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from ..audio.backend import AudioBackend
from ..core.bundle import ModelBundle, load_bundle
from ..core.features import FeatureConfig
from ..core.params import ContinuationParams
from . import mode as modes
from .mode import IDLE, PLAYING, RECORDING, STREAMING, Mode
from .playback import TakesController
from .run import RunController
from .seed import DEVICE_LOST, SeedController
from .settings import AppSettings
from .takes import TakeStore
from .workers import Jobs

TICK_MS = 35  # redraws at up to 28 fps; painting holds the GIL, which generation needs too

__all__ = ["AppController", "DEVICE_LOST"]


class AppController(QObject):
    changed = Signal()
    message = Signal(str, str, object)  # text, "error" or "info", group
    clearMessages = Signal()  # stale after a new seed or run, except that a device is gone
    analysisChanged = Signal(str)  # the readout: the seed's tempo and key, and the selected take's
    rngSeedShown = Signal(int)  # the random seed of the take shown, for the settings panel
    modelChanged = Signal(str)  # a model load ended: the model now in use ("" if none)
    devicesBack = Signal(str)  # every device that went away is found again: the "device lost" messages are stale
    tick = Signal()

    def __init__(self, app_settings: AppSettings, recordings_dir: Path, takes_dir: Path | None = None, parent=None):
        super().__init__(parent)
        self.app_settings = app_settings
        self.mode = IDLE
        self.audio = AudioBackend(recordings_dir, self)
        self.jobs = Jobs(self)
        self.bundle: ModelBundle | None = None
        self.model_name = ""
        self.model_loading = False
        self.params = ContinuationParams()  # rng_seed None: a new random seed for each run
        self.lead_in = 2.0  # seconds of seed played before a continuation
        # when_drawn(fn): fn once the window has drawn what was just shown (the main window's; here, soon)
        self.when_drawn: Callable[[Callable[[], None]], None] = lambda fn: QTimer.singleShot(0, self, fn)
        self._lost: set[str] = set()  # "speakers", "microphone": went away, not found again yet
        self.starting = True  # until start(): the devices, the saved takes and the model wait for the first paint
        self.seed = SeedController(self)
        self.takes = TakesController(TakeStore(takes_dir), self)
        self.run = RunController(self)
        self._timer = QTimer(self, interval=TICK_MS, timeout=self._tick)
        self._fps_window = (0.0, 0)
        self._ticks = 0
        self.seed.analysed.connect(self._show_analysis)
        self.seed.recordingStarted.connect(self._show_analysis)
        self.takes.analysed.connect(self._show_analysis)
        self.takes.selected.connect(self._take_selected)
        self.audio.outputLost.connect(self._output_lost)
        self.audio.inputLost.connect(self._input_lost)
        self.audio.devicesChanged.connect(self._devices_changed)
        self.audio.underflow.connect(self.changed)  # the audio status counts the dropouts

    # ---------------------------------------------------------- messages
    def error(self, text: str, group: str | None = None) -> None:
        self.message.emit(text, "error", group)

    def info(self, text: str) -> None:
        self.message.emit(text, "info", None)

    # ------------------------------------------------------------- state
    @property
    def features(self) -> FeatureConfig:
        return self.bundle.features if self.bundle is not None else FeatureConfig()

    @property
    def busy(self) -> bool:
        """Background jobs (loading, exporting, analysing) are running, or about to."""
        return self.starting or self.jobs.busy or self.seed.pending

    def facts(self) -> set[str]:
        facts = set()
        if self.seed.clip is not None:
            facts.add(modes.SEED)
            if self.seed.blocker() is None:
                facts.add(modes.SEED_LONG_ENOUGH)
        if not self.model_loading:
            facts.add(modes.MODEL_SETTLED)
            if self.bundle is not None:
                facts.add(modes.MODEL)
        current = self.takes.current
        if current is not None and current.n_samples:
            facts.add(modes.TAKE)
            if self.takes.other() is not None:
                facts.add(modes.TWO_TAKES)
        if self.takes.model.can_undo:
            facts.add(modes.DELETED_TAKE)
        if self.audio.input is not None:
            facts.add(modes.MICROPHONE)
        if self.audio.player is not None:
            facts.add(modes.SPEAKERS)
        return facts

    def enabled(self, command: str) -> bool:
        return modes.enabled(command, self.mode, self.facts())

    def continue_blocker(self) -> str | None:
        """Why Continue is off, when a seed is loaded but it cannot be continued."""
        if self.seed.clip is None or self.mode != IDLE:
            return None
        if self.bundle is None:
            return "Continue is off: no model is loaded" + (" yet" if self.model_loading or self.starting else "")
        blocker = self.seed.blocker()
        return f"Continue is off: {blocker}" if blocker else None

    def status(self) -> str:
        if self.mode == RECORDING:
            return self.seed.status()
        if self.mode == PLAYING:
            return self.takes.status()
        if self.mode == STREAMING:
            return self.run.status()
        blocker = self.continue_blocker()
        if blocker:
            return blocker
        take = self.takes.current
        if take is None:
            return ""
        text = f"{take.name}: {take.kept / take.sample_rate:.1f} s"
        if take.unheard:
            text += f", and {take.unheard / take.sample_rate:.1f} s generated after Stop (offered on export)"
        return text

    def model_status(self) -> str:
        if self.model_loading or self.starting:
            return "Model: loading…"
        if self.bundle is None:
            return "No model"
        b = self.bundle
        return f"Model: {b.name} ({b.preset}, {b.features.sample_rate} Hz)"

    def analysis_text(self) -> str:
        """The readout: the selected seed's tempo and key, and the selected take's (nothing while
        recording: the seed may be about to change)."""
        if self.mode == RECORDING:
            return ""
        take, text = self.takes.analysis
        parts = [f"Seed: {self.seed.analysis}" if self.seed.analysis else "",
                 f"{take.name}: {text}" if text and take is self.takes.current else ""]
        return "    ".join(p for p in parts if p)

    def _show_analysis(self, *_) -> None:
        self.analysisChanged.emit(self.analysis_text())

    def set_mode(self, mode: Mode) -> None:
        self.mode = mode
        if mode == IDLE:
            self._timer.stop()
        elif not self._timer.isActive():
            self._fps_window = (time.perf_counter(), 0)
            self._ticks = 0
            self._timer.start()
        if mode in (RECORDING, PLAYING):
            self.run.generation.drop_primer()
        self.changed.emit()

    def seed_changed(self) -> None:
        """The seed or its region changed: what is enabled, and the primed continuation."""
        self.changed.emit()
        self.run.schedule_priming()

    def start(self) -> None:
        """The window is on screen, with the seed it was opened with: now the sound devices (PortAudio,
        and the speaker's own process) and the saved takes, which the first paint did not need."""
        self.starting = False
        self.audio.choose(self.app_settings.input_device, self.app_settings.output_device)
        self.takes.load_saved()

    # ------------------------------------------------------------ models
    def load_model(self, name_or_path: str) -> None:
        """Load in the background; Continue is enabled once it is in."""
        self.model_loading = True
        self.changed.emit()
        self.jobs.run(lambda: load_bundle(name_or_path), lambda bundle: self._model_loaded(bundle, name_or_path),
                      self._model_failed)

    def _model_loaded(self, bundle: ModelBundle, name_or_path: str) -> None:
        self.model_loading = False
        self.bundle, self.model_name = bundle, name_or_path
        self.seed.reload()  # decoded again if the model's features differ from those it was decoded with
        self.audio.set_rate(bundle.features.sample_rate)
        self.changed.emit()
        self.modelChanged.emit(name_or_path)
        self.run.schedule_priming()

    def _model_failed(self, text: str) -> None:
        self.model_loading = False
        self.error(text)
        self.changed.emit()
        self.modelChanged.emit(self.model_name)

    # ---------------------------------------------------------- settings
    def set_settings(self, params: ContinuationParams, lead_in: float) -> None:
        """What the settings panel says (``params.rng_seed`` None: a new random seed for each run)."""
        if params.temperature != self.params.temperature:
            self.run.set_temperature(params.temperature)
        if params.follow != self.params.follow:
            self.run.set_follow(params.follow)
        self.params, self.lead_in = params, lead_in
        self.run.schedule_priming()

    def _take_selected(self, take) -> None:
        if take is not None and self.params.rng_seed is None:
            self.rngSeedShown.emit(int(take.params.rng_seed))  # "Fixed" then reproduces it
        self._show_analysis()

    # ----------------------------------------------------------- stopping
    def stop(self) -> None:
        """Esc: stop whatever runs, at once. A stopped take ends where the listener stopped hearing it; a
        recording is cancelled (kept on disk, not made the seed)."""
        if self.mode == RECORDING:
            self.seed.cancel_recording()
        elif self.mode == STREAMING:
            self.run.stop()
        elif self.mode == PLAYING:
            self.takes.stop()

    def close(self) -> None:
        """Stop everything and wait for the threads (the window is closing)."""
        self.stop()
        self.run.close()
        self.jobs.close()
        self.audio.close()
        self.takes.model.store.purge_deleted()

    def _input_lost(self, reason: str) -> None:
        self._lost.add("microphone")
        self.seed.finish_recording(reason)

    def _output_lost(self, reason: str) -> None:
        self._lost.add("speakers")
        if self.mode in (PLAYING, STREAMING):
            self.stop()
            self.error(f"Playback stopped: {reason}. Anything generated is kept; press ↻ in the settings "
                       "to look for devices again.", DEVICE_LOST)
        else:
            self.error(f"Playback is off: {reason}. Press ↻ in the settings to look for devices again.",
                       DEVICE_LOST)
        self.changed.emit()

    def _devices_changed(self) -> None:
        found = {"speakers": self.audio.player is not None, "microphone": self.audio.input is not None}
        back = sorted(name for name in self._lost if found[name])
        self._lost -= set(back)
        if back and not self._lost:
            self.devicesBack.emit(f"{' and '.join(back).capitalize()} found again. {self.audio.status()}.")
        self.changed.emit()

    # -------------------------------------------------------------- tick
    def _tick(self) -> None:
        mode = self.mode
        {RECORDING: self.seed.tick, PLAYING: self.takes.tick, STREAMING: self.run.tick}.get(mode, lambda: None)()
        if self.mode != mode:
            return
        now = time.perf_counter()
        self._ticks += 1
        start, ticks = self._fps_window
        if now - start >= 1.0:
            self.run.stats["fps"] = (self._ticks - ticks) / (now - start)
            self._fps_window = (now, self._ticks)
        self.tick.emit()
