"""The plots: the seed's waveform with its region, the spectrogram, the level meter.

They only draw what they are given; frames come from the core (log power) and
are turned into decibels with ``features.to_decibels``.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QProgressBar

from ..core.features import FeatureConfig, to_decibels

DB_RANGE = (-90.0, -10.0)  # colour scale: quiet piano still shows, full-scale tones saturate
EMPTY_HINT = "Press R to record, Ctrl+O to open a file,\nor drop an audio file anywhere on the window"
PLAYHEAD_PEN = pg.mkPen("#ffd54f", width=2)
SEAM_PEN = pg.mkPen("#4fc3f7", width=2, style=Qt.PenStyle.DashLine)
GENERATED_PEN = pg.mkPen("#81c784", width=1, style=Qt.PenStyle.DotLine)
LABEL_FILL = pg.mkBrush(0, 0, 0, 170)  # labels stay readable over the bright parts of the image
LOG_FLOOR_HZ = 40.0  # the log-frequency view's lowest frequency: below it an STFT bin spans an octave
LEFT_AXIS_PX = 64
LOG_ROWS = 384  # rows of the log-frequency image, spaced evenly in log frequency
LOG_TICKS_HZ = (50, 100, 200, 500, 1000, 2000, 5000, 10000)  # labelled on the log-frequency axis


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


def _setup(plot: pg.PlotWidget) -> None:
    plot.setAcceptDrops(False)  # drops fall through to the main window
    plot.setMenuEnabled(False)
    plot.getPlotItem().hideButtons()
    plot.setMouseEnabled(x=True, y=False)  # zoom and pan in time only
    plot.setLabel("bottom", "time", units="s")
    # Both plots' left axes are as wide, so that their linked time axes line up, range for range.
    plot.getAxis("left").setWidth(LEFT_AXIS_PX)


class WaveformView(pg.PlotWidget):
    """The loaded clip, where dragging selects the part used as the seed; or a take: its seed, and its
    continuation after the seam (nothing to select)."""

    regionChanged = Signal()  # after the user lets go of the region

    def __init__(self, parent=None):
        super().__init__(parent, title="Seed", viewBox=_SelectingViewBox(self._dragged))
        _setup(self)
        self.setYRange(-1, 1)
        self._rate = 1
        self._length = 0
        self._curve = self.plot(pen=pg.mkPen("#90caf9"))
        self._curve.setDownsampling(auto=True, method="peak")
        self._curve.setClipToView(True)
        self._continuation = self.plot(pen=pg.mkPen("#81c784"))
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
        self._curve.setData(np.arange(len(samples)) / rate, samples)
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
        self._curve.setData(np.arange(len(seed)) / rate, seed)
        self._seam_s = len(seed) / rate
        self._seam.setValue(self._seam_s)
        self._seam.show()
        self.set_continuation(continuation)
        self.setTitle(title)

    def set_continuation(self, samples: np.ndarray) -> None:
        """The take's continuation, sample for sample."""
        self._continuation.setData(self._seam_s + np.arange(len(samples)) / self._rate, samples)

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


class SpectrogramView(pg.PlotWidget):
    """Log-power frames as an image, time on x, frequency on y.

    Frames are appended as they arrive into a buffer that grows by doubling, and
    only the new frames are converted to dB, so redrawing at 30 fps stays cheap.
    With ``window_s`` set it scrolls (the live recording view); otherwise it
    shows everything, with the seam, the playhead and how far generation is ahead.
    """

    def __init__(self, parent=None):
        super().__init__(parent, title="Spectrogram")
        _setup(self)
        self.setLabel("left", "frequency", units="Hz")
        # autoDownsample: draw no more image pixels than screen pixels; painting holds
        # the GIL, which the audio callback needs.
        self._image = pg.ImageItem(axisOrder="col-major", autoDownsample=True)
        self._image.setColorMap(pg.colormap.get("inferno"))
        self.addItem(self._image)
        # The seam's label sits left of its line, the playhead runs right of it: they never overlap.
        self._seam = pg.InfiniteLine(pen=SEAM_PEN, label="seam",
                                     labelOpts={"position": 0.97, "color": "#ffffff", "fill": LABEL_FILL,
                                                "anchors": [(1, 0), (1, 0)]})
        self._playhead = pg.InfiniteLine(pen=PLAYHEAD_PEN)
        # Where generation has got to; the gap to the playhead is how far it is ahead.
        self._generated = pg.InfiniteLine(pen=GENERATED_PEN, label="generated to {value:.1f} s",
                                          labelOpts={"position": 0.06, "color": "#ffffff", "fill": LABEL_FILL,
                                                     "anchors": [(0, 1), (0, 1)]})
        for item in (self._seam, self._playhead, self._generated):
            item.hide()
            self.addItem(item)
        self._hint = pg.TextItem("", color="#bbbbbb", anchor=(0.5, 0.5))  # "computing spectrogram…"
        self._hint.hide()
        self.addItem(self._hint)
        self._right = None
        self._log = False
        self.reset(FeatureConfig(), origin_s=0.0)
        self.setXRange(0.0, 30.0, padding=0)

    def reset(self, cfg: FeatureConfig, origin_s: float, window_s: float | None = None) -> None:
        """Start over; frame 0 is centred ``origin_s`` seconds from the seam."""
        self._cfg = cfg
        self._dt = cfg.hop / cfg.sample_rate
        self._x0 = origin_s - self._dt / 2
        self.set_window(window_s)
        self._db = np.full((256, cfg.n_bins), DB_RANGE[0], np.float32)
        self._n = 0
        self._image.clear()
        self._top_hz = self._image_top = cfg.n_bins * cfg.sample_rate / cfg.n_fft
        self._show_frequencies()
        self._right = None
        self._hint.hide()
        self.set_markers()

    def show_hint(self, text: str) -> None:
        """A line of text in the middle of the view, until the next reset (frames still to come)."""
        (left, right), (bottom, top) = self.viewRange()
        self._hint.setText(text)
        self._hint.setPos((left + right) / 2, (bottom + top) / 2)
        self._hint.show()

    @property
    def hint(self) -> str:
        return self._hint.toPlainText() if self._hint.isVisible() else ""

    def set_top(self, hz: float) -> None:
        """Keep the frequency axis at ``hz`` (the model's range), whatever rate the frames have."""
        self._top_hz = hz
        self._show_frequencies()

    def set_log_frequency(self, on: bool) -> None:
        """Frequency on a log scale (octaves equally tall, as notes are heard), or linear."""
        self._log = on
        axis = self.getAxis("left")
        self._show_frequencies()  # the range first: a linear range read as logarithms overflows
        axis.setLogMode(on)
        # Round frequencies in Hz: pyqtgraph's own log ticks crowd every 1-9 of each decade, scaled to kHz.
        axis.enableAutoSIPrefix(not on)
        axis.setTicks([[(math.log10(hz), f"{hz // 1000}k" if hz >= 1000 else str(hz)) for hz in LOG_TICKS_HZ], []]
                      if on else None)
        self._drawn = -1
        self.render()

    @property
    def log_frequency(self) -> bool:
        return self._log

    def _show_frequencies(self) -> None:
        if self._log:
            self.setYRange(math.log10(LOG_FLOOR_HZ), math.log10(self._top_hz), padding=0)
        else:
            self.setYRange(0, self._top_hz, padding=0)

    def _log_hz(self) -> np.ndarray:
        return LOG_FLOOR_HZ * (self._image_top / LOG_FLOOR_HZ) ** np.linspace(0.0, 1.0, LOG_ROWS)

    def _log_rows(self, image: np.ndarray) -> np.ndarray:
        """The image's columns (bins) resampled to rows evenly spaced in log frequency."""
        cfg = self._cfg
        hz = self._log_hz()
        bins = np.minimum(np.rint(hz * cfg.n_fft / cfg.sample_rate).astype(int), cfg.n_bins - 1)
        return image[:, bins]

    def set_window(self, window_s: float | None) -> None:
        """Scroll through the last ``window_s`` seconds, or (None) show every frame."""
        self._window = None if window_s is None else max(1, int(window_s / self._dt))
        self._drawn = -1

    def set_view(self, left_s: float, right_s: float | None) -> None:
        """Show this span; frames drawn past ``right_s`` scroll the view (None: no scrolling)."""
        self._right = right_s
        self.setXRange(left_s, right_s if right_s is not None else self.end_time, padding=0)

    @property
    def frame_count(self) -> int:
        return self._n

    @property
    def start_time(self) -> float:
        return self._x0

    @property
    def end_time(self) -> float:
        return self._x0 + self._n * self._dt

    def append(self, log_power_frames: np.ndarray) -> None:
        k = len(log_power_frames)
        if not k:
            return
        if self._n + k > len(self._db):
            grown = np.full((max(2 * len(self._db), self._n + k), self._cfg.n_bins), DB_RANGE[0], np.float32)
            grown[:self._n] = self._db[:self._n]
            self._db = grown
        self._db[self._n:self._n + k] = to_decibels(log_power_frames)
        self._n += k

    def render(self) -> None:
        """Redraw if frames arrived since the last call (from the GUI timer)."""
        if self._n == self._drawn:
            return
        self._drawn = self._n
        first = 0 if self._window is None else max(0, self._n - self._window)
        shown = self._db[first:self._n]
        if not len(shown):
            return
        left = self._x0 + first * self._dt
        if self._log:
            self._image.setImage(self._log_rows(shown), levels=DB_RANGE, autoLevels=False)
            bottom = math.log10(LOG_FLOOR_HZ)
            self._image.setRect(left, bottom, len(shown) * self._dt, math.log10(self._image_top) - bottom)
        else:
            self._image.setImage(shown, levels=DB_RANGE, autoLevels=False)
            self._image.setRect(left, 0, len(shown) * self._dt, self._image_top)
        if self._window is not None:  # never wider than what there is: no empty black area
            self.setXRange(max(self._x0, self.end_time - self._window * self._dt),
                           max(self.end_time, self._x0 + self._window * self._dt), padding=0)
        elif self._right is not None and self.end_time > self._right:
            width = self._right - self.viewRange()[0][0]
            self._right = self.end_time
            self.setXRange(self.end_time - width, self.end_time, padding=0)

    def spectrum_at(self, seconds: float) -> tuple[np.ndarray, np.ndarray]:
        """The column drawn at ``seconds``: (the frequency of each row in Hz, its dB), as shown (log or linear)."""
        cfg = self._cfg
        frame = min(self._n - 1, max(0, int(round((seconds - self._x0) / self._dt - 0.5))))
        column = self._db[frame:frame + 1]
        if self._log:
            return self._log_hz(), self._log_rows(column)[0]
        return np.arange(cfg.n_bins) * cfg.sample_rate / cfg.n_fft, column[0]

    def playhead(self) -> float | None:
        return self._playhead.value() if self._playhead.isVisible() else None

    def fit(self, until_s: float | None = None) -> None:
        """Show everything from the first frame to ``until_s`` (or the last frame)."""
        end = self.end_time if until_s is None else max(until_s, self.end_time)
        self.setXRange(self._x0, end, padding=0.01)

    def set_markers(self, seam: float | None = None, playhead: float | None = None,
                    generated: float | None = None) -> None:
        for item, value in ((self._seam, seam), (self._playhead, playhead), (self._generated, generated)):
            item.setVisible(value is not None)
            if value is not None and item.value() != value:
                item.setValue(value)


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
