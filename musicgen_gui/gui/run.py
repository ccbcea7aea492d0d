"""Runs: Continue, Extend and Regenerate, each streaming a new take as it is generated.

``RunController`` primes the next continuation while the user pauses, starts a
run into a new take (handed to the TakesController, which lists and selects
it), streams it to the speakers, and ends it when generation and playback are
done or the user stops. It reports through signals: ``started``, ``progress``
on every tick, ``ended``. Generation itself is the GenerationController's.
"""

from __future__ import annotations

import dataclasses
import random
import time

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from ..core.errors import MusicgenError
from .generation import PRIME_SECONDS, GenerationController, Go, RunRequest
from .mode import IDLE, STREAMING
from .takes import Take

PRIME_DELAY_MS = 300  # settle time after a change before the next continuation is primed
EXTEND_CONTEXT_SECONDS = 30.0  # the end of the take an extension is seeded with
ANALYSE_EVERY_S = 3.0  # the continuation's tempo and key, and saving it so far, while it streams


class RunController(QObject):
    # The take, the sample and the frame of it where this run starts, and the lead-in's samples.
    started = Signal(object, int, int, int)
    progress = Signal(object, object)  # the take, and the sample of it now heard (None: no speakers)
    ended = Signal(object)  # the take (its ``heard`` says where the listener stopped)

    def __init__(self, app):
        """``app``: the AppController (mode, model, settings, seed, takes, audio, jobs, messages)."""
        super().__init__(app)
        self.app = app
        self.generation = GenerationController(self)
        self.take: Take | None = None  # the take being generated
        self.stats: dict[str, float] = {}  # the last run's figures, for the status bar and measurements
        self.playback = None
        self._run_start = 0  # where in the take the run in progress started
        self._lead = 0  # seed samples played before it
        self._analysed_at = 0.0
        self._adapting_since: float | None = None  # when fine-tuning to the seed began (shown as it goes)
        self._prime_timer = QTimer(self, interval=PRIME_DELAY_MS, singleShot=True, timeout=self._prime)
        self.generation.failed.connect(self._failed)
        self.generation.note.connect(lambda text: app.info(text[0].upper() + text[1:] + "."))
        self.generation.runFinished.connect(self._run_finished)

    # ------------------------------------------------------------ priming
    def _request(self, context: np.ndarray, key: tuple) -> RunRequest:
        """The run for ``context`` with the current settings; a primed one if it was made from the same."""
        app = self.app
        params = app.params
        key = (id(app.bundle), key, params)
        primed = self.generation.primed_request(key)
        if primed is not None:
            return primed
        rng_seed = params.rng_seed if params.rng_seed is not None else random.randrange(2**31)
        return RunRequest(app.bundle, context, dataclasses.replace(params, rng_seed=rng_seed), key)

    def schedule_priming(self) -> None:
        """Anything the next continuation depends on changed: prime it again once the user pauses."""
        self._prime_timer.start()

    def _prime(self) -> None:
        app = self.app
        if app.mode == IDLE and app.enabled("continue") and not app.params.adapt_seconds:
            self.generation.prime(self._request(app.seed.region_samples(), app.seed.key()))

    def set_temperature(self, value: float) -> None:
        if self.app.mode == STREAMING:
            self.generation.set_temperature(value)

    def set_follow(self, value: float) -> None:
        if self.app.mode == STREAMING:
            self.generation.set_follow(value)

    # ------------------------------------------------------------ starting
    def continue_seed(self) -> None:
        """A new take from the selected region."""
        app = self.app
        if not app.enabled("continue"):
            return
        seed = app.seed
        context = seed.region_samples()
        rate = app.features.sample_rate
        take = Take(rate, context.copy(), None, app.model_name, seed.clip.path,
                    (seed.region[0] / rate, seed.region[1] / rate))
        self._start(self._request(context, seed.key()), take, lead=context)

    def regenerate(self) -> None:
        """A new take from the selected take's seed, with the current settings."""
        if not self.app.enabled("regenerate"):
            return
        old = self.app.takes.current
        take = Take(old.sample_rate, old.seed, None, self.app.model_name, old.source, old.region_s)
        self._start(self._request(old.seed, ("take", old.ident)), take, lead=old.seed)

    def extend(self) -> None:
        """A new take: the selected one as heard, continued from its end."""
        app = self.app
        if not app.enabled("extend"):
            return
        old, cfg = app.takes.current, app.features
        heard = old.continuation()
        take = Take(old.sample_rate, old.seed, None, app.model_name, old.source, old.region_s, parent=old.ident,
                    continuation_samples=heard.copy())
        frames = old.frames()[:len(heard) // cfg.hop]
        if frames.shape[1] == cfg.n_bins:  # shown before the seam (a take read from disk has none)
            take.reserve(0, len(frames), frames.shape[1])
            take.append(np.zeros(0, np.float32), frames)
        context = np.concatenate([old.seed, heard])[-int(EXTEND_CONTEXT_SECONDS * old.sample_rate):]
        self._start(self._request(context, ("extend", old.ident, old.kept)), take, lead=context)

    def _start(self, request: RunRequest, take: Take, lead: np.ndarray) -> None:
        app, pressed = self.app, time.perf_counter()
        self._prime_timer.stop()
        primed = self.generation.primed_request(request.key) is request
        take.params = request.params
        cfg = app.features
        self._run_start = take.n_samples
        total = int(round(request.params.seconds * cfg.sample_rate))
        take.reserve(total, total // cfg.hop + 16, cfg.n_bins)
        playback = None
        lead = lead[max(0, len(lead) - int(app.lead_in * cfg.sample_rate)):]
        if app.audio.player is not None:
            try:
                # Sounds once some of the continuation is queued too: the first block can be slow.
                playback = app.audio.play(cfg.sample_rate, prefill=len(lead) + int(PRIME_SECONDS * cfg.sample_rate))
            except MusicgenError as exc:
                app.error(str(exc))
        self.playback, self._lead, self.take = playback, len(lead), take
        first_frame = take.n_frames  # read before the worker starts: a primed run adds its frames at once
        self.generation.start(request, Go(take, playback, lead))
        self.stats = {"pressed": pressed, "primed": primed}
        self._adapting_since = None
        app.clearMessages.emit()
        app.set_mode(STREAMING)
        app.takes.model.add(take)  # named, so that the views can say which take streams
        self._analysed_at = time.monotonic()
        self.started.emit(take, self._run_start, first_frame, self._lead)
        app.takes.select(take)

    # ------------------------------------------------------------- ending
    def _failed(self, text: str) -> None:
        if self.app.mode == STREAMING and self.take.n_samples == 0:
            self._end()  # nothing was made: back to idle at once, and no take is left
        self.app.error(text)

    def _run_finished(self) -> None:
        if self.app.mode == STREAMING and self.playback is None:
            self._end()  # nothing to play out

    def stop(self) -> None:
        """Stop at once: the take ends where the listener stopped hearing it."""
        if self.app.mode != STREAMING:
            return
        self.generation.abort()
        heard = self.heard()
        # Without speakers, the take ends where generation had got to: the worker may still add a block.
        self._end(self.take.n_samples if heard is None else heard)

    def heard(self) -> int | None:
        """The sample of the take now heard (None without speakers)."""
        if self.playback is None:
            return None
        return self._run_start + max(0, self.playback.position - self._lead)

    def _end(self, heard: int | None = None) -> None:
        app = self.app
        take, self.take = self.take, None
        playback, self.playback = self.playback, None
        if playback is not None:
            self.stats.update(underruns=playback.underruns, xruns=playback.xruns)
            playback.stop()
        take.heard = heard
        if take.n_samples == 0:  # stopped or failed before anything was generated: nothing to keep
            app.set_mode(IDLE)
            takes = app.takes
            takes.model.delete(takes.model.row_of(take), undoable=False)
            takes.model.store.delete(take)  # set aside, if a save got there first, and gone at the next start
            takes.select(takes.previous if takes.current is take else takes.current)
            self.ended.emit(take)
            return
        app.takes.model.changed(take)
        store = app.takes.model.store  # written in the background: a long take is tens of MB
        app.jobs.run(lambda: store.save(take), lambda _: None,
                     lambda text: app.error(f"{take.name} is not saved: {text}"))
        app.takes.analyse(take)
        app.set_mode(IDLE)
        self.ended.emit(take)
        self.schedule_priming()

    def close(self) -> None:
        """Abort every worker and wait for their threads (the window is closing)."""
        self._prime_timer.stop()
        self._prime_timer.timeout.disconnect()
        self.generation.wait_all()

    # ------------------------------------------------------------- status
    def status(self) -> str:
        take, rate = self.take, self.app.features.sample_rate
        if self.generation.adapting:
            elapsed = time.monotonic() - (self._adapting_since or time.monotonic())
            return (f"adapting the model to the seed · {elapsed:.0f} s (TensorFlow loads first, the first time; "
                    f"then {take.params.adapt_seconds:.0f} s of fine-tuning)…")
        generated = (take.n_samples - self._run_start) / rate
        heard = self.heard()
        if not self.generation.running and heard is not None:  # all generated: what is left only plays
            return f"Playing {take.name} · {max(0, heard) / rate:.1f} of {take.n_samples / rate:.1f} s"
        text = f"generating {take.name} · {generated:.1f} s"
        if heard is not None:
            ahead = (take.n_samples - heard) / rate
            # Both are heard as dropouts: the ring ran dry (generation fell behind), or the device did
            # (the audio process was late), which the audio status counts over the session.
            dropouts = self.playback.underruns + self.playback.xruns
            text += f" · {max(0.0, ahead):.1f} s ahead · dropouts {dropouts}"
        if "fps" in self.stats:
            text += f" · {self.stats['fps']:.0f} fps"
        return text

    def tick(self) -> None:
        if self.app.mode != STREAMING:
            return
        app, take, playback = self.app, self.take, self.playback
        if self.generation.adapting and self._adapting_since is None:
            self._adapting_since = time.monotonic()
        if playback is not None and "first_sound" not in self.stats and playback.first_sound_time is not None:
            self.stats["first_sound"] = playback.first_sound_time - self.stats["pressed"]
        if time.monotonic() - self._analysed_at > ANALYSE_EVERY_S and take.n_samples:
            self._analysed_at = time.monotonic()
            app.takes.analyse(take)
            store = app.takes.model.store  # so far, in case the app dies before the end
            app.jobs.run(lambda: store.save(take, final=False), lambda _: None,
                         lambda text: app.error(f"{take.name} is not saved: {text}"))
        app.takes.model.changed(take)  # its length in the list grows
        if not self.generation.running and playback is not None and playback.finished:
            self._end()
            return
        self.progress.emit(take, self.heard())
