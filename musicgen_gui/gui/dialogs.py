"""Dialogs: export options, and training a model in the background."""

from __future__ import annotations

import math
import re
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QLabel, QLineEdit, QListWidget, QMessageBox, QProgressBar,
                               QPushButton, QRadioButton, QSpinBox, QVBoxLayout)

from ..core.audio_io import find_audio_files
from ..core.bundle import EXTENSION
from ..core.fileio import output_problem
from ..core.model import PRESETS
from ..core.params import training_unavailable
from ..core.training import split_files, work_dir
from .settings import AppSettings, user_models_dir
from .workers import TrainingWorker

FORMATS = {"16": "16-bit PCM", "24": "24-bit PCM", "float": "32-bit float"}
ADD_FOLDERS = "Add folders of music, then Start."


class ExportDialog(QDialog):
    """What to write: the continuation alone or after the seed, the format, the file.

    Each choice proposes its own file name (until the user edits it), and an
    existing file is only replaced after asking. A take stopped mid-stream offers
    what was generated after the stop, off by default."""

    def __init__(self, settings: AppSettings, take, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Export {take.name}")
        self._settings = settings
        self.continuation_only = QRadioButton("Continuation only")
        self.seed_and_continuation = QRadioButton("Seed + continuation")
        group = QButtonGroup(self)
        group.addButton(self.continuation_only)
        group.addButton(self.seed_and_continuation)
        (self.seed_and_continuation if settings.export_with_seed else self.continuation_only).setChecked(True)
        self.unheard_box = QCheckBox(f"Include the {take.unheard / take.sample_rate:.1f} s generated after Stop "
                                  "(not heard)")
        self.unheard_box.setVisible(take.unheard > 0)
        self._format = QComboBox()
        for bits, label in FORMATS.items():
            self._format.addItem(label, bits)
        self._format.setCurrentIndex(max(0, self._format.findData(settings.export_bits)))
        source = take.source
        # Beside the seed's file, unless it is one of the app's own recordings (a hidden data folder).
        beside = source and not Path(source).resolve().is_relative_to(user_models_dir().parent.resolve())
        self._folder = Path(settings.export_folder or (str(Path(source).parent) if beside else str(Path.home())))
        slug = re.sub(r"[^\w.-]+", "-", take.name.strip().lower()) or "take"
        self._stem = f"{Path(source).stem if source else 'recording'}-{slug}"
        self.path_edit = QLineEdit(self._proposed())
        self.path_edit.setMinimumWidth(420)
        self.seed_and_continuation.toggled.connect(self._choice_changed)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(browse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Audio", self.continuation_only)
        form.addRow("", self.seed_and_continuation)
        form.addRow("", self.unheard_box)
        form.addRow("Format", self._format)
        form.addRow("File", path_row)
        form.addRow(buttons)

    def _proposed(self, with_seed: bool | None = None) -> str:
        with_seed = self.with_seed if with_seed is None else with_seed
        return str(self._folder / f"{self._stem}-{'with-seed' if with_seed else 'continuation'}.wav")

    def _choice_changed(self, with_seed: bool) -> None:
        if self.path_edit.text() == self._proposed(not with_seed):  # not edited: follow the choice
            self.path_edit.setText(self._proposed(with_seed))

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export as", self.path_edit.text(), "WAV files (*.wav)",
                                              options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.path_edit.setText(path if path.lower().endswith(".wav") else path + ".wav")

    @property
    def path(self) -> str:
        """The file to write: a typed name without a folder goes in the proposed one, and one without
        an extension gets .wav, as Browse gives it."""
        text = self.path_edit.text().strip()
        if not text:
            return ""
        path = Path(text).expanduser()
        if not path.is_absolute():
            path = self._folder / path
        if not path.suffix and not path.is_dir():
            path = path.with_name(path.name + ".wav")
        return str(path)

    @property
    def with_seed(self) -> bool:
        return self.seed_and_continuation.isChecked()

    @property
    def unheard(self) -> bool:
        # Not isVisible(): that is False once the dialog has closed, when the answer is read.
        return not self.unheard_box.isHidden() and self.unheard_box.isChecked()

    @property
    def bits(self) -> str:
        return self._format.currentData()

    def _problem(self) -> str | None:
        """Why the file cannot be written as given, found before anything is asked or written."""
        if not self.path:
            return "Choose a file name to export to."
        path = Path(self.path)
        problem = output_problem(path)
        if problem:
            return f"Cannot write {path}: {problem}."
        if path.suffix.lower() != ".wav":
            return f"Exports are WAV files: end the name with .wav, not {path.suffix}."
        return None

    def accept(self) -> None:
        problem = self._problem()
        if problem:
            QMessageBox.warning(self, "Cannot export there", problem)
            return
        self.path_edit.setText(self.path)  # as it will be written
        if Path(self.path).exists():
            buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
            answer = QMessageBox.question(self, "Replace the file?",
                                          f"{Path(self.path).name} already exists in {Path(self.path).parent}. "
                                          "Replace it?", buttons, QMessageBox.StandardButton.No)
            if answer != QMessageBox.StandardButton.Yes:
                return
        self._settings.export_bits = self.bits
        self._settings.export_with_seed = self.with_seed
        super().accept()  # the folder is remembered once the file is written (TakesController.export)


class TrainingDialog(QDialog):
    """Pick folders, a preset and epochs; train in a worker with progress, a loss plot, stop and resume.
    The folders, preset, epochs and name are remembered in the settings, so that after a restart the
    same model can be resumed."""

    modelTrained = Signal(str, bool)  # the model file; whether all epochs ran (else it was stopped)

    def __init__(self, settings: AppSettings, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Train a model")
        self._settings = settings
        self._worker: TrainingWorker | None = None
        self._completed = False
        self._batch_losses: list[tuple[float, float]] = []  # (epoch position, loss)
        self._val_losses: list[tuple[float, float]] = []

        self.folders = QListWidget()
        self._add = QPushButton("Add folder…")
        self._add.clicked.connect(self._add_folder)
        self._remove = QPushButton("Remove")
        self._remove.clicked.connect(self._remove_folders)
        folder_buttons = QHBoxLayout()
        folder_buttons.addWidget(self._add)
        folder_buttons.addWidget(self._remove)
        folder_buttons.addStretch(1)
        self.preset = QComboBox()
        for name, preset in PRESETS.items():
            self.preset.addItem(f"{name}: {preset.description}", name)
        self.preset.setCurrentIndex(max(0, self.preset.findData(settings.training_preset)))
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 10000)
        self.epochs.setValue(settings.training_epochs)
        self.name = QLineEdit(settings.training_name)
        self.name.textChanged.connect(self._update_buttons)
        for folder in settings.training_folders:
            self.folders.addItem(folder)
        self.epochs.valueChanged.connect(self._update_buttons)
        self.preset.currentIndexChanged.connect(self._update_buttons)

        self.progress = QProgressBar()
        self.progress.hide()  # until a run starts: idle, it looks like an empty text field
        # Without TensorFlow (the desktop bundle leaves it out) the dialog says so instead of starting.
        self._unavailable = training_unavailable()
        self._started = False
        self.status = QLabel(ADD_FOLDERS if self._unavailable is None else
                             f"This copy of musicgen cannot train: {self._unavailable}. A model trained "
                             "elsewhere opens with Model ▸ Load model…")
        self.status.setWordWrap(True)
        # Imported here: the main window imports this module, and it is drawn before pyqtgraph is loaded.
        import pyqtgraph as pg

        self.plot = pg.PlotWidget(title="Loss")
        self.plot.setMenuEnabled(False)
        self.plot.setLabel("bottom", "epoch")
        self.plot.addLegend()
        self._loss_curve = self.plot.plot(pen=pg.mkPen("#90caf9"), name="training")
        # Each epoch's validation loss spans its epoch: one epoch is a line, not a lone dot.
        self._val_curve = self.plot.plot(pen=pg.mkPen("#ffb74d", width=2), name="validation")

        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(lambda: self.start(resume=False))
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Go on from where the last run of this model stopped")
        self.resume_button.clicked.connect(lambda: self.start(resume=True))
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop)
        run_buttons = QHBoxLayout()
        run_buttons.addStretch(1)
        for b in (self.start_button, self.resume_button, self.stop_button):
            run_buttons.addWidget(b)

        form = QFormLayout()
        form.addRow("Music folders", self.folders)
        form.addRow("", folder_buttons)
        form.addRow("Preset", self.preset)
        form.addRow("Epochs", self.epochs)
        form.addRow("Model name", self.name)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.plot, 1)
        layout.addLayout(run_buttons)
        self.resize(620, 640)
        self._update_buttons()

    @property
    def output(self) -> Path:
        name = re.sub(r"[^\w.-]+", "-", self.name.text().strip()) or "my-model"
        return user_models_dir() / f"{name}{EXTENSION}"

    def add_folder(self, path: str) -> None:
        if not self.folders.findItems(path, Qt.MatchFlag.MatchExactly):
            self.folders.addItem(path)
        self._update_buttons()

    def _remove_folders(self) -> None:
        for item in self.folders.selectedItems():
            self.folders.takeItem(self.folders.row(item))
        self._update_buttons()

    def _add_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Add a folder of music")
        if path:
            self.add_folder(path)

    @property
    def running(self) -> bool:
        return self._worker is not None

    def losses(self) -> tuple[list, list]:
        """The plotted (epoch position, loss) points: per batch, and validation per epoch."""
        return list(self._batch_losses), list(self._val_losses)

    def _remember(self) -> None:
        s = self._settings
        s.training_folders = [self.folders.item(i).text() for i in range(self.folders.count())]
        s.training_preset, s.training_epochs, s.training_name = (self.preset.currentData(), self.epochs.value(),
                                                                  self.name.text())

    def _update_buttons(self) -> None:
        self._remember()  # every change of a choice passes here
        running = self._worker is not None
        can_train = not running and self._unavailable is None
        self.start_button.setEnabled(can_train and self.folders.count() > 0)
        # A run that failed before its first checkpoint left nothing to resume.
        self.resume_button.setEnabled(can_train and (work_dir(self.output) / "checkpoint.npz").is_file())
        if can_train and not self._started:
            n = self.folders.count()
            self.status.setText(f"{n} folder{'s' if n != 1 else ''} of music: press Start." if n else ADD_FOLDERS)
        self.stop_button.setEnabled(running)
        for w in (self.folders, self._add, self._remove, self.preset, self.epochs, self.name):
            w.setEnabled(not running)

    def start(self, resume: bool) -> None:
        self.output.parent.mkdir(parents=True, exist_ok=True)
        folders = [self.folders.item(i).text() for i in range(self.folders.count())]
        self._batch_losses, self._val_losses = [], []
        self._loss_curve.setData([], [])
        self._val_curve.setData([], [])
        self._started = True
        self.status.setText("Loading the music…")
        self.progress.setRange(0, 0)
        self.progress.show()
        self._worker = TrainingWorker(folders, self.output, self.preset.currentData(), self.epochs.value(), resume)
        self._worker.progress.connect(self._on_progress)
        self._worker.done.connect(self._on_done)
        self._worker.failed.connect(lambda text: self.status.setText(f"Training failed: {text}{self._held_out(text)}"))
        self._worker.finished.connect(self._on_finished)
        self._worker.start()
        self._update_buttons()

    def _held_out(self, failure: str) -> str:
        """Why there was less audio than the folders hold: whole files are kept for validation."""
        if not failure.startswith("not enough training audio"):
            return ""
        n = len(find_audio_files([self.folders.item(i).text() for i in range(self.folders.count())]))
        held = len(split_files(n, PRESETS[self.preset.currentData()].training.validation_fraction, 0)[1])
        return (f". Of the {n} audio file{'s' if n != 1 else ''} found, {held} {'is' if held == 1 else 'are'} held "
                "out for validation and not trained on; add more music" if held else "")

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self.status.setText("Stopping after this batch…")

    def stop_and_wait(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self._on_finished()

    def _on_progress(self, p) -> None:
        self._completed = p.stage == "done"
        if p.stage == "loading":
            self.status.setText(p.message or "Loading the music…")
            return
        if p.batches:
            self.progress.setRange(0, p.epochs * p.batches)
            self.progress.setValue((p.epoch - 1) * p.batches + p.batch)
        if p.stage == "training" and p.loss is not None and math.isfinite(p.loss) and p.batches:
            self._batch_losses.append(((p.epoch - 1) + p.batch / p.batches, p.loss))
            self._loss_curve.setData(*zip(*self._batch_losses))
        if p.val_loss is not None and (not self._val_losses or self._val_losses[-1][0] != p.epoch):
            self._val_losses.append((p.epoch, p.val_loss))
            xs = [x for epoch, _ in self._val_losses for x in (epoch - 1, epoch)]
            self._val_curve.setData(xs, [loss for _, loss in self._val_losses for _ in range(2)])
        if p.message:
            self.status.setText(p.message)
        elif p.loss is not None:
            eta = f", about {math.ceil(p.eta_seconds / 60)} min left" if p.eta_seconds else ""
            self.status.setText(f"Epoch {p.epoch}/{p.epochs}, batch {p.batch}/{p.batches}, loss {p.loss:.4f}{eta}")

    def _on_done(self, path: str) -> None:
        if Path(path).is_file():  # a run stopped in its first epoch has no model yet
            self.modelTrained.emit(path, self._completed)

    def _on_finished(self) -> None:
        if self._worker is None:  # stop_and_wait got here first
            return
        self._worker.wait()
        self._worker = None
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 1)
        self._update_buttons()

    def showEvent(self, event) -> None:
        self._update_buttons()  # a checkpoint may have appeared since
        super().showEvent(event)

    def closeEvent(self, event) -> None:
        self.stop()  # training stops at the next batch; the dialog can be reopened to resume
        super().closeEvent(event)
