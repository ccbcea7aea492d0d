"""What the waveform and the spectrogram share: their markers' pens, and axes set up alike, so that
their linked time axes line up range for range."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt

from .views import LEFT_AXIS_PX

PLAYHEAD_PEN = pg.mkPen("#ffd54f", width=2)
SEAM_PEN = pg.mkPen("#4fc3f7", width=2, style=Qt.PenStyle.DashLine)


def setup_plot(plot: pg.PlotWidget) -> None:
    plot.setAcceptDrops(False)  # drops fall through to the main window
    plot.setMenuEnabled(False)
    plot.getPlotItem().hideButtons()
    plot.setMouseEnabled(x=True, y=False)  # zoom and pan in time only
    plot.setLabel("bottom", "time", units="s")
    plot.getAxis("left").setWidth(LEFT_AXIS_PX)
