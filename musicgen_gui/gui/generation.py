"""Generation: one abortable worker per run, and the controller that hands runs to it.

A ``GenerationWorker`` makes its ``ContinuationSession`` in its own thread (the
seed's features are computed there, once), may generate the first half second
ahead of the user pressing Continue (priming), then waits for "go" with the take
to fill and the playback to feed. Everything the GUI tells a running worker
(go, a new temperature or follow, abort) is a message in its inbox, read between blocks;
the session is only ever touched by the worker's thread, which also enters and
leaves the session's BLAS limit.

The GUI never waits on a worker: an aborted one is kept until its ``finished``
signal, and ``wait_all`` is only for closing.
"""

from __future__ import annotations

import itertools
import os
import queue
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal

from ..core.bundle import ModelBundle
from ..core.params import ContinuationParams
from .workers import describe

if TYPE_CHECKING:
    from ..core.session import ContinuationSession

PRIME_SECONDS = 0.5  # audio generated ahead of the user pressing Continue, and queued before a run sounds
# How far generation may run ahead of what is heard, past the lead-in. A change of variation
# applies to the next frame made, which phase reconstruction and the loudness follower hold
# back (1.2 s together) before this delay: heard about 2 s after the change.
LOOKAHEAD_SECONDS = 0.8
WORKER_NICE = -5  # generation's thread; the audio process runs real-time, or at -10


@dataclass(frozen=True)
class RunRequest:
    bundle: ModelBundle
    context: np.ndarray  # the audio continued: the seed, or the end of the take extended
    params: ContinuationParams
    key: tuple  # what the run was made from, less the random seed when that is free: a primed run matches it


@dataclass
class Go:
    take: object  # takes.Take, reserved for the run
    playback: object | None  # audio.player.Playback, or None without speakers
    lead: np.ndarray  # played before the continuation


class GenerationWorker(QThread):
    failed = Signal(str)
    note = Signal(str)  # something the session says about this seed, once the run goes

    def __init__(self, request: RunRequest, prime_seconds: float):
        super().__init__()
        self.request = request
        self._prime_target = int(prime_seconds * request.bundle.features.sample_rate)
        self._inbox: queue.Queue = queue.Queue()
        self._abort = threading.Event()
        self._session: ContinuationSession | None = None
        self.adapting = False  # fine-tuning to the seed, before any sound
        self.primed = threading.Event()  # the first blocks are made; it waits for go

    # --- GUI thread ---
    def go(self, go: Go) -> None:
        self._inbox.put(go)

    def set_temperature(self, value: float) -> None:
        self._inbox.put(("temperature", value))

    def set_follow(self, value: float) -> None:
        self._inbox.put(("follow", value))

    def abort(self) -> None:
        """Stops between two frames, whatever the worker is doing."""
        self._abort.set()
        session = self._session
        if session is not None:
            session.cancel()
        self._inbox.put(None)

    # --- the worker's thread ---
    def run(self) -> None:
        go, blocks = None, None
        _raise_priority()
        try:
            # Imported here, in the worker's thread: the generator's modules are not needed to show the window.
            from ..core.session import ContinuationSession

            session = ContinuationSession(self.request.bundle, self.request.context, self.request.params)
            self._session = session
            if self._abort.is_set():
                return
            primed, produced = [], 0
            if self._prime_target and not self.request.params.adapt_seconds:
                blocks = session.blocks()
                for block in blocks:
                    primed.append(block)
                    produced += len(block.samples)
                    if produced >= self._prime_target or self._abort.is_set():
                        break
            self.primed.set()
            while go is None:
                message = self._inbox.get()
                if message is None or self._abort.is_set():
                    return
                go = self._apply(message, session, None)
            for note in session.notes:
                self.note.emit(note)
            playback, cancelled = go.playback, lambda: session.cancelled
            self.adapting = bool(session.adapt_seconds)
            session.adapt()  # before any sound: the lead-in must run straight into the continuation
            self.adapting = False
            if playback is not None:
                if not playback.write(go.lead, cancelled):
                    return
                playback.limit_ahead(int(LOOKAHEAD_SECONDS * self.request.bundle.features.sample_rate))
            if blocks is None:
                blocks = session.blocks()
            for block in itertools.chain(primed, blocks):
                self._drain(session, go.take)
                go.take.append(block.samples, block.frames)
                if playback is not None and not playback.write(block.samples, cancelled):
                    return
        except Exception as exc:  # reported, never raised into Qt
            self.failed.emit(describe(exc))
        finally:
            if blocks is not None:
                blocks.close()  # leaves the BLAS limit, in this thread
            if go is not None and go.playback is not None:
                go.playback.finish(lambda: self._session is not None and self._session.cancelled)

    def _drain(self, session: ContinuationSession, take) -> None:
        while True:
            try:
                message = self._inbox.get_nowait()
            except queue.Empty:
                return
            self._apply(message, session, take)

    @staticmethod
    def _apply(message, session: ContinuationSession, take):
        if isinstance(message, Go):
            return message
        if isinstance(message, tuple) and message[0] == "temperature":
            session.temperature = message[1]
            if take is not None:
                take.temperature_changes.append((take.n_samples, message[1]))
        if isinstance(message, tuple) and message[0] == "follow":
            session.follow = message[1]
            if take is not None:
                take.follow_changes.append((take.n_samples, message[1]))
        return None


def _raise_priority() -> None:
    """This thread ahead of other programs for the CPU, where the user is allowed it: it runs only
    LOOKAHEAD_SECONDS ahead of what is heard, so a busy machine must not hold it back for longer."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WORKER_NICE)
    except (OSError, AttributeError):  # not permitted (RLIMIT_NICE), or not Linux
        pass


class GenerationController(QObject):
    """At most one run and one primed run; each worker is started once and thrown away."""

    runFinished = Signal()  # the run in progress ended (done, aborted or failed)
    failed = Signal(str)
    note = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.worker: GenerationWorker | None = None  # the run in progress
        self._primer: GenerationWorker | None = None
        self._retired: set[GenerationWorker] = set()  # aborted or finished, until their thread has ended

    @property
    def running(self) -> bool:
        return self.worker is not None

    @property
    def primed(self) -> bool:
        """A run is primed: Continue with the same settings sounds at once."""
        return self._primer is not None and self._primer.primed.is_set()

    @property
    def adapting(self) -> bool:
        return self.worker is not None and self.worker.adapting

    def prime(self, request: RunRequest) -> None:
        """Start ``request`` ahead of Continue, unless the primed run already matches it."""
        if self._primer is not None and self._primer.request.key == request.key:
            return
        self.drop_primer()
        self._primer = self._start_worker(request, PRIME_SECONDS)

    def primed_request(self, key: tuple) -> RunRequest | None:
        """The primed run's request, if it was made from ``key`` (its random seed is then the one to use)."""
        return self._primer.request if self._primer is not None and self._primer.request.key == key else None

    def drop_primer(self) -> None:
        if self._primer is not None:
            self._retire(self._primer)
            self._primer = None

    def start(self, request: RunRequest, go: Go) -> GenerationWorker:
        """Run ``request`` into ``go.take`` (the primed run if it matches)."""
        self.abort()
        if self._primer is not None and self._primer.request is request:
            worker, self._primer = self._primer, None
        else:
            self.drop_primer()
            worker = self._start_worker(request, 0.0)
        self.worker = worker
        worker.go(go)
        return worker

    def set_temperature(self, value: float) -> None:
        if self.worker is not None:
            self.worker.set_temperature(value)

    def set_follow(self, value: float) -> None:
        if self.worker is not None:
            self.worker.set_follow(value)

    def abort(self) -> None:
        if self.worker is not None:
            self._retire(self.worker)
            self.worker = None

    def wait_all(self) -> None:
        """Abort everything and wait for the threads (closing the window)."""
        self.abort()
        self.drop_primer()
        for worker in list(self._retired):
            worker.wait()

    def _start_worker(self, request: RunRequest, prime_seconds: float) -> GenerationWorker:
        worker = GenerationWorker(request, prime_seconds)
        worker.failed.connect(self._failed)
        worker.note.connect(self.note)
        worker.finished.connect(self._finished)
        worker.start()
        return worker

    def _retire(self, worker: GenerationWorker) -> None:
        worker.abort()
        self._retired.add(worker)

    def _failed(self, text: str) -> None:
        if self.sender() is self.worker:  # a primer's failure comes back when the user continues
            self.failed.emit(text)

    def _finished(self) -> None:
        worker = self.sender()
        worker.wait()  # finished is emitted just before the thread has quite ended
        self._retired.discard(worker)
        if worker is self._primer:
            self._primer = None
        if worker is self.worker:
            self.worker = None
            self.runFinished.emit()
