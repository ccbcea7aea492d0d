"""Work that waits until the window has been drawn: the window first, then what fills it in.

A seed shows as its waveform at once; its spectrogram, its tempo and key are worked out only after
that has been painted, so that their threads (and the imports they need, scipy's among them) do not
hold the GIL while the window is first drawn.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QWidget

FALLBACK_MS = 250  # a widget that is not painted by then (covered, minimised) waits no longer


class AfterPaint(QObject):
    """Calls ``fn`` once, just after ``widget``'s next paint (or at once if it is hidden, or after
    FALLBACK_MS if no paint comes)."""

    def __init__(self, widget: QWidget, fn: Callable[[], None]):
        super().__init__(widget)
        self._widget, self._fn, self._done = widget, fn, False
        if not widget.isVisible():
            QTimer.singleShot(0, self, self._fire)
            return
        widget.installEventFilter(self)
        QTimer.singleShot(FALLBACK_MS, self, self._fire)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Paint:
            QTimer.singleShot(0, self, self._fire)  # once this paint, and the window's with it, is done
        return False

    def _fire(self) -> None:
        if self._done:
            return
        self._done = True
        self._widget.removeEventFilter(self)
        self.deleteLater()
        self._fn()


def after_paint(widget: QWidget, fn: Callable[[], None]) -> None:
    AfterPaint(widget, fn)
