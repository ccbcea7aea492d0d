"""The spectrogram: log-power frames drawn in decibels (``features.to_decibels``), on a linear or a
log frequency axis, with the seam, the playhead and how far generation has got."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from ..core.features import FeatureConfig, to_decibels
from .plots import PLAYHEAD_PEN, SEAM_PEN, setup_plot

DB_RANGE = (-90.0, -10.0)  # colour scale: quiet piano still shows, full-scale tones saturate
GENERATED_PEN = pg.mkPen("#81c784", width=1, style=Qt.PenStyle.DotLine)
LABEL_FILL = pg.mkBrush(0, 0, 0, 170)  # labels stay readable over the bright parts of the image
LOG_FLOOR_HZ = 40.0  # the log-frequency view's lowest frequency: below it an STFT bin spans an octave
LOG_ROWS = 384  # rows of the log-frequency image, spaced evenly in log frequency
LOG_TICKS_HZ = (50, 100, 200, 500, 1000, 2000, 5000, 10000)  # labelled on the log-frequency axis


def log_hz(cfg: FeatureConfig) -> np.ndarray:
    """The frequency of each row of the log-frequency image, in Hz."""
    top = cfg.n_bins * cfg.sample_rate / cfg.n_fft
    return LOG_FLOOR_HZ * (top / LOG_FLOOR_HZ) ** np.linspace(0.0, 1.0, LOG_ROWS)


def image(db: np.ndarray, cfg: FeatureConfig, log: bool) -> np.ndarray:
    """What is drawn of these dB frames: their bins as they are, or (``log``) resampled to rows
    evenly spaced in log frequency."""
    if not log:
        return db
    bins = np.minimum(np.rint(log_hz(cfg) * cfg.n_fft / cfg.sample_rate).astype(int), cfg.n_bins - 1)
    return db[:, bins]


@dataclass(frozen=True)
class Picture:
    """Frames made ready to draw, on any thread: a long take's is seconds of work, which the GUI
    thread must not do (``SpectrogramView.show_picture`` only sets it)."""

    db: np.ndarray  # the frames in dB
    image: np.ndarray  # what is drawn of them, on the frequency scale below
    log: bool


def picture(log_power_frames: np.ndarray, cfg: FeatureConfig, log: bool) -> Picture:
    """The frames made ready to draw on a linear or (``log``) a log frequency scale."""
    db = to_decibels(log_power_frames)
    return Picture(db, image(db, cfg, log), log)


class SpectrogramView(pg.PlotWidget):
    """Log-power frames as an image, time on x, frequency on y.

    Frames are appended as they arrive into a buffer that grows by doubling, and
    only the new frames are converted to dB, so redrawing at 30 fps stays cheap.
    With ``window_s`` set it scrolls (the live recording view); otherwise it
    shows everything, with the seam, the playhead and how far generation is ahead.
    """

    def __init__(self, parent=None):
        super().__init__(parent, title="Spectrogram")
        setup_plot(self)
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
        # The view's range is set while the view is linear: a linear range read as logarithms
        # overflows, and a log view clamps a linear range to the logarithms' (±308).
        if on:
            self._show_frequencies()
            axis.setLogMode(True)
            # The unit as plain text: pyqtgraph picks "kHz" for a label with units here, from the
            # range, though the ticks are in Hz.
            self.setLabel("left", "frequency (Hz)")
        else:
            axis.setLogMode(False)
            self._show_frequencies()
            self.setLabel("left", "frequency", units="Hz")
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

    def show_picture(self, ready: Picture) -> None:
        """All the frames at once, made ready elsewhere (``picture``), in place of any appended."""
        self._db, self._n = ready.db, len(ready.db)
        self._drawn = self._n
        # Made for the other scale if it was switched meanwhile: then drawn afresh, as a switch does.
        self._draw(ready.image if ready.log == self._log else image(ready.db, self._cfg, self._log), 0)

    def render(self) -> None:
        """Redraw if frames arrived since the last call (from the GUI timer)."""
        if self._n == self._drawn:
            return
        self._drawn = self._n
        first = 0 if self._window is None else max(0, self._n - self._window)
        shown = self._db[first:self._n]
        if len(shown):
            self._draw(image(shown, self._cfg, self._log), first)

    def _draw(self, columns: np.ndarray, first: int) -> None:
        """``columns``: the image of the frames from ``first`` on."""
        left, width = self._x0 + first * self._dt, len(columns) * self._dt
        self._image.setImage(columns, levels=DB_RANGE, autoLevels=False)
        if self._log:
            bottom = math.log10(LOG_FLOOR_HZ)
            self._image.setRect(left, bottom, width, math.log10(self._image_top) - bottom)
        else:
            self._image.setRect(left, 0, width, self._image_top)
        if self._window is not None:  # never wider than what there is: no empty black area
            self.setXRange(max(self._x0, self.end_time - self._window * self._dt),
                           max(self.end_time, self._x0 + self._window * self._dt), padding=0)
        elif self._right is not None and self.end_time > self._right:
            span = self._right - self.viewRange()[0][0]
            self._right = self.end_time
            self.setXRange(self.end_time - span, self.end_time, padding=0)

    def spectrum_at(self, seconds: float) -> tuple[np.ndarray, np.ndarray]:
        """The column drawn at ``seconds``: (the frequency of each row in Hz, its dB), as shown (log or linear)."""
        cfg = self._cfg
        frame = min(self._n - 1, max(0, int(round((seconds - self._x0) / self._dt - 0.5))))
        column = self._db[frame:frame + 1]
        if self._log:
            return log_hz(cfg), image(column, cfg, True)[0]
        return np.arange(cfg.n_bins) * cfg.sample_rate / cfg.n_fft, column[0]

    def playhead(self) -> float | None:
        return self._playhead.value() if self._playhead.isVisible() else None

    def generated(self) -> float | None:
        """Where the "generated" marker is (None: not shown)."""
        return self._generated.value() if self._generated.isVisible() else None

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
