"""The settings dock: model, length, variation, RNG seed, level anchor, seed
adaptation, lead-in and devices.

Plain widgets only; the main window reads them when it starts a run and saves
them to QSettings.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QSlider,
                               QSpinBox, QToolButton, QVBoxLayout, QWidget)

from ..core.adapt import MAX_ADAPT_SECONDS
from ..core.training import training_unavailable
from ..core.session import MAX_SECONDS

LOAD_FROM_DISK = "__load__"  # the model picker's "Load from disk…" entry
TEMPERATURE_STEPS = 100  # slider steps per unit of temperature
MAX_TEMPERATURE = 2.0


class SettingsPanel(QWidget):
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

        self.anchor = QCheckBox("Hold the seed's level and timbre")
        self.anchor.setToolTip("Gently pull the continuation's loudness and spectral balance back towards "
                               "the seed's when they drift more than 3 dB away")
        form.addRow("Anchor", self.anchor)

        self.adapt = QCheckBox("Fine-tune for")
        self.adapt_seconds = QDoubleSpinBox()
        self.adapt_seconds.setRange(1.0, MAX_ADAPT_SECONDS)
        self.adapt_seconds.setDecimals(0)
        self.adapt_seconds.setSuffix(" s")
        self.adapt_seconds.setEnabled(False)
        self.adapt.toggled.connect(self.adapt_seconds.setEnabled)
        unavailable = training_unavailable()
        if unavailable:
            self.adapt.setEnabled(False)
            self.adapt.setToolTip(f"Adapting to the seed is training, and {unavailable}")
        else:
            self.adapt.setToolTip("Fine-tune a copy of the model on the seed before continuing; the model "
                                  "file is not changed. The continuation starts that much later.")
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

    @property
    def temperature_value(self) -> float:
        return self.temperature.value() / TEMPERATURE_STEPS

    def set_temperature(self, value: float) -> None:
        self.temperature.setValue(int(round(min(MAX_TEMPERATURE, max(0.0, value)) * TEMPERATURE_STEPS)))
        self._show_temperature()

    def _show_temperature(self, *_) -> None:
        self._temperature_label.setText(f"{self.temperature_value:.2f}")

    @property
    def adapt_value(self) -> float:
        """Seconds of adaptation to the seed (0: off)."""
        return self.adapt_seconds.value() if self.adapt.isChecked() and self.adapt.isEnabled() else 0.0

    def selected_model(self) -> str:
        return self.model.currentData() or ""
