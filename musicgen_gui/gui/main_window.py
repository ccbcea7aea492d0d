"""The main window: builds the widgets and connects them to the AppController's parts.

State and commands are the controller's (controller.py, and its parts seed.py,
run.py and playback.py); drawing on the plots is the Display's (display.py);
what each action may do in each mode is the table in mode.py.

The window is drawn first, with the seed it opens as a plain waveform (views.SeedPreview); then the
plots are built (pyqtgraph takes longer to import than all else the first paint needs), and the
sound devices are opened and the saved takes and the model loaded.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QApplication, QCheckBox, QDockWidget, QFileDialog, QHBoxLayout, QLabel, QMainWindow,
                               QMenu, QSplitter, QTabBar, QVBoxLayout, QWidget)

from ..audio import recorder as recordings
from ..core.audio_io import AUDIO_EXTENSIONS
from .controller import AppController
from .deferred import after_paint
from .message_bar import MessageBar
from .model_chooser import ModelChooser
from .seed import DEVICE_LOST
from .settings import AppSettings
from .settings_panel import SettingsPanel
from .shortcuts import ShortcutsWin
from .take_panel import TakePanel
from .views import LevelMeter, SeedPreview

AUDIO_FILTER = "Audio files ({})".format(" ".join(f"*{e}" for e in AUDIO_EXTENSIONS))


class MainWindow(QMainWindow):
    def __init__(self, settings: AppSettings | None = None, recordings_dir: Path | None = None,
                 takes_dir: Path | None = None):
        super().__init__()
        self.settings = settings or AppSettings()
        recordings_dir = Path(recordings_dir) if recordings_dir is not None else recordings.recordings_dir()
        self.controller = c = AppController(self.settings, recordings_dir, takes_dir, self)
        self.training = None  # the TrainingDialog, once opened
        self.waveform = self.spectrogram = self.display = None  # built once the window is on screen
        self._first_show = True
        self._until_plots: list = []  # when_drawn's calls made before the plots were built
        self.setWindowTitle("musicgen")
        self.setAcceptDrops(True)
        self._build_views()
        self._build_actions()
        # A loaded seed is analysed (its spectrogram, tempo and key) once its waveform is on screen.
        c.when_drawn = self._when_drawn
        c.seed.loaded.connect(self.preview.show_clip)
        c.changed.connect(self.refresh)
        c.tick.connect(lambda: self.stream_status.setText(c.status()))
        c.message.connect(lambda text, kind, group: self.message_bar.show_message(text, kind, group=group))
        c.clearMessages.connect(lambda: self.message_bar.hide_unless(DEVICE_LOST))
        c.devicesBack.connect(lambda text: self.message_bar.group == DEVICE_LOST and
                              self.message_bar.show_message(text, "info"))
        c.seed.loaded.connect(lambda clip: self.setWindowTitle(f"musicgen — {Path(clip.path).name}"))
        c.seed.loaded.connect(lambda clip: self.takes.set_seed(clip.path))
        c.analysisChanged.connect(self.analysis.setText)
        c.rngSeedShown.connect(self.panel.show_rng_seed)
        c.audio.devicesChanged.connect(self._show_devices)
        self.takes.selected.connect(c.takes.select)
        c.takes.selected.connect(self.takes.show_take)
        c.takes.selected.connect(lambda take: self.view_tabs.setTabEnabled(1, take is not None))
        self.shortcuts = ShortcutsWin(self)
        self.panel.restore(self.settings)
        self._settings_changed()
        self.panel.changed.connect(self._settings_changed)
        self.restoreGeometry(self.settings.geometry) if self.settings.geometry is not None else self.resize(1200, 760)
        if self.settings.window_state is not None:
            self.restoreState(self.settings.window_state)
        recordings.prune(recordings_dir, in_use=self.settings.recent_files)
        self.offer_recovery()
        self.refresh()

    # ------------------------------------------------------------------ UI
    def _build_views(self) -> None:
        self.message_bar = MessageBar()
        self.preview = SeedPreview()  # until the plots take its place
        self.view_tabs = QTabBar()
        self.view_tabs.addTab("Seed")
        self.view_tabs.addTab("Take")
        self.view_tabs.setTabEnabled(1, False)  # until a take is selected
        self.view_tabs.setToolTip("Show the seed (to select the part to continue) or the selected take")
        self.log_frequency = QCheckBox("Log frequency")
        self.log_frequency.setToolTip("Frequency on a log scale, every octave equally tall, so that notes show")
        self.level_meter = LevelMeter()
        self.level_meter.hide()
        self.analysis = QLabel()
        self.analysis.setToolTip("Tempo and key detected in the selected seed and in the continuation")
        self.plots = QHBoxLayout()  # the meter beside both plots: they stay as wide, their time axes aligned
        self.plots.addWidget(self.preview, 1)
        self.plots.addWidget(self.level_meter)
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(4, 4, 4, 4)
        column.addWidget(self.message_bar)
        above = QHBoxLayout()
        above.addWidget(self.view_tabs)
        above.addWidget(self.analysis, 1)
        above.addWidget(self.log_frequency)
        column.addLayout(above)
        column.addLayout(self.plots, 1)
        self.setCentralWidget(central)

        self.panel = SettingsPanel()
        self.models = ModelChooser(self.panel, self.settings, self.controller, self)
        self.panel.input_device.activated.connect(self._devices_picked)
        self.panel.output_device.activated.connect(self._devices_picked)
        self.panel.refresh_devices.clicked.connect(self._rescan_devices)
        self._dock("Settings", self.panel)
        self.model_status = QLabel()
        self.stream_status = QLabel()
        self.audio_status = QLabel()
        self.statusBar().addWidget(self.stream_status, 1)  # a permanent label: hover tips never hide it
        for label in (self.model_status, self.audio_status):
            label.setContentsMargins(12, 0, 4, 0)
            self.statusBar().addPermanentWidget(label)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._first_show:
            self._first_show = False
            after_paint(self.preview, self._first_drawn)

    def _first_drawn(self) -> None:
        """The window is on screen; a seed being decoded for it is drawn before the rest is built."""
        jobs = self.controller.jobs
        if jobs.busy:
            jobs.idle.connect(self._first_drawn, Qt.ConnectionType.SingleShotConnection)
        elif not self.preview.drawn:
            after_paint(self.preview, self._first_drawn)
        else:
            self._build_rest()

    def _build_rest(self) -> None:
        """What the first paint did without: the plots and the Display, the devices, the takes, the model."""
        if not self.isVisible():  # closed meanwhile
            return
        # Imported here, not at the top: they import pyqtgraph.
        from .display import Display
        from .spectrogram import SpectrogramView
        from .waveform import WaveformView

        c = self.controller
        self.waveform = WaveformView()
        self.waveform.regionChanged.connect(self._region_changed)
        self.spectrogram = SpectrogramView()
        self.spectrogram.setXLink(self.waveform)  # one time axis
        self.spectrogram.set_log_frequency(self.log_frequency.isChecked())
        self.log_frequency.toggled.connect(self.spectrogram.set_log_frequency)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.waveform)
        splitter.addWidget(self.spectrogram)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 2)
        c.seed.loaded.disconnect(self.preview.show_clip)
        self.plots.replaceWidget(self.preview, splitter)
        self.preview.deleteLater()
        self.preview = None
        self.display = Display(c, self.waveform, self.spectrogram, self.level_meter, self)
        self.display.shownChanged.connect(self._shown_changed)
        self.view_tabs.tabBarClicked.connect(self._tab_clicked)
        if c.seed.clip is not None:
            self.display.seed_loaded(c.seed.clip)
        for fn in self._until_plots:
            after_paint(self.spectrogram.viewport(), fn)
        self._until_plots.clear()
        # Every event of the app passes through it, so not while the window is first drawn; until now Qt's
        # own rule held (a focused widget's keys win over the shortcuts, and fields get what is typed).
        QApplication.instance().installEventFilter(self.shortcuts)
        c.start()
        self.models.populate()

    def _when_drawn(self, fn) -> None:
        if self.spectrogram is None:
            self._until_plots.append(fn)
        else:
            after_paint(self.spectrogram.viewport(), fn)

    def _dock(self, title: str, widget: QWidget) -> None:
        dock = QDockWidget(title)
        dock.setObjectName(f"{title.lower()}-dock")
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)

    def _action(self, text: str, shortcut, slot, tip: str, command: str | None = None) -> QAction:
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(s) for s in (shortcut if isinstance(shortcut, list) else [shortcut])])
        action.setToolTip(f"{tip} ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})")
        action.triggered.connect(slot)
        action.setData(command)  # the row of mode.TABLE that enables it
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        a, c = self._action, self.controller
        self.open_action = a("Open…", QKeySequence.StandardKey.Open, self.open_file_dialog, "Load a seed from a file",
                             "open")
        self.record_action = a("Record", "R", c.seed.toggle_recording, "Record a seed from the microphone", "record")
        self.record_action.setCheckable(True)
        self.play_action = a("Play seed", "Space", c.takes.toggle_seed_playback, "Play the selected part of the seed",
                             "play_seed")
        self.continue_action = a("Continue", ["Ctrl+Return", "Ctrl+Enter"], c.run.continue_seed,
                                 "Continue the selected seed as a new take, playing it as it is generated",
                                 "continue")
        self.stop_action = a("Stop", "Esc", c.stop, "Stop generating or playing; cancel a recording (its file is "
                             "kept, the seed stays)", "stop")
        self.extend_action = a("Extend", ["Ctrl+Shift+Return", "Ctrl+Shift+Enter"], c.run.extend,
                               "A new take: the selected one as heard, continued from its end", "extend")
        self.regenerate_action = a("Regenerate", "Ctrl+Shift+R", c.run.regenerate,
                                   "A new take from the selected take's seed, with the current settings",
                                   "regenerate")
        self.export_action = a("Export…", "Ctrl+E", self.export_dialog, "Write the selected take to a WAV file",
                               "export")
        self.play_take_action = a("Play take", "P", lambda: c.takes.play_take(), "Play the selected take", "play_take")
        self.compare_action = a("A/B", "B", c.takes.compare, "Switch between the last two takes selected, at the same "
                                "point", "compare")
        self.delete_action = a("Delete take", QKeySequence.StandardKey.Delete, c.takes.delete,
                               "Delete the selected take (Undo brings it back)", "delete_take")
        self.undo_action = a("Undo delete", QKeySequence.StandardKey.Undo, c.takes.undo_delete, "Bring back the last "
                             "deleted take", "undo_delete")
        self.rename_action = a("Rename take", "F2", lambda: self.takes.rename_current(), "Rename the selected take")
        self.train_action = a("Train a model…", "Ctrl+T", self.open_training, "Train a model on folders of music")
        self.load_model_action = a("Load model…", "Ctrl+M", lambda: self.models.load_dialog(), "Load a model file from disk")
        quit_action = a("Quit", QKeySequence.StandardKey.Quit, self.close, "Quit")
        self.takes = TakePanel(c.takes.model, [self.play_take_action, self.compare_action, self.export_action,
                                         self.delete_action])
        self._dock("Takes", self.takes)

        toolbar = self.addToolBar("Transport")
        toolbar.setObjectName("transport")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for action in (self.open_action, self.record_action, self.play_action, None, self.continue_action,
                       self.stop_action, self.extend_action, self.regenerate_action, None, self.export_action):
            toolbar.addSeparator() if action is None else toolbar.addAction(action)
        self.recent_menu = QMenu("Open recent", self)
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        menus = {"&File": [self.open_action, self.recent_menu, self.export_action, None, quit_action],
                 "&Edit": [self.undo_action, self.rename_action, self.delete_action],
                 "&Transport": [self.record_action, self.play_action, self.continue_action, self.stop_action,
                                self.extend_action, self.regenerate_action, None, self.play_take_action,
                                self.compare_action],
                 "&Model": [self.load_model_action, self.train_action]}
        for title, entries in menus.items():
            menu = self.menuBar().addMenu(title)
            for entry in entries:
                menu.addSeparator() if entry is None else (
                    menu.addMenu(entry) if isinstance(entry, QMenu) else menu.addAction(entry))

    def refresh(self) -> None:
        """Show the controller's state: what is enabled, the status lines."""
        c = self.controller
        for action in self.actions():
            if action.data():
                action.setEnabled(c.enabled(action.data()))
        self.record_action.setChecked(c.mode.value == "recording")
        self.panel.model.setEnabled(c.enabled("choose_model"))
        for widget in (self.panel.input_device, self.panel.output_device, self.panel.refresh_devices):
            widget.setEnabled(c.enabled("choose_devices"))
        self.stream_status.setText(c.status())
        self.model_status.setText(c.model_status())
        self.audio_status.setText(c.audio.status())
        self.analysis.setText(c.analysis_text())
        self.view_tabs.setEnabled(c.mode.value not in ("recording", "streaming"))  # they show what happens

    # ------------------------------------------------------ models, devices
    def _devices_picked(self, *_) -> None:
        self.controller.audio.choose(self.panel.input_device.currentData(), self.panel.output_device.currentData())

    def _rescan_devices(self) -> None:
        if not self.controller.audio.rescan(self.settings.input_device, self.settings.output_device):
            self.controller.error("A sound device that stopped answering is still being closed: devices added "
                                  "since cannot be looked for until it is (or until the app is restarted).")

    def _show_devices(self) -> None:
        audio = self.controller.audio
        self.panel.fill_devices(audio.input, audio.output)
        for device, key in ((audio.input, "input_device"), (audio.output, "output_device")):
            if device is not None:
                setattr(self.settings, key, device.name)

    def _settings_changed(self) -> None:
        self.controller.set_settings(self.panel.params(), self.panel.lead_in.value())

    def _region_changed(self) -> None:
        self.controller.seed.set_region(*self.waveform.region())

    def _tab_clicked(self, index: int) -> None:
        self.display.show_seed() if index == 0 else self.display.show_take()

    def _shown_changed(self, take) -> None:
        self.view_tabs.setCurrentIndex(0 if take is None else 1)
        self.view_tabs.setTabText(1, take.name if take is not None else "Take")

    # ---------------------------------------------------------------- seed
    def open_file_dialog(self) -> None:
        folder = str(Path(self.settings.recent_files[0]).parent) if self.settings.recent_files else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open a seed", folder, AUDIO_FILTER)
        if path:
            self.controller.seed.load(path)

    def open_files(self, paths: list[str]) -> None:
        """Files from the command line: the first is loaded, the rest go to Open recent."""
        for path in reversed(paths[1:]):
            self.settings.add_recent_file(str(Path(path).resolve()))
        rest = ("the other is" if len(paths) == 2 else f"the other {len(paths) - 1} are") + " in File ▸ Open recent."
        self.controller.seed.load(paths[0], then=lambda: paths[1:] and self.message_bar.show_message(
            f"Opened {Path(paths[0]).name}; {rest}", "info"))

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent_files:
            self.recent_menu.addAction(path).triggered.connect(lambda _=False, p=path: self.controller.seed.load(p))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("(none)").setEnabled(False)

    def dragEnterEvent(self, event) -> None:
        if self.controller.enabled("open") and self._dropped_file(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        path = self._dropped_file(event.mimeData())
        if path and self.controller.seed.load(path):
            event.acceptProposedAction()

    @staticmethod
    def _dropped_file(mime) -> str | None:
        for url in mime.urls() if mime.hasUrls() else []:
            if url.isLocalFile() and Path(url.toLocalFile()).suffix.lower() in AUDIO_EXTENSIONS:
                return url.toLocalFile()
        return None

    def offer_recovery(self) -> None:
        """A recording cut short by a crash: offer it as the seed, or to delete it (one at a time)."""
        found = recordings.orphans(self.controller.audio.recordings_dir)
        if found:
            path, seconds = found[0]
            when = time.strftime("%d %b %H:%M", time.localtime(path.stat().st_mtime))
            self.message_bar.show_message(
                f"A recording was interrupted ({seconds:.1f} s, {when}). Recover it as the seed?", "info",
                actions=[("Recover", lambda: self.controller.seed.recover(path)),
                         ("Discard", lambda: (recordings.discard(path), self.offer_recovery()))])

    # ------------------------------------------------------ export, training
    def export_dialog(self) -> None:
        take = self.controller.takes.current
        if take is not None and self.controller.enabled("export"):
            from .dialogs import ExportDialog  # here: the window is drawn before the dialogs are imported

            dialog = ExportDialog(self.settings, take, self)
            if dialog.exec():
                self.controller.takes.export(take, dialog.path, dialog.with_seed, dialog.bits, dialog.unheard)

    def open_training(self) -> None:
        if self.training is None:
            from .dialogs import TrainingDialog  # here: the window is drawn before the dialogs are imported

            self.training = TrainingDialog(self.settings, self)
            self.training.modelTrained.connect(self.models.trained)
        self.training.show()
        self.training.raise_()

    def closeEvent(self, event) -> None:
        QApplication.instance().removeEventFilter(self.shortcuts)
        self.controller.close()
        if self.training is not None:
            self.training.modelTrained.disconnect(self.models.trained)  # nothing is loaded any more
            self.training.stop_and_wait()
        self.panel.save(self.settings)
        self.settings.geometry = self.saveGeometry()
        self.settings.window_state = self.saveState()
        self.settings.sync()
        super().closeEvent(event)
