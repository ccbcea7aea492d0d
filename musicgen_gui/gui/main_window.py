"""The main window: seed in (record, open, drop), continue with live playback, export.

The window only wires the core to widgets. Generation runs in a
ContinuationWorker (QThread) over the same ContinuationSession the CLI uses;
audio goes through the device-side Player (its callback in a process of its
own) and Recorder; one QTimer drains everything the other threads publish and
redraws.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QApplication, QDockWidget, QFileDialog, QHBoxLayout, QLabel, QMainWindow, QMenu,
                               QProgressDialog, QSplitter, QVBoxLayout, QWidget)

from ..core.audio_io import AUDIO_EXTENSIONS, load_audio, write_wav
from ..core.bundle import DEFAULT_MODEL, EXTENSION, ModelBundle, bundled_model_names, load_bundle
from ..core.errors import MusicgenError
from ..core.features import FeatureConfig, log_power
from ..core.session import MAX_SEED_SECONDS, ContinuationParams, ContinuationSession
from ..audio import devices
from ..audio.player import Playback, Player
from ..audio import recorder as recordings
from ..audio.recorder import Recorder
from .dialogs import ExportDialog, TrainingDialog, user_models_dir
from .message_bar import MessageBar
from .settings import AppSettings
from .settings_panel import LOAD_FROM_DISK, SettingsPanel
from .take import Take
from .views import LevelMeter, SpectrogramView, WaveformView
from .workers import CallWorker, ContinuationWorker, PrimingWorker

DEVICE_CHECK_MS = 500  # how often a speaker that went away is looked for, whatever the app is doing
TICK_MS = 35  # the GUI timer: redraws at up to 28 fps; painting holds the GIL, which generation needs too
SEED_VIEW_SECONDS = 10.0  # seed shown on the spectrogram before the seam
STREAM_VIEW_SECONDS = 30.0  # the spectrogram scrolls past this while streaming
EXTEND_CONTEXT_SECONDS = 30.0  # the end of the take an extension is seeded with
LIVE_VIEW_SECONDS = 8.0  # the scrolling spectrogram while recording
PRIME_DELAY_MS = 300  # settle time after a settings change before the next continuation is primed
PRIME_SECONDS = 0.5  # audio generated ahead of the user pressing Continue
DEVICE_LOST = "device lost"  # the message group of a microphone or speaker that went away
AUDIO_FILTER = "Audio files ({})".format(" ".join(f"*{e}" for e in AUDIO_EXTENSIONS))

IDLE, RECORDING, PLAYING, STREAMING = "idle", "recording", "playing", "streaming"


@dataclass
class SeedClip:
    path: str
    samples: np.ndarray  # mono float32 at the model's rate
    sample_rate: int


class MainWindow(QMainWindow):
    def __init__(self, settings: AppSettings | None = None, recordings_dir: Path | None = None):
        super().__init__()
        self.settings = settings or AppSettings()
        self.recordings_dir = Path(recordings_dir) if recordings_dir is not None else recordings.recordings_dir()
        self.bundle: ModelBundle | None = None
        self.seed: SeedClip | None = None
        self.take: Take | None = None
        self.mode = IDLE
        self.stats: dict[str, float] = {}  # figures of the last run, for the status bar and measurements
        self._worker: ContinuationWorker | None = None
        self._jobs: set = set()  # running CallWorkers, kept alive until they finish
        self._player: Player | None = None
        self._playback: Playback | None = None  # the seed, or the lead-in and continuation, now playing
        self._recorder: Recorder | None = None
        self._play_origin = 0  # timeline sample (0 = seam) where the current playback started
        self._drawn_frames = 0
        self._ticks = 0  # timer ticks, for the redraw rate
        self._fps_window = (time.perf_counter(), 0)
        self._model_loading = False
        self._training: TrainingDialog | None = None
        self._primer: PrimingWorker | None = None

        self.setWindowTitle("musicgen")
        self.setAcceptDrops(True)
        self._build_ui()
        self._build_actions()
        self._timer = QTimer(self, interval=TICK_MS, timeout=self._tick)
        self._prime_timer = QTimer(self, interval=PRIME_DELAY_MS, singleShot=True, timeout=self._prime)
        self._device_timer = QTimer(self, interval=DEVICE_CHECK_MS, timeout=self._check_output)
        self._restore_settings()
        self._scan_devices()
        self._populate_models()
        self._set_mode(IDLE)
        self._device_timer.start()
        recordings.prune(self.recordings_dir, in_use=self.settings.recent_files)
        self.offer_recovery()

    # ------------------------------------------------------------------ UI
    def _build_ui(self) -> None:
        self.message_bar = MessageBar()
        self.waveform = WaveformView()
        self.waveform.regionChanged.connect(self._show_seed_spectrogram)
        self.waveform.regionChanged.connect(self._schedule_priming)
        self.spectrogram = SpectrogramView()
        self.level_meter = LevelMeter()
        self.level_meter.hide()
        lower = QWidget()
        row = QHBoxLayout(lower)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.spectrogram, 1)
        row.addWidget(self.level_meter)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.waveform)
        splitter.addWidget(lower)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 2)
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(4, 4, 4, 4)
        column.addWidget(self.message_bar)
        column.addWidget(splitter, 1)
        self.setCentralWidget(central)

        self.panel = SettingsPanel()
        self.panel.model.activated.connect(self._model_picked)
        self.panel.temperature.valueChanged.connect(self._temperature_changed)
        for signal in (self.panel.temperature.valueChanged, self.panel.seconds.valueChanged,
                       self.panel.fixed_seed.toggled, self.panel.rng_seed.valueChanged, self.panel.anchor.toggled,
                       self.panel.adapt.toggled, self.panel.adapt_seconds.valueChanged):
            signal.connect(self._schedule_priming)
        self.panel.input_device.activated.connect(self._devices_picked)
        self.panel.output_device.activated.connect(self._devices_picked)
        self.panel.refresh_devices.clicked.connect(self._rescan_devices)
        dock = QDockWidget("Settings")
        dock.setObjectName("settings-dock")
        dock.setWidget(self.panel)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)

        self.audio_status = QLabel()
        self.stream_status = QLabel()
        self.stream_status.setContentsMargins(0, 0, 16, 0)
        self.statusBar().addPermanentWidget(self.stream_status)
        self.statusBar().addPermanentWidget(self.audio_status)

    def _action(self, text: str, shortcut, slot, tip: str) -> QAction:
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(s) for s in (shortcut if isinstance(shortcut, list) else [shortcut])])
        action.setToolTip(f"{tip} ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})")
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        a = self._action
        self.open_action = a("Open…", QKeySequence.StandardKey.Open, self.open_file_dialog, "Load a seed from a file")
        self.record_action = a("Record", "R", self.toggle_recording, "Record a seed from the microphone")
        self.record_action.setCheckable(True)
        self.play_action = a("Play seed", "Space", self.toggle_seed_playback, "Play the selected part of the seed")
        self.continue_action = a("Continue", ["Ctrl+Return", "Ctrl+Enter"], self.continue_seed,
                                 "Continue the seed and play it as it is generated")
        self.stop_action = a("Stop", "Esc", self.stop, "Stop generating, playing or recording")
        self.extend_action = a("Extend", "Ctrl+Shift+Return", self.extend, "Continue from the end of the take")
        self.regenerate_action = a("Regenerate", "Ctrl+Shift+R", self.continue_seed,
                                   "Throw the continuation away and generate it again")
        self.export_action = a("Export…", "Ctrl+E", self.export_dialog, "Write the take to a WAV file")
        self.train_action = a("Train a model…", "Ctrl+T", self.open_training, "Train a model on folders of music")
        self.load_model_action = a("Load model…", "Ctrl+M", self.load_model_dialog, "Load a model file from disk")
        quit_action = a("Quit", QKeySequence.StandardKey.Quit, self.close, "Quit")

        toolbar = self.addToolBar("Transport")
        toolbar.setObjectName("transport")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for action in (self.open_action, self.record_action, self.play_action, None, self.continue_action,
                       self.stop_action, self.extend_action, self.regenerate_action, None, self.export_action):
            toolbar.addSeparator() if action is None else toolbar.addAction(action)

        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self.open_action)
        self.recent_menu = QMenu("Open recent", self)
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addMenu(self.recent_menu)
        file_menu.addAction(self.export_action)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        transport = self.menuBar().addMenu("&Transport")
        for action in (self.record_action, self.play_action, self.continue_action, self.stop_action,
                       self.extend_action, self.regenerate_action):
            transport.addAction(action)
        model_menu = self.menuBar().addMenu("&Model")
        model_menu.addAction(self.load_model_action)
        model_menu.addAction(self.train_action)

    def _set_mode(self, mode: str) -> None:
        self.mode = mode
        idle = mode == IDLE
        has_seed = self.seed is not None
        has_take = self.take is not None and self.take.n_samples > 0
        can_generate = idle and has_seed and self.bundle is not None
        self.open_action.setEnabled(idle)
        self.record_action.setEnabled(self._input is not None and mode in (IDLE, RECORDING))
        self.record_action.setChecked(mode == RECORDING)
        self.play_action.setEnabled(self._output is not None and has_seed and mode in (IDLE, PLAYING))
        self.continue_action.setEnabled(can_generate)
        self.regenerate_action.setEnabled(can_generate and has_take)
        self.extend_action.setEnabled(can_generate and has_take)
        self.stop_action.setEnabled(not idle)
        self.export_action.setEnabled(idle and has_take)
        self.panel.model.setEnabled(idle and not self._model_loading)
        for widget in (self.panel.input_device, self.panel.output_device, self.panel.refresh_devices):
            widget.setEnabled(idle)
        self.level_meter.setVisible(mode == RECORDING)
        if mode in (RECORDING, PLAYING):
            self._drop_primer()
        if idle:
            self._timer.stop()
        elif not self._timer.isActive():
            self._fps_window = (time.perf_counter(), self._ticks)
            self._timer.start()

    def show_error(self, text: str, group: str | None = None) -> None:
        self.message_bar.show_message(text, "error", group=group)

    def show_info(self, text: str) -> None:
        self.message_bar.show_message(text, "info")

    def _clear_stale_messages(self) -> None:
        """A new seed or run makes the messages shown stale, except about a device that is still gone."""
        if self.message_bar.group != DEVICE_LOST:
            self.message_bar.hide()

    # ------------------------------------------------------------- devices
    def _scan_devices(self) -> None:
        """Fill the device pickers, keeping the saved choices, and say what is missing."""
        for box, kind, saved in ((self.panel.input_device, devices.INPUT, self.settings.input_device),
                                 (self.panel.output_device, devices.OUTPUT, self.settings.output_device)):
            box.clear()
            found = devices.list_devices(kind)
            for d in found:
                box.addItem(d.label, d.name)
            chosen = devices.find_device(kind, saved)
            if chosen is not None:
                box.setCurrentIndex(box.findData(chosen.name))
            else:
                box.addItem("none found")
        self._devices_picked()

    def _rescan_devices(self) -> None:
        devices.rescan()
        self._scan_devices()

    def _devices_picked(self, *_) -> None:
        self._input = devices.find_device(devices.INPUT, self.panel.input_device.currentData())
        self._output = devices.find_device(devices.OUTPUT, self.panel.output_device.currentData())
        if self._player is None or self._player.device != self._output:
            if self._player is not None:
                self._player.close()
            self._player = Player(self._output) if self._output is not None else None
            self._open_output()
        self._show_audio_status()
        if self._input is not None:
            self.settings.input_device = self._input.name
        if self._output is not None:
            self.settings.output_device = self._output.name
        self._set_mode(self.mode)

    def _show_audio_status(self) -> None:
        if self._input is None and self._output is None:
            text = "No audio device: recording and playback are off"
        elif self._input is None:
            text = "No microphone: recording is off"
        elif self._output is None:
            text = "No speakers: playback is off"
        else:
            text = f"Audio: {self._output.label}"
        self.audio_status.setText(text)

    def _check_output(self) -> None:
        """A speaker that went away (or hung) stops what plays, with a message; the take is kept."""
        lost = self._player.lost_reason() if self._player is not None else None
        if lost is None:
            return
        playing = self.mode in (PLAYING, STREAMING)
        if playing:
            self.stop()
        self._player.close()
        self._player = self._output = None
        self._show_audio_status()
        self._set_mode(self.mode)
        if playing:
            self.show_error(f"Playback stopped: {lost}. Anything generated is kept; "
                            "press ↻ in the settings to look for devices again.", group=DEVICE_LOST)
        else:
            self.show_error(f"Playback is off: {lost}. Press ↻ in the settings to look for devices again.",
                            group=DEVICE_LOST)

    # -------------------------------------------------------------- models
    def _populate_models(self) -> None:
        box = self.panel.model
        box.clear()
        for name in bundled_model_names():
            box.addItem(name, name)
        user = user_models_dir()
        for path in sorted(user.glob(f"*{EXTENSION}")) if user.is_dir() else []:
            box.addItem(f"{path.stem} (trained)", str(path))
        for path in self.settings.extra_models:
            if Path(path).is_file() and box.findData(path) < 0:
                box.addItem(Path(path).name, path)
        wanted = self.settings.model
        if wanted and box.findData(wanted) < 0 and Path(wanted).is_file():
            box.addItem(Path(wanted).name, wanted)
        box.addItem("Load from disk…", LOAD_FROM_DISK)
        index = box.findData(wanted or DEFAULT_MODEL)
        if index < 0 and box.count() > 1:
            index = 0
        if index >= 0 and box.itemData(index) != LOAD_FROM_DISK:
            box.setCurrentIndex(index)
            self.load_model(box.itemData(index))
        else:
            box.setCurrentIndex(-1)
            box.setPlaceholderText("no model yet: load one or train one")

    def _model_picked(self, index: int) -> None:
        data = self.panel.model.itemData(index)
        if data == LOAD_FROM_DISK:
            self.load_model_dialog()
        elif data:
            self.load_model(data)

    def load_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load a model", "", f"musicgen models (*{EXTENSION})")
        if path:
            self.settings.add_extra_model(path)
            self.load_model(path)
        self._select_model_entry()

    def load_model(self, name_or_path: str) -> None:
        """Load in the background; Continue is enabled once it is in."""
        self._model_loading = True
        self._set_mode(self.mode)
        self._run_job(lambda: load_bundle(name_or_path), lambda bundle: self._model_loaded(bundle, name_or_path),
                      self._model_failed)

    def _model_loaded(self, bundle: ModelBundle, name_or_path: str) -> None:
        self._model_loading = False
        old_rate = self.bundle.features.sample_rate if self.bundle else None
        self.bundle = bundle
        self.settings.model = name_or_path
        self._select_model_entry()
        self.statusBar().showMessage(f"Model {bundle.name}: {bundle.preset}, "
                                     f"{bundle.features.sample_rate} Hz", 5000)
        if self.seed is not None and bundle.features.sample_rate != old_rate:
            self.load_seed(self.seed.path, remember=False)  # resample the seed to the new rate
        self._open_output()
        self._set_mode(self.mode)
        self._schedule_priming()

    def _model_failed(self, text: str) -> None:
        self.show_error(text)
        self._model_loading = False
        self._select_model_entry()
        self._set_mode(self.mode)

    def _select_model_entry(self) -> None:
        """Show the model in use in the picker (adding a loaded-from-disk one)."""
        box = self.panel.model
        current = self.settings.model if self.bundle is not None else ""
        if current and box.findData(current) < 0:
            box.insertItem(box.count() - 1, Path(current).name, current)
        box.setCurrentIndex(box.findData(current) if current else -1)

    @property
    def features(self) -> FeatureConfig:
        return self.bundle.features if self.bundle is not None else FeatureConfig()

    # ---------------------------------------------------------------- seed
    def open_file_dialog(self) -> None:
        folder = str(Path(self.settings.recent_files[0]).parent) if self.settings.recent_files else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open a seed", folder, AUDIO_FILTER)
        if path:
            self.load_seed(path)

    def load_seed(self, path: str | Path, remember: bool = True) -> bool:
        if self.mode != IDLE:
            return False
        rate = self.features.sample_rate
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            loaded = load_audio(path, rate, max_seconds=MAX_SEED_SECONDS)
        except MusicgenError as exc:
            self.show_error(str(exc))
            return False
        finally:
            QApplication.restoreOverrideCursor()
        self.seed = SeedClip(str(path), loaded.samples, rate)
        self.take = None
        self._clear_stale_messages()
        if loaded.truncated:
            self.show_info(f"Only the first {MAX_SEED_SECONDS / 60:.0f} minutes of {Path(path).name} are used.")
        if remember:
            self.settings.add_recent_file(str(path))
        self.setWindowTitle(f"musicgen — {Path(path).name}")
        self.waveform.set_audio(loaded.samples, rate)
        self._show_seed_spectrogram()
        self._set_mode(IDLE)
        self._schedule_priming()
        return True

    def seed_region(self) -> np.ndarray:
        start, end = self.waveform.region()
        return self.seed.samples[start:end]

    def _show_seed_spectrogram(self) -> None:
        """The end of the selected region, with the seam where the continuation will start."""
        if self.seed is None or self.mode != IDLE:
            return
        cfg = self.features
        region = self.seed_region()[-int(SEED_VIEW_SECONDS * cfg.sample_rate):]
        self.spectrogram.reset(cfg, origin_s=(cfg.n_fft / 2 - len(region)) / cfg.sample_rate)
        self.spectrogram.append(log_power(region, cfg))
        self.spectrogram.render()
        self.spectrogram.fit(until_s=self.panel.seconds.value())
        self.spectrogram.set_markers(seam=0.0)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent_files:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.load_seed(p))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("(none)").setEnabled(False)

    def dragEnterEvent(self, event) -> None:
        if self.mode == IDLE and self._dropped_file(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        path = self._dropped_file(event.mimeData())
        if path and self.mode == IDLE:
            event.acceptProposedAction()
            self.load_seed(path)

    @staticmethod
    def _dropped_file(mime) -> str | None:
        for url in mime.urls() if mime.hasUrls() else []:
            if url.isLocalFile() and Path(url.toLocalFile()).suffix.lower() in AUDIO_EXTENSIONS:
                return url.toLocalFile()
        return None

    # ----------------------------------------------------------- recording
    def toggle_recording(self) -> None:
        if self.mode == RECORDING:
            self.stop()
        elif self.mode == IDLE and self._input is not None:
            self.start_recording()

    def start_recording(self) -> None:
        recorder = Recorder(self._input, folder=self.recordings_dir)
        try:
            recorder.start()
        except MusicgenError as exc:
            self.show_error(str(exc))
            self.record_action.setChecked(False)
            return
        self._recorder = recorder
        self.waveform.clear_audio("Recording… press R again to stop and use it as the seed")
        self.spectrogram.reset(recorder.feature_config, origin_s=0.0, window_s=LIVE_VIEW_SECONDS)
        self.statusBar().showMessage(f"Recording to {recorder.path}")
        self._set_mode(RECORDING)

    def _finish_recording(self, lost: str | None = None) -> None:
        """Stop recording and make the take the seed; ``lost``: why the microphone stopped on its own."""
        recorder, self._recorder = self._recorder, None
        path = recorder.stop()
        if lost is not None:
            self._input = None  # until the devices are looked for again
            self._show_audio_status()
        self._set_mode(IDLE)
        if path is None:
            self.show_error(f"Recording stopped: {lost}. Nothing was recorded." if lost else "Nothing was recorded.",
                            group=DEVICE_LOST if lost else None)
            return
        if not self.load_seed(path):
            return
        seconds = recorder.samples_written / recorder.sample_rate
        self.statusBar().showMessage(f"Recorded {seconds:.1f} s to {path}", 5000)
        if lost is not None:
            self.show_error(f"Recording stopped: {lost}. The {seconds:.1f} s recorded so far are the seed "
                            f"(saved as {path}).", group=DEVICE_LOST)
        elif recorder.error:
            self.show_error(recorder.error)
        elif recorder.overflows or recorder.dropped:
            self.show_info("The recording has short gaps: the computer was too busy.")

    def offer_recovery(self) -> None:
        """A recording cut short by a crash: offer it as the seed, or to delete it (one at a time)."""
        found = recordings.orphans(self.recordings_dir)
        if not found:
            return
        path, seconds = found[0]
        when = time.strftime("%d %b %H:%M", time.localtime(path.stat().st_mtime))
        self.message_bar.show_message(
            f"A recording was interrupted ({seconds:.1f} s, {when}). Recover it as the seed?", "info",
            actions=[("Recover", lambda: self.recover_recording(path)),
                     ("Discard", lambda: (recordings.discard(path), self.offer_recovery()))])

    def recover_recording(self, path: Path) -> None:
        if self.mode != IDLE:
            return
        try:
            finished = recordings.recover(path)
        except MusicgenError as exc:
            self.show_error(str(exc))
            return
        if self.load_seed(finished):
            self.show_info(f"Recovered the interrupted recording as the seed (saved as {finished}).")

    # ------------------------------------------------------------ playback
    def toggle_seed_playback(self) -> None:
        if self.mode == PLAYING:
            self.stop()
        elif self.mode == IDLE and self.seed is not None and self._player is not None:
            region = self.seed_region()
            start, _ = self.waveform.region()
            playback = self._play(self.seed.sample_rate)
            if playback is not None:
                self._play_origin = start
                # Fed from a thread: a long seed does not fit the ring at once.
                self._run_job(lambda: playback.write(region) and playback.finish(), lambda _: None,
                              self.show_error)
                self._set_mode(PLAYING)

    def _open_output(self) -> None:
        """Keep the output stream running at the model's rate, so playback starts without delay."""
        if self._player is not None:
            try:
                self._player.open(self.features.sample_rate)
            except MusicgenError as exc:
                self.show_error(str(exc))

    def _play(self, rate: int) -> Playback | None:
        self._playback = None
        try:
            self._playback = self._player.play(rate)
        except MusicgenError as exc:
            self.show_error(str(exc))
            return None
        return self._playback

    # ---------------------------------------------------------- generation
    def _params(self, fresh_seed: bool) -> ContinuationParams:
        """The settings; unless the RNG seed is fixed, ``fresh_seed`` draws a new one (and shows it)."""
        panel = self.panel
        if fresh_seed and not panel.fixed_seed.isChecked():
            with QSignalBlocker(panel.rng_seed):
                panel.rng_seed.setValue(random.randrange(2**31))  # shown, so a take can be reproduced
        return ContinuationParams(seconds=panel.seconds.value(), temperature=panel.temperature_value,
                                  rng_seed=panel.rng_seed.value(), anchor=panel.anchor.isChecked(),
                                  adapt_seconds=panel.adapt_value)

    def _prime_key(self, params: ContinuationParams) -> tuple:
        return (id(self.bundle), self.seed.path, len(self.seed.samples), self.waveform.region(), params)

    def _schedule_priming(self, *_) -> None:
        """Anything the next continuation depends on changed: prime it again once the user pauses."""
        self._drop_primer()
        if self.mode == IDLE and self.seed is not None and self.bundle is not None:
            self._prime_timer.start()

    def _prime(self) -> None:
        if self.mode != IDLE or self.seed is None or self.bundle is None:
            return
        params = self._params(fresh_seed=True)
        if params.adapt_seconds:
            return  # seconds of full CPU each time a setting changes; and Continue would wait for it
        try:
            session = ContinuationSession(self.bundle, self.seed_region(), params)
        except MusicgenError:
            return  # shown when the user presses Continue
        self._primer = PrimingWorker(session, self._prime_key(params), PRIME_SECONDS)
        self._primer.start()

    @property
    def primed(self) -> bool:
        """A primed continuation is ready: Continue will sound at once."""
        return self._primer is not None and self._primer.isFinished() and self._primer.ok

    def _drop_primer(self) -> None:
        self._prime_timer.stop()
        if self._primer is not None:
            self._primer.session.cancel()
            self._primer.wait()  # at most one frame once cancelled
            self._primer = None

    def _take_primed(self, params: ContinuationParams) -> PrimingWorker | None:
        """The primed session, if it was made from exactly what Continue would use now."""
        primer, self._primer = self._primer, None
        self._prime_timer.stop()
        if primer is None:
            return None
        primer.wait()
        if primer.ok and primer.key == self._prime_key(params):
            return primer
        primer.session.cancel()
        return None

    def continue_seed(self) -> None:
        """Continue the selected seed from scratch (a primed session if one is ready)."""
        if self.mode != IDLE or self.seed is None or self.bundle is None:
            return
        pressed = time.perf_counter()
        primer = self._take_primed(self._params(fresh_seed=False))
        try:
            session = primer.session if primer else ContinuationSession(self.bundle, self.seed_region(),
                                                                        self._params(fresh_seed=True))
        except MusicgenError as exc:
            self.show_error(str(exc))
            return
        self.stats = {"pressed": pressed, "primed": primer is not None}
        self.take = Take(session.sample_rate, session.seed, session.seed_frames)
        self._start_run(session, lead=session.seed, blocks=primer.blocks() if primer else None)
        cfg = self.features  # the views after the sound: they are not what the user waits for
        shown = session.seed_frames[-int(SEED_VIEW_SECONDS * cfg.frames_per_second):]
        origin = (len(session.seed_frames) - len(shown)) * cfg.hop + cfg.n_fft / 2 - len(session.seed)
        self.spectrogram.reset(cfg, origin_s=origin / cfg.sample_rate, window_s=STREAM_VIEW_SECONDS)
        self.spectrogram.append(shown)
        self._drawn_frames = 0

    def extend(self) -> None:
        """Continue from the end of the take, appending to it."""
        if self.mode != IDLE or self.take is None or self.bundle is None:
            return
        self.stats = {"pressed": time.perf_counter(), "primed": False}
        self._drop_primer()
        context = self.take.audio(with_seed=True)[-int(EXTEND_CONTEXT_SECONDS * self.take.sample_rate):]
        try:
            session = ContinuationSession(self.bundle, context, self._params(fresh_seed=True))
        except MusicgenError as exc:
            self.show_error(str(exc))
            return
        self.spectrogram.set_window(STREAM_VIEW_SECONDS)
        self._start_run(session, lead=context)

    def _start_run(self, session: ContinuationSession, lead: np.ndarray, blocks=None) -> None:
        """Play the last seconds of ``lead`` and then the continuation as the worker produces it."""
        if self._worker is not None:
            self._worker.wait()  # a cancelled run ends within a frame; it must not write during reserve()
        take = self.take
        take.reserve(session.total_samples, session.total_samples // self.features.hop + 16)
        run_start = take.n_samples
        playback = None
        if self._player is not None:
            lead = lead[max(0, len(lead) - int(self.panel.lead_in.value() * session.sample_rate)):]
            playback = self._play(session.sample_rate)
            self._play_origin = run_start - len(lead)
        self._worker = ContinuationWorker(session, take, playback, lead, blocks)
        self._worker.failed.connect(self.show_error)
        self._worker.finished.connect(self._worker_finished)
        self._worker.start()
        self.stats["started"] = time.perf_counter() - self.stats["pressed"]
        self._clear_stale_messages()
        self._set_mode(STREAMING)

    def _temperature_changed(self, _value: int) -> None:
        if self._worker is not None:
            self._worker.session.temperature = self.panel.temperature_value

    def _worker_finished(self) -> None:
        worker = self.sender()
        worker.wait()
        if worker is self._worker:
            self._worker = None
            if self.mode == STREAMING and worker.playback is None:
                self._end_stream()  # nothing to play out

    def _end_stream(self) -> None:
        if self._playback is not None:
            self.stats.update(underruns=self._playback.underruns, xruns=self._playback.xruns)
            self._playback.stop()
        self._tick_stream()  # draw the last frames
        self.spectrogram.set_window(None)
        self.spectrogram.render()
        self.spectrogram.fit()
        self.spectrogram.set_markers(seam=0.0)
        self._set_mode(IDLE)
        self._schedule_priming()  # for Regenerate

    # ------------------------------------------------------------ stopping
    def stop(self) -> None:
        """Stop whatever runs, at once: generation is cancelled, playback fades out (silent within ~100 ms)."""
        if self.mode == RECORDING:
            self._finish_recording()
            return
        if self._worker is not None:
            self._worker.cancel()
        if self.mode == STREAMING:
            self._end_stream()
        elif self.mode == PLAYING:
            self._playback.stop()
            self.waveform.set_playhead(None)
            self._set_mode(IDLE)

    def wait_for_workers(self) -> None:
        """Block until every background thread has finished (closing, tests)."""
        self._drop_primer()
        if self._worker is not None:
            self._worker.cancel()
            self._worker.wait()
        for job in list(self._jobs):
            job.wait()
        if self._training is not None:
            self._training.stop_and_wait()
        QApplication.sendPostedEvents()

    # -------------------------------------------------------------- export
    def export_dialog(self) -> None:
        if self.take is None or self.mode != IDLE:
            return
        dialog = ExportDialog(self.settings, self.seed.path if self.seed else "", self)
        if dialog.exec():
            self.export(dialog.path, dialog.with_seed, dialog.bits)

    def export(self, path: str, with_seed: bool, bits: str) -> None:
        """Write the take in the background (atomically, by write_wav) with a busy indicator."""
        audio = self.take.audio(with_seed)
        rate = self.take.sample_rate
        progress = QProgressDialog(f"Writing {Path(path).name}…", None, 0, 0, self)
        progress.setWindowTitle("Export")
        progress.setMinimumDuration(300)  # only shown if it takes a while
        progress.setWindowModality(Qt.WindowModality.WindowModal)

        def done(written):
            progress.close()
            self.statusBar().showMessage(f"Exported {len(audio) / rate:.1f} s to {written}", 8000)

        def failed(text):
            progress.close()
            self.show_error(text)

        self._run_job(lambda: write_wav(path, audio, rate, bits), done, failed)

    def _run_job(self, fn, on_done, on_failed) -> CallWorker:
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

    # ------------------------------------------------------------ training
    def open_training(self) -> None:
        if self._training is None:
            self._training = TrainingDialog(self.settings, self)
            self._training.modelTrained.connect(self._model_trained)
        self._training.show()
        self._training.raise_()

    def _model_trained(self, path: str, completed: bool) -> None:
        """List the new model; switch to it only if training ran to the end."""
        if completed:
            self.settings.model = path
        self._populate_models()

    # ---------------------------------------------------------------- tick
    def _tick(self) -> None:
        now = time.perf_counter()
        if self.mode == RECORDING:
            self._tick_recording()
        elif self.mode == PLAYING:
            self.waveform.set_playhead((self._play_origin + self._playback.position) / self.seed.sample_rate)
            if self._playback.finished:
                self.stop()
        elif self.mode == STREAMING:
            self._tick_stream()
            if self._worker is None and self._playback is not None and self._playback.finished:
                self._end_stream()
        self._ticks += 1
        start, ticks = self._fps_window
        if now - start >= 1.0:  # each tick redraws the spectrogram (new frames, playhead)
            self.stats["fps"] = (self._ticks - ticks) / (now - start)
            self._fps_window = (now, self._ticks)

    def _tick_recording(self) -> None:
        recorder = self._recorder
        while not recorder.frames.empty():
            self.spectrogram.append(recorder.frames.get_nowait())
        self.spectrogram.render()
        self.level_meter.set_peak(recorder.level)
        self.stream_status.setText(f"● {recorder.samples_written / recorder.sample_rate:.1f} s")
        lost = recorder.lost_reason()
        if recorder.error or lost:
            self._finish_recording(lost)

    def _tick_stream(self) -> None:
        take = self.take
        new = take.new_frames(self._drawn_frames)
        self._drawn_frames += len(new)
        self.spectrogram.append(new)
        self.spectrogram.render()
        rate = take.sample_rate
        generated = take.n_samples / rate
        session = self._worker.session if self._worker is not None else None
        if session is not None and session.adapt_seconds and session.adaptation is None:
            self.stream_status.setText(f"adapting the model to the seed for {session.adapt_seconds:.0f} s "
                                       "(the first time, after loading TensorFlow)…")
            return
        text = f"generated {generated:.1f} s"
        playhead = None
        playback = self._playback
        if playback is not None:
            playhead = (self._play_origin + playback.position) / rate
            if "first_sound" not in self.stats and playback.first_sound_time is not None:
                self.stats["first_sound"] = playback.first_sound_time - self.stats["pressed"]
            text += f" · {max(0.0, generated - playhead):.1f} s ahead · underruns {playback.underruns}"
        if "fps" in self.stats:
            text += f" · {self.stats['fps']:.0f} fps"
        self.stream_status.setText(text)
        self.spectrogram.set_markers(seam=0.0, playhead=playhead, generated=generated)

    # ------------------------------------------------------------ settings
    def _restore_settings(self) -> None:
        s, panel = self.settings, self.panel
        panel.seconds.setValue(s.seconds)
        panel.set_temperature(s.temperature)
        panel.fixed_seed.setChecked(s.rng_seed is not None)
        panel.rng_seed.setValue(s.rng_seed or 0)
        panel.lead_in.setValue(s.lead_in)
        panel.anchor.setChecked(s.anchor)
        panel.adapt.setChecked(s.adapt)
        panel.adapt_seconds.setValue(s.adapt_seconds)
        if s.geometry is not None:
            self.restoreGeometry(s.geometry)
        else:
            self.resize(1100, 700)
        if s.window_state is not None:
            self.restoreState(s.window_state)

    def save_settings(self) -> None:
        s, panel = self.settings, self.panel
        s.seconds = panel.seconds.value()
        s.temperature = panel.temperature_value
        s.rng_seed = panel.rng_seed.value() if panel.fixed_seed.isChecked() else None
        s.lead_in = panel.lead_in.value()
        s.anchor = panel.anchor.isChecked()
        s.adapt = panel.adapt.isChecked()
        s.adapt_seconds = panel.adapt_seconds.value()
        s.geometry = self.saveGeometry()
        s.window_state = self.saveState()
        s.sync()

    def closeEvent(self, event) -> None:
        if self.mode != IDLE:
            self.stop()
        self.wait_for_workers()
        if self._player is not None:
            self._player.close()
        self.save_settings()
        super().closeEvent(event)
