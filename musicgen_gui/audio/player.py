"""Streaming playback: a worker fills a ring buffer, the audio callback drains it.

The callback runs in its own process (see engine.py for why) and the stream
stays open while the app runs: opening one costs from a few hundred
milliseconds to seconds before the first callback, far too long to do when the
user presses Continue. ``Player`` talks to that process; each thing played is
a ``Playback`` that the producer writes to and the GUI reads counters from.
"""

from __future__ import annotations

import multiprocessing
import time

import numpy as np

from . import engine
from .devices import OUTPUT, AudioDeviceError, Device, stream_settings
from .engine import (CURRENT, DONE_ID, EOF_ID, FIRST_SOUND, LOST, PREFILL, READ, SILENCE, SILENT, SLOTS, START,
                     STOP_ID, UNDERRUNS, WANTED, WRITTEN, XRUNS)

# Device buffer, measured with gui/measure.py on a 2-core machine running two CPU
# hogs: 0.06 s had one device underflow in 90 s of streaming, 0.08 s none, and each
# 20 ms more delays the first sound and the silence after Stop by 20 ms.
LATENCY_S = 0.07
RING_SECONDS = 30.0  # at the device rate; the most that can be queued ahead of playback
_OPEN_TIMEOUT_S = 20.0  # the audio process starting, and PortAudio opening the device


class Playback:
    """One sound played: a seed, or a lead-in followed by its continuation as it is generated.

    The producer (one thread) calls ``write``/``finish``; the GUI reads ``position``,
    ``finished`` and the counters, and may call ``stop``.
    """

    def __init__(self, player: "Player", ident: int, start: int, source_rate: int):
        self._player = player
        self._shared = player._shared
        self.ident = ident
        self._start = start
        self.source_rate = source_rate
        self._scale = player.device_rate / source_rate
        self._resampler = None
        if player.device_rate != source_rate:
            import soxr

            self._resampler = soxr.ResampleStream(source_rate, player.device_rate, 1, dtype="float32")
        self._latency = int(player.latency * player.device_rate)

    # --- GUI side -------------------------------------------------------
    def stop(self) -> None:
        """Fade out within the next callback; returns at once."""
        self._shared.ints[STOP_ID] = max(self._shared.ints[STOP_ID], self.ident)

    @property
    def _is_current(self) -> bool:
        return self._shared.ints[CURRENT] == self.ident

    @property
    def position(self) -> int:
        """The sample (at the source rate) now heard."""
        if not self._is_current:
            return 0
        heard = self._shared.ints[READ] - self._start - self._latency
        return max(0, int(heard / self._scale))

    @property
    def done(self) -> bool:
        """Nothing more will be played: faded out, or everything written was played."""
        return self._shared.ints[DONE_ID] >= self.ident or self._shared.ints[CURRENT] > self.ident

    @property
    def finished(self) -> bool:
        """Done, and the device has played out the last real sample."""
        ints = self._shared.ints
        return self.done and (not self._is_current or ints[SILENCE] >= self._latency + self._player.device_rate // 100)

    def _counter(self, kind: str, field: int):
        """The callback's figures for this playback (valid until SLOTS newer playbacks have started)."""
        if self._shared.ints[CURRENT] < self.ident:
            return None
        slot = 2 * (self.ident % SLOTS)
        if kind == "int":
            return int(self._shared.ints[field + slot])
        return float(self._shared.floats[field + slot]) or None

    underruns = property(lambda self: self._counter("int", UNDERRUNS) or 0,
                         doc="the ring ran dry before the end of the data")
    xruns = property(lambda self: self._counter("int", XRUNS) or 0, doc="output underflows PortAudio reported")
    first_sound_time = property(lambda self: self._counter("float", FIRST_SOUND),
                                doc="perf_counter when the first sample reached the DAC")
    silent_time = property(lambda self: self._counter("float", SILENT),
                           doc="perf_counter when the end of the fade-out reached the DAC")

    # --- producer side (a worker thread) ---------------------------------
    def write(self, samples: np.ndarray, cancelled=lambda: False) -> bool:
        """Queue samples, waiting while the ring is full. False if stopped or cancelled first."""
        samples = self._convert(samples)
        while len(samples):
            if self._shared.ints[STOP_ID] >= self.ident or cancelled():
                return False
            samples = samples[self._put(samples):]
            if len(samples):
                time.sleep(0.005)
        return True

    def finish(self, cancelled=lambda: False) -> bool:
        """No more data: the rest plays out, and running dry is no longer an underrun."""
        ok = True
        if self._resampler is not None:
            ok = self.write(self._resampler.resample_chunk(np.zeros(0, np.float32), last=True), cancelled)
        self._shared.ints[EOF_ID] = self.ident
        return ok

    def _convert(self, samples: np.ndarray) -> np.ndarray:
        samples = np.asarray(samples, np.float32)
        return self._resampler.resample_chunk(samples) if self._resampler is not None else samples

    def _put(self, samples: np.ndarray) -> int:
        ints, data = self._shared.ints, self._shared.data
        written = int(ints[WRITTEN])
        # Counting from READ, not from this playback's start: the callback may still be
        # fading out an older playback, and its samples must not be overwritten.
        n = min(len(samples), len(data) - (written - int(ints[READ])))
        if n > 0:
            start = written % len(data)
            first = min(n, len(data) - start)
            data[start:start + first] = samples[:first]
            data[:n - first] = samples[first:n]
            ints[WRITTEN] = written + n  # published after the data
        return max(n, 0)


class Player:
    """The audio process and its output stream."""

    def __init__(self, device: Device):
        self.device = device
        self.device_rate = 0
        self.latency = 0.0
        self._source_rate = 0
        self._process = None
        self._conn = None
        self._shared: engine.Shared | None = None
        self._pending = False  # an open request awaits its answer
        self._last_id = 0

    def open(self, sample_rate: int) -> None:
        """Start the stream (playing silence) for sources at ``sample_rate``, without waiting for it."""
        if self._process is not None and self._source_rate == sample_rate:
            return
        rate, channels = stream_settings(self.device, OUTPUT, sample_rate)
        if self._process is None:
            ctx = multiprocessing.get_context("spawn")  # never fork a process that runs Qt
            self._shared = engine.Shared.create(int(RING_SECONDS * max(rate, 8000)), ctx)
            self._conn, child = ctx.Pipe()
            self._process = ctx.Process(target=engine.serve, args=(child, *self._shared.raw), daemon=True,
                                        name="musicgen-audio")
            self._process.start()
            child.close()
        elif self._pending:
            self._await_open()
        self._conn.send(("open", self.device.index, rate, channels, LATENCY_S))
        self._pending = True
        self._source_rate, self.device_rate = sample_rate, rate

    def lost_reason(self) -> str | None:
        """Why nothing plays any more (then close() and open a new Player), or None: the stream
        failed or hung (the device or sound server went away), or the audio process died."""
        if self._process is None:
            return None
        failure = int(self._shared.ints[LOST])
        if failure == engine.ENDED:
            return f"{self.device.label} stopped working"
        if failure == engine.HUNG:
            return f"{self.device.label} played nothing for {engine.STALL_S:g} s"
        if not self._process.is_alive():
            return "the audio process ended"
        return None

    def _await_open(self) -> None:
        self._pending = False
        if not self._conn.poll(_OPEN_TIMEOUT_S):
            self.close()
            raise AudioDeviceError(f"{self.device.label} did not start playing")
        status, detail = self._conn.recv()
        if status != "opened":
            self.close()
            raise AudioDeviceError(f"cannot play on {self.device.label}: {detail}")
        self.latency = detail

    def play(self, sample_rate: int, prefill: int = 0) -> Playback:
        """A new playback; whatever played before fades out first."""
        self.open(sample_rate)
        if self._pending:
            self._await_open()
        ints = self._shared.ints
        self.stop()
        self._last_id += 1
        playback = Playback(self, self._last_id, int(ints[WRITTEN]), sample_rate)
        ints[START] = playback._start
        ints[PREFILL] = int(prefill * playback._scale)
        ints[WANTED] = playback.ident  # last: the callback reads START once it sees the new id
        return playback

    def stop(self) -> None:
        if self._shared is not None:
            self._shared.ints[STOP_ID] = self._last_id

    def close(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        try:
            self._conn.send(("quit",))
        except OSError:
            pass
        process.join(timeout=2)
        if process.is_alive():
            process.terminate()
            process.join()
        self._conn.close()
        self._pending = False
        self._source_rate = 0
