"""The views that need no pyqtgraph: the seed as the window first shows it, and the level meter.

The window is drawn before the plots are built (waveform.py, spectrogram.py): pyqtgraph takes longer
to import than all else the first paint needs. Until then ``SeedPreview`` stands in their place.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QLineF, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QProgressBar, QWidget

SEED_COLOUR = "#90caf9"
LEFT_AXIS_PX = 64  # the plots' value axes: as wide in both, so that their time axes line up
WAVEFORM_SHARE = 1 / 3  # of the height, as the plots split it (the spectrogram has the rest)


class SeedPreview(QWidget):
    """The seed's peak envelope, one line per pixel column, where the waveform plot will be."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._samples: np.ndarray | None = None
        self._drawn = False  # what it shows has been painted
        self.setAutoFillBackground(True)
        palette = self.palette()
        palette.setColor(self.backgroundRole(), Qt.GlobalColor.black)  # the plots' background
        self.setPalette(palette)

    def show_clip(self, clip) -> None:
        """A SeedClip (seed.py)."""
        self._samples, self._drawn = clip.samples, False
        self.update()

    @property
    def drawn(self) -> bool:
        """Whether the clip last given (if any) has been painted."""
        return self._drawn

    def paintEvent(self, event) -> None:
        self._drawn = True
        samples, width = self._samples, self.width() - LEFT_AXIS_PX
        if samples is None or width <= 0 or len(samples) < width:
            return
        peaks = np.abs(samples[:len(samples) // width * width]).reshape(width, -1).max(axis=1)
        middle = self.height() * WAVEFORM_SHARE / 2
        painter = QPainter(self)
        painter.setPen(QColor(SEED_COLOUR))
        painter.drawLines([QLineF(LEFT_AXIS_PX + x, middle * (1 - p), LEFT_AXIS_PX + x, middle * (1 + p))
                           for x, p in enumerate(np.minimum(peaks, 1.0).tolist())])


class LevelMeter(QProgressBar):
    """Peak level in dBFS, -60 to 0."""

    FLOOR_DB = -60.0

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setOrientation(Qt.Orientation.Vertical)
        self.setRange(0, 600)
        self.setTextVisible(False)
        self.setFixedWidth(14)
        self.setToolTip("Input level")
        self.setStyleSheet("QProgressBar { background: #202020; border: 1px solid #444; }"
                           "QProgressBar::chunk { background: #81c784; }")

    def set_peak(self, peak: float) -> None:
        db = 20 * math.log10(peak) if peak > 0 else self.FLOOR_DB
        self.setValue(int(10 * (max(self.FLOOR_DB, min(0.0, db)) - self.FLOOR_DB)))
