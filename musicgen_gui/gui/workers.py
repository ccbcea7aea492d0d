"""Background work on QThreads: generation, one-off jobs (export, loading) and training.

Each thread's ``run()`` catches every exception and reports it through
``failed`` as a sentence for the message bar, so nothing raised off the GUI
thread can crash the app or vanish silently.

Threads have no Qt parent: Python owns them, and the owner drops its reference
in the slot connected to ``finished``, after ``wait()``: ``finished`` is emitted
just before the thread has quite exited, and destroying it in that window (or
with deleteLater while a parent is being destroyed) kills the process.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterator

from PySide6.QtCore import QThread, Signal

from ..core.errors import MusicgenError
from ..core.training import train  # TensorFlow is imported only inside train()

log = logging.getLogger(__name__)


def describe(exc: BaseException) -> str:
    """The message the user sees: ours as is, anything else with its type (and logged)."""
    if isinstance(exc, MusicgenError):
        return str(exc)
    log.error("unexpected error", exc_info=exc)
    return f"unexpected error: {type(exc).__name__}: {exc}"


class PrimingWorker(QThread):
    """Starts a session before the user presses Continue: the model's warm-up and the
    first blocks are then already done, and the first sound comes sooner.

    ``key`` says what the session was made from; it is used only if nothing changed.
    """

    def __init__(self, session, key, seconds: float, parent=None):
        super().__init__(parent)
        self.session = session
        self.key = key
        self._target = int(seconds * session.sample_rate)
        self._primed: list = []
        self._blocks = None
        self.ok = False

    def run(self) -> None:
        try:
            self._blocks = self.session.blocks()
            produced = 0
            for block in self._blocks:
                self._primed.append(block)
                produced += len(block.samples)
                if produced >= self._target:
                    break
            self.ok = not self.session.cancelled
        except Exception as exc:  # the same error comes back when the user continues without priming
            log.info("priming failed: %s", describe(exc))

    def blocks(self) -> Iterator:
        """The primed blocks, then the rest of the session (after wait(), when ok)."""
        return itertools.chain(self._primed, self._blocks)


class ContinuationWorker(QThread):
    """Drives ContinuationSession.blocks(): each block goes into the take and to the playback."""

    failed = Signal(str)

    def __init__(self, session, take, playback=None, lead=None, blocks: Iterator | None = None, parent=None):
        """lead: samples played before the continuation (the end of the seed), if there is a playback."""
        super().__init__(parent)
        self.session = session
        self.take = take
        self.playback = playback
        self._lead = lead
        self._blocks = blocks if blocks is not None else session.blocks()

    def cancel(self) -> None:
        """Thread-safe: the session stops between two frames."""
        self.session.cancel()

    def run(self) -> None:
        cancelled = lambda: self.session.cancelled  # noqa: E731
        try:
            self.session.adapt()  # before any sound: the lead-in must run straight into the continuation
            if self.playback is not None and not self.playback.write(self._lead, cancelled):
                return
            for block in self._blocks:
                self.take.append(block.samples, block.frames)
                if self.playback is not None and not self.playback.write(block.samples, cancelled):
                    return
        except Exception as exc:  # reported, never raised into Qt
            self.failed.emit(describe(exc))
        finally:
            if self.playback is not None:
                self.playback.finish(cancelled)  # play out what there is, then end


class CallWorker(QThread):
    """Runs one function off the GUI thread; ``done`` carries its result."""

    done = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: Callable[[], object], parent=None):
        super().__init__(parent)
        self._fn = fn

    def run(self) -> None:
        try:
            result = self._fn()
        except Exception as exc:
            self.failed.emit(describe(exc))
        else:
            self.done.emit(result)


class TrainingWorker(QThread):
    """core.training.train with progress reports and a stop flag."""

    progress = Signal(object)  # TrainingProgress
    done = Signal(str)  # the model file
    failed = Signal(str)

    def __init__(self, folders, output, preset: str, epochs: int, resume: bool, parent=None):
        super().__init__(parent)
        self._args = dict(paths=[str(f) for f in folders], output=str(output), preset=preset, epochs=epochs,
                          resume=resume)
        self._stop = False

    def stop(self) -> None:
        self._stop = True

    def run(self) -> None:
        try:
            path = train(**self._args, progress=self.progress.emit, should_stop=lambda: self._stop)
        except Exception as exc:
            self.failed.emit(describe(exc))
        else:
            self.done.emit(str(path))
