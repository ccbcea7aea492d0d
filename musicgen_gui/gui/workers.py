"""Background work on QThreads: one-off jobs (export, loading, analysing) and training.

Generation has its own worker, in generation.py.

Each thread's ``run()`` catches every exception and reports it through
``failed`` as a sentence for the message bar, so nothing raised off the GUI
thread can crash the app or vanish silently.

Threads have no Qt parent: Python owns them, and the owner drops its reference
in the slot connected to ``finished``, after ``wait()``: ``finished`` is emitted
just before the thread has quite exited, and destroying it in that window (or
with deleteLater while a parent is being destroyed) kills the process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QThread, Signal

from ..core.errors import MusicgenError
from ..core.training import train  # TensorFlow is imported only inside train()

log = logging.getLogger(__name__)


def describe(exc: BaseException) -> str:
    """The message the user sees: ours as is, anything else with its type (and logged)."""
    if isinstance(exc, MusicgenError):
        return str(exc)
    log.error("unexpected error", exc_info=exc)
    return f"unexpected error: {type(exc).__name__}: {exc}"


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


class Jobs(QObject):
    """The one-off background jobs in flight (loading, analysing, saving, exporting): each a CallWorker,
    kept until its thread has ended; ``idle`` once the last has (after its ``done`` or ``failed``)."""

    idle = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._jobs: set[CallWorker] = set()
        self._closed = False

    def run(self, fn: Callable[[], object], on_done, on_failed) -> CallWorker:
        job = CallWorker(fn)
        # Once closed, what a job reports is dropped: the widgets it would reach are being deleted,
        # and a callback could start more work that outlives the window.
        job.done.connect(lambda result: None if self._closed else on_done(result))
        job.failed.connect(lambda message: None if self._closed else on_failed(message))
        job.finished.connect(self._finished)
        self._jobs.add(job)
        job.start()
        return job

    def _finished(self) -> None:
        job = self.sender()
        job.wait()
        self._jobs.discard(job)
        if not self._jobs:
            self.idle.emit()

    @property
    def busy(self) -> bool:
        return bool(self._jobs)

    def close(self) -> None:
        """Wait for the jobs in flight to end (a save among them is written whole); nothing they
        report reaches the window from now on."""
        self._closed = True
        for job in list(self._jobs):
            job.wait()
