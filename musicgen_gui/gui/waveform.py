"""The waveform: the seed clip with its selected region, or a take (its seed, the seam, its
continuation), a recording as it comes in, and the playhead."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal

from .plots import PLAYHEAD_PEN, SEAM_PEN, setup_plot
from .views import SEED_COLOUR

WAVE_PEN_WIDTH = 1.5
MAX_TRACE_POINTS = 1 << 19  # about 24 s at 22,050 Hz drawn sample by sample
EMPTY_HINT = "Press R to record, Ctrl+O to open a file,\nor drop an audio file anywhere on the window"


class _SelectingViewBox(pg.ViewBox):
    """Dragging with the left button selects a span, as in an audio editor (the wheel still zooms)."""

    def __init__(self, on_drag):
        super().__init__()
        self._on_drag = on_drag

    def mouseDragEvent(self, ev, axis=None):
        if ev.button() != Qt.MouseButton.LeftButton:
            return super().mouseDragEvent(ev, axis)
        ev.accept()
        start, now = self.mapSceneToView(ev.buttonDownScenePos()).x(), self.mapSceneToView(ev.scenePos()).x()
        self._on_drag(min(start, now), max(start, now), ev.isFinish())


class _Region(pg.LinearRegionItem):
    """Its edges move; a drag inside it selects afresh (the view box gets it), as in an audio editor.
    Its body never claims a drag: pyqtgraph gives a drag to the item that claimed it on hover."""

    def hoverEvent(self, ev):
        pass

    def mouseDragEvent(self, ev):
        ev.ignore()


def _envelope(peaks: np.ndarray, start_s: float, step_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Points that draw ``peaks`` (one per ``step_s`` from ``start_s``) as a filled-looking ± envelope."""
    t = start_s + np.arange(len(peaks)) * step_s
    return np.repeat(t, 2), np.column_stack([peaks, -peaks]).ravel()


def _trace(samples: np.ndarray, start_s: float, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Points that draw ``samples`` from ``start_s``: every sample, or past MAX_TRACE_POINTS their peak
    envelope, which looks the same at that zoom; handing a plot millions of points froze the window
    for a second on a 10-minute seed."""
    if len(samples) <= MAX_TRACE_POINTS:
        return start_s + np.arange(len(samples)) / rate, samples
    step = -(-len(samples) // (MAX_TRACE_POINTS // 2))
    whole = len(samples) // step * step
    return _envelope(np.abs(samples[:whole]).reshape(-1, step).max(axis=1), start_s, step / rate)


class WaveformView(pg.PlotWidget):
    """The loaded clip, where dragging selects the part used as the seed; or a take: its seed, and its
    continuation after the seam (nothing to select)."""

    regionChanged = Signal()  # after the user lets go of the region

    def __init__(self, parent=None):
        super().__init__(parent, title="Seed", viewBox=_SelectingViewBox(self._dragged))
        setup_plot(self)
        self.setYRange(-1, 1)
        self._rate = 1
        self._length = 0
        # Wider than a pixel: at 1 px, Qt drops the sub-pixel segments that peak downsampling makes of
        # quiet passages, and a quiet recording drew as broken dashes.
        self._curve = self.plot(pen=pg.mkPen(SEED_COLOUR, width=WAVE_PEN_WIDTH))
        self._curve.setDownsampling(auto=True, method="peak")
        self._curve.setClipToView(True)
        self._continuation = self.plot(pen=pg.mkPen("#81c784", width=WAVE_PEN_WIDTH))
        self._continuation.setDownsampling(auto=True, method="peak")
        self._continuation.setClipToView(True)
        self._seam = pg.InfiniteLine(pen=SEAM_PEN)
        self._seam.hide()
        self.addItem(self._seam)
        self._selecting = False
        self._seam_s = 0.0
        self._region = _Region(brush=pg.mkBrush(79, 195, 247, 50))
        self._region.sigRegionChanged.connect(self._show_region)
        self._region.sigRegionChangeFinished.connect(lambda: self._selecting and self.regionChanged.emit())
        self._region.hide()
        self.addItem(self._region)
        self._playhead = pg.InfiniteLine(pen=PLAYHEAD_PEN)
        self._playhead.hide()
        self.addItem(self._playhead)
        self._hint = pg.TextItem(EMPTY_HINT, color="#bbbbbb", anchor=(0.5, 0.5))
        self.addItem(self._hint)
        self._hint.setPos(0.5, 0)
        self.setXRange(0, 1)

    def _dragged(self, start: float, end: float, finished: bool) -> None:
        if self._length and self._selecting:
            limit = self._length / self._rate
            self._region.setRegion((max(0.0, start), min(limit, end)))
            if finished:
                self.regionChanged.emit()

    def _show_region(self) -> None:
        if self._length and self._selecting:
            start, end = (n / self._rate for n in self.region())
            self.setTitle(f"Seed: {start:.2f}–{end:.2f} s selected ({end - start:.2f} s of "
                          f"{self._length / self._rate:.2f} s); drag to select")

    def set_audio(self, samples: np.ndarray, rate: int, region: tuple[int, int] | None = None) -> None:
        """A seed clip, with ``region`` (samples; None: all of it) selected."""
        self._rate, self._length, self._selecting = rate, len(samples), True
        seconds = len(samples) / rate
        self._curve.setData(*_trace(samples, 0.0, rate))
        self._continuation.setData([], [])
        self._seam.hide()
        self._hint.hide()
        self._region.setBounds((0, seconds))
        start, end = region if region is not None else (0, len(samples))
        self._region.setRegion((start / rate, end / rate))
        self._region.show()
        self._show_region()
        self.setXRange(0, seconds, padding=0.01)

    def show_take(self, title: str, seed: np.ndarray, continuation: np.ndarray, rate: int) -> None:
        """A take: its seed from 0 s, its continuation from the seam."""
        self._rate, self._length, self._selecting = rate, 0, False
        self._region.hide()
        self._hint.hide()
        self._curve.setData(*_trace(seed, 0.0, rate))
        self._seam_s = len(seed) / rate
        self._seam.setValue(self._seam_s)
        self._seam.show()
        self.set_continuation(continuation)
        self.setTitle(title)

    def set_continuation(self, samples: np.ndarray) -> None:
        """The take's continuation, sample for sample."""
        self._continuation.setData(*_trace(samples, self._seam_s, self._rate))

    def set_continuation_peaks(self, peaks: np.ndarray, step_s: float) -> None:
        """The continuation so far as its peak envelope: redrawn as it streams, it stays cheap when long."""
        self._continuation.setData(*_envelope(peaks, self._seam_s, step_s))

    def clear_audio(self, hint: str = EMPTY_HINT) -> None:
        self._curve.setData([], [])
        self._continuation.setData([], [])
        self._seam.hide()
        self._region.hide()
        self._hint.setText(hint)
        self._hint.setVisible(bool(hint))
        self._length = 0
        self.setTitle("Seed")

    def show_live(self, peaks: np.ndarray, step_s: float, seconds: float) -> None:
        """The recording so far, as its peak envelope over the last ``seconds``."""
        shown = peaks[-int(seconds / step_s):]
        start = (len(peaks) - len(shown)) * step_s
        self._curve.setData(*_envelope(shown, start, step_s))
        self.setXRange(start, start + seconds, padding=0)
        self.setTitle(f"Recording: {len(peaks) * step_s:.1f} s · press R again to stop and use it as the seed")

    def shown(self) -> tuple[np.ndarray, np.ndarray]:
        """What the curves draw now, the seed's then the continuation's: (seconds, values)."""
        parts = [c.getOriginalDataset() for c in (self._curve, self._continuation)]
        parts = [(x, y) for x, y in parts if x is not None]
        if not parts:
            return np.zeros(0), np.zeros(0)
        return np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts])

    def region(self) -> tuple[int, int]:
        """The selected part, in samples."""
        start, end = self._region.getRegion()
        start = max(0, int(round(start * self._rate)))
        return start, min(self._length, max(start, int(round(end * self._rate))))

    def set_region(self, start_s: float, end_s: float) -> None:
        """Select this part of the seed clip (shown, not a take)."""
        if self._selecting:
            self._region.setRegion((start_s, end_s))
            self.regionChanged.emit()

    def set_playhead(self, seconds: float | None) -> None:
        self._playhead.setVisible(seconds is not None)
        if seconds is not None:
            self._playhead.setValue(seconds)

    def playhead(self) -> float | None:
        return self._playhead.value() if self._playhead.isVisible() else None
