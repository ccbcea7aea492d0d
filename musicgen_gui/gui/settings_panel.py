"""The settings dock: model, length, variation, how closely to follow the seed,
RNG seed, key/level/timbre anchor, seed adaptation, lead-in and devices.

Plain widgets; ``values()`` is what they say, for the controller, and
``changed`` fires when any of them changes.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QSlider,
                               QSpinBox, QToolButton, QVBoxLayout, QWidget)

from ..audio import devices
from ..core.bundle import DEFAULT_MODEL, EXTENSION, bundled_model_names
from ..core.params import MAX_ADAPT_SECONDS, MAX_SECONDS, ContinuationParams, training_unavailable
from .settings import AppSettings

LOAD_FROM_DISK = "__load__"  # the model picker's "Load from disk…" entry
TEMPERATURE_STEPS = 100  # slider steps per unit of temperature
MAX_TEMPERATURE = 2.0
FOLLOW_STEPS = 100


class SettingsPanel(QWidget):
    changed = Signal()  # any setting a continuation depends on

    def __init__(self, parent=None):
        super().__init__(parent)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        self.model = QComboBox()
        self.model.setToolTip("The trained model that continues the seed")
        form.addRow("Model", self.model)

        self.seconds = QDoubleSpinBox()
        self.seconds.setRange(1.0, MAX_SECONDS)
        self.seconds.setDecimals(1)
        self.seconds.setSingleStep(5.0)
        self.seconds.setSuffix(" s")
        self.seconds.setToolTip("How long a continuation (or an extension) is")
        form.addRow("Length", self.seconds)

        self.temperature = QSlider(Qt.Orientation.Horizontal)
        self.temperature.setRange(0, int(MAX_TEMPERATURE * TEMPERATURE_STEPS))
        self.temperature.setToolTip("Temperature: 0 always picks the most likely next frame; "
                                    "higher values vary more. Changes apply while generating.")
        self._temperature_label = QLabel()
        self._temperature_label.setMinimumWidth(32)
        self.temperature.valueChanged.connect(self._show_temperature)
        row = QHBoxLayout()
        row.addWidget(self.temperature, 1)
        row.addWidget(self._temperature_label)
        form.addRow("Variation", row)

        self.follow = QSlider(Qt.Orientation.Horizontal)
        self.follow.setRange(0, FOLLOW_STEPS)
        self.follow.setToolTip("How closely the continuation follows the seed's tempo, key and sound: "
                               "right stays close, left lets it wander")
        self.follow_value = QLabel()
        self.follow_value.setMinimumWidth(32)
        self.follow.valueChanged.connect(self._show_follow)
        row = QHBoxLayout()
        row.addWidget(QLabel("wander"))
        row.addWidget(self.follow, 1)
        row.addWidget(QLabel("stay close"))
        row.addWidget(self.follow_value)
        form.addRow("Follow the seed", row)

        self.fixed_seed = QCheckBox("Fixed")
        self.fixed_seed.setToolTip("Keep the random seed, so the same settings give the same continuation")
        self.rng_seed = QSpinBox()
        self.rng_seed.setRange(0, 2**31 - 1)
        self.rng_seed.setEnabled(False)
        self.fixed_seed.toggled.connect(self.rng_seed.setEnabled)
        row = QHBoxLayout()
        row.addWidget(self.fixed_seed)
        row.addWidget(self.rng_seed, 1)
        form.addRow("Random seed", row)

        self.anchor = QCheckBox("Hold the seed's key, level and timbre")
        self.anchor.setToolTip("Gently pull the continuation's notes, loudness and spectral balance back "
                               "towards the seed's when they drift away")
        form.addRow("Anchor", self.anchor)

        self.adapt = QCheckBox("Fine-tune for")
        self.adapt_seconds = QDoubleSpinBox()
        self.adapt_seconds.setRange(1.0, MAX_ADAPT_SECONDS)
        self.adapt_seconds.setDecimals(0)
        self.adapt_seconds.setSuffix(" s")
        self.adapt_seconds.setEnabled(False)
        self.adapt.toggled.connect(self.adapt_seconds.setEnabled)
        self._adapt_unavailable = training_unavailable()
        self.show_model_reads_seed(False)
        row = QHBoxLayout()
        row.addWidget(self.adapt)
        row.addWidget(self.adapt_seconds, 1)
        form.addRow("Adapt to seed", row)

        self.lead_in = QDoubleSpinBox()
        self.lead_in.setRange(0.0, 30.0)
        self.lead_in.setDecimals(1)
        self.lead_in.setSuffix(" s")
        self.lead_in.setToolTip("Seconds of the seed played just before the continuation, to hear the seam")
        form.addRow("Play seed first", self.lead_in)

        self.input_device = QComboBox()
        self.output_device = QComboBox()
        self.refresh_devices = QToolButton()
        self.refresh_devices.setText("↻")
        self.refresh_devices.setToolTip("Look for sound devices again")
        form.addRow("Microphone", self.input_device)
        row = QHBoxLayout()
        row.addWidget(self.output_device, 1)
        row.addWidget(self.refresh_devices)
        form.addRow("Speakers", row)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addStretch(1)
        for signal in (self.temperature.valueChanged, self.follow.valueChanged, self.seconds.valueChanged,
                       self.fixed_seed.toggled, self.rng_seed.valueChanged, self.anchor.toggled, self.adapt.toggled,
                       self.adapt_seconds.valueChanged, self.lead_in.valueChanged):
            signal.connect(self.changed)

    def params(self) -> ContinuationParams:
        """What the panel says; ``rng_seed`` is None unless "Fixed" is ticked."""
        return ContinuationParams(seconds=self.seconds.value(), temperature=self.temperature_value,
                                  rng_seed=self.rng_seed.value() if self.fixed_seed.isChecked() else None,
                                  anchor=self.anchor.isChecked(), adapt_seconds=self.adapt_value,
                                  follow=self.follow.value() / FOLLOW_STEPS)

    def restore(self, s: AppSettings) -> None:
        p = s.params
        self.seconds.setValue(p.seconds)
        self.set_temperature(p.temperature)
        self.follow.setValue(int(round(p.follow * FOLLOW_STEPS)))
        self._show_follow()
        self.fixed_seed.setChecked(p.rng_seed is not None)
        self.rng_seed.setValue(p.rng_seed or 0)
        self.anchor.setChecked(p.anchor)
        self.adapt.setChecked(s.adapt)
        self.adapt_seconds.setValue(s.adapt_seconds)
        self.lead_in.setValue(s.lead_in)

    def save(self, s: AppSettings) -> None:
        s.params = self.params()
        s.adapt = self.adapt.isChecked()
        s.adapt_seconds = self.adapt_seconds.value()  # kept while adapting is off, for the next time
        s.lead_in = self.lead_in.value()

    def fill_models(self, settings: AppSettings, user_models: Path) -> str | None:
        """List the bundled, trained and loaded models; returns the one to load (the saved choice)."""
        box = self.model
        box.clear()
        for name in bundled_model_names():
            box.addItem(name, name)
        for path in sorted(user_models.glob(f"*{EXTENSION}")) if user_models.is_dir() else []:
            box.addItem(f"{path.stem} (trained)", str(path))
        for path in settings.extra_models + [settings.model]:
            if path and box.findData(path) < 0 and Path(path).is_file():
                box.addItem(Path(path).name, path)
        box.addItem("Load from disk…", LOAD_FROM_DISK)
        index = box.findData(settings.model or DEFAULT_MODEL)
        if index < 0 and box.count() > 1:
            index = 0
        if index >= 0 and box.itemData(index) != LOAD_FROM_DISK:
            box.setCurrentIndex(index)
            return box.itemData(index)
        box.setCurrentIndex(-1)
        box.setPlaceholderText("no model yet: load one or train one")
        return None

    def show_model(self, name_or_path: str) -> None:
        """Show the model in use in the picker (adding a loaded-from-disk one)."""
        box = self.model
        if name_or_path and box.findData(name_or_path) < 0:
            box.insertItem(box.count() - 1, Path(name_or_path).name, name_or_path)
        box.setCurrentIndex(box.findData(name_or_path) if name_or_path else -1)

    def show_model_reads_seed(self, reads_seed: bool) -> None:
        """Adapting to the seed is for the plain models: a seed-conditioned one reads its seed itself."""
        why = (f"Adapting to the seed is training, and {self._adapt_unavailable}" if self._adapt_unavailable else
               "This model reads the seed itself as it continues: there is nothing to fine-tune"
               if reads_seed else None)
        # Such a model is given no key, level or timbre anchor: only the loudness follower applies.
        self.anchor.setText("Hold the seed's loudness" if reads_seed else "Hold the seed's key, level and timbre")
        self.adapt.setEnabled(why is None)
        self.adapt_seconds.setEnabled(why is None and self.adapt.isChecked())
        self.adapt.setToolTip(why or "Fine-tune a copy of the model on the seed before continuing; the model "
                                     "file is not changed. The continuation starts that much later.")

    def show_rng_seed(self, value: int) -> None:
        """The random seed of the take shown (not a change of setting)."""
        with QSignalBlocker(self.rng_seed):
            self.rng_seed.setValue(value)

    @property
    def temperature_value(self) -> float:
        return self.temperature.value() / TEMPERATURE_STEPS

    def set_temperature(self, value: float) -> None:
        self.temperature.setValue(int(round(min(MAX_TEMPERATURE, max(0.0, value)) * TEMPERATURE_STEPS)))
        self._show_temperature()

    def _show_temperature(self, *_) -> None:
        self._temperature_label.setText(f"{self.temperature_value:.2f}")

    def _show_follow(self, *_) -> None:
        self.follow_value.setText(f"{self.follow.value() / FOLLOW_STEPS:.2f}")

    @property
    def adapt_value(self) -> float:
        """Seconds of adaptation to the seed (0: off)."""
        return self.adapt_seconds.value() if self.adapt.isChecked() and self.adapt.isEnabled() else 0.0

    def selected_model(self) -> str:
        return self.model.currentData() or ""

    def fill_devices(self, chosen_input, chosen_output) -> None:
        """List the devices found, showing the ones in use ("none found" when there are none)."""
        for box, kind, chosen in ((self.input_device, devices.INPUT, chosen_input),
                                  (self.output_device, devices.OUTPUT, chosen_output)):
            box.clear()
            for d in devices.list_devices(kind):
                box.addItem(d.label, d.name)
            if chosen is not None and box.findData(chosen.name) >= 0:
                box.setCurrentIndex(box.findData(chosen.name))
            else:
                box.addItem("none found" if box.count() == 0 else "none")
                box.setCurrentIndex(box.count() - 1)
