"""The model picker: the bundled, trained and loaded models, and loading the one picked."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QWidget

from ..core.bundle import EXTENSION
from .controller import AppController
from .settings import AppSettings, user_models_dir
from .settings_panel import LOAD_FROM_DISK, SettingsPanel


class ModelChooser(QObject):
    def __init__(self, panel: SettingsPanel, settings: AppSettings, controller: AppController, window: QWidget):
        super().__init__(window)
        self.panel, self.settings, self.controller, self.window = panel, settings, controller, window
        self._wanted: str | None = None  # asked for, not loaded yet
        self._in_use = ""  # the model loaded ("" if none)
        panel.model.activated.connect(self._picked)
        controller.modelChanged.connect(self._loaded)

    def populate(self) -> None:
        """List the models and load the saved choice."""
        wanted = self.panel.fill_models(self.settings, user_models_dir())
        if wanted:
            self.load(wanted)

    def load(self, name_or_path: str) -> None:
        self._wanted = name_or_path
        self.controller.load_model(name_or_path)

    def load_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Load a model", "", f"musicgen models (*{EXTENSION})")
        if path:
            self.settings.add_extra_model(path)
            self.load(path)
        self.panel.show_model(self._in_use)

    def trained(self, path: str, completed: bool) -> None:
        """List a newly trained model; switch to it only if training ran to the end."""
        if completed:
            self.settings.model = path
        self.populate()

    def _picked(self, index: int) -> None:
        data = self.panel.model.itemData(index)
        if data == LOAD_FROM_DISK:
            self.load_dialog()
        elif data:
            self.load(data)

    def _loaded(self, in_use: str) -> None:
        """A load ended: ``in_use`` is the new model, or the old one if the new one failed ("" if none)."""
        self._in_use = in_use
        if self._wanted is not None:
            self._wanted = None
            if in_use:
                self.settings.model = in_use
            self.panel.show_model(in_use)
        bundle = self.controller.bundle
        self.panel.show_model_reads_seed(bundle is not None and bundle.architecture.conditioned)
