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
from .engine import SLOTS

# Device buffer, measured with benchmarks/measure.py on a 2-core machine running two CPU
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

    def __init__(self, shared: engine.Shared, ident: int, start: int, source_rate: int, device_rate: int,
                 latency_s: float):
        self._control = shared.control
        self._data = shared.data
        self.ident = ident
        self.start = start  # the ring index of its first sample
        self.source_rate = source_rate
        self.device_rate = device_rate
        self._scale = device_rate / source_rate
        self._resampler = None
        if device_rate != source_rate:
            import soxr

            self._resampler = soxr.ResampleStream(source_rate, device_rate, 1, dtype="float32")
        self._latency = int(latency_s * device_rate)
        self._floor = 0  # ring index from which the look-ahead counts (see limit_ahead)
        self._ahead = len(self._data)

    # --- GUI side -------------------------------------------------------
    def stop(self) -> None:
        """Fade out within the next callback; returns at once."""
        self._control["stop_id"] = max(self._control["stop_id"], self.ident)

    @property
    def _is_current(self) -> bool:
        return self._control["current"] == self.ident

    @property
    def position(self) -> int:
        """The sample (at the source rate) now heard, from the time the callback's latest block
        reaches the DAC: a device underflow delays what is heard, and this with it."""
        if not self._is_current:
            return 0
        c = self._control
        while True:
            seq = c["dac_seq"]
            index, at = int(c["dac_read"]), float(c["dac_time"])
            if seq % 2 == 0 and c["dac_seq"] == seq:
                break
        heard = min(index + (time.perf_counter() - at) * self.device_rate, int(c["read"])) - self.start
        return max(0, int(heard / self._scale))

    @property
    def done(self) -> bool:
        """Nothing more will be played: faded out, or everything written was played."""
        return self._control["done_id"] >= self.ident or self._control["current"] > self.ident

    @property
    def finished(self) -> bool:
        """Done, and the device has played out the last real sample."""
        return self.done and (not self._is_current
                              or self._control["silence"] >= self._latency + self.device_rate // 100)

    def _counter(self, field: str):
        """The callback's figure for this playback (valid until SLOTS newer playbacks have started)."""
        if self._control["current"] < self.ident:
            return None
        return self._control[field][self.ident % SLOTS].item()

    underruns = property(lambda self: self._counter("underruns") or 0,
                         doc="the ring ran dry before the end of the data")
    xruns = property(lambda self: self._counter("xruns") or 0, doc="output underflows PortAudio reported")
    first_sound_time = property(lambda self: self._counter("first_sound") or None,
                                doc="perf_counter when the first sample reached the DAC")
    silent_time = property(lambda self: self._counter("silent") or None,
                           doc="perf_counter when the end of the fade-out reached the DAC")

    # --- producer side (a worker thread) ---------------------------------
    def write(self, samples: np.ndarray, cancelled=lambda: False) -> bool:
        """Queue samples, waiting while the ring is full. False if stopped or cancelled first."""
        samples = self._convert(samples)
        while len(samples):
            if self._control["stop_id"] >= self.ident or cancelled():
                return False
            samples = samples[self.put(samples):]
            if len(samples):
                time.sleep(0.005)
        return True

    def limit_ahead(self, samples: int) -> None:
        """From here on, ``write`` waits while more than ``samples`` (at the source rate) written from
        now on are still unheard: what is generated as it plays then follows a change of setting soon."""
        self._floor = int(self._control["written"])
        self._ahead = int(samples * self._scale)

    def finish(self, cancelled=lambda: False) -> bool:
        """No more data: the rest plays out, and running dry is no longer an underrun."""
        ok = True
        if self._resampler is not None:
            ok = self.write(self._resampler.resample_chunk(np.zeros(0, np.float32), last=True), cancelled)
        self._control["eof_id"] = self.ident
        return ok

    def _convert(self, samples: np.ndarray) -> np.ndarray:
        samples = np.asarray(samples, np.float32)
        return self._resampler.resample_chunk(samples) if self._resampler is not None else samples

    def put(self, samples: np.ndarray) -> int:
        """Queue what fits in the ring now, without waiting; returns how many samples."""
        c, data = self._control, self._data
        written = int(c["written"])
        # Counting from READ, not from this playback's start: the callback may still be
        # fading out an older playback, and its samples must not be overwritten.
        read = int(c["read"])
        n = min(len(samples), len(data) - (written - read), self._ahead - (written - max(read, self._floor)))
        if n > 0:
            start = written % len(data)
            first = min(n, len(data) - start)
            data[start:start + first] = samples[:first]
            data[:n - first] = samples[first:n]
            c["written"] = written + n  # published after the data
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
            process = ctx.Process(target=engine.serve, args=(child, *self._shared.raw), daemon=True,
                                  name="musicgen-audio")
            try:
                process.start()
            except (OSError, RuntimeError) as exc:  # no process to be had (resources, an embedding host)
                self._conn.close()
                self._conn = self._shared = None
                lines = str(exc).strip().splitlines()
                raise AudioDeviceError(f"cannot start the audio process: {lines[0] if lines else exc!r}") from exc
            finally:
                child.close()
            self._process = process
        elif self._pending:
            self._await_open()
        self._conn.send(("open", self.device.index, rate, channels, LATENCY_S, self.device.environment(OUTPUT)))
        self._pending = True
        self._source_rate, self.device_rate = sample_rate, rate

    def lost_reason(self) -> str | None:
        """Why nothing plays any more (then close() and open a new Player), or None: the stream
        failed or hung (the device or sound server went away), or the audio process died."""
        if self._process is None:
            return None
        failure = int(self._shared.control["lost"])
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
        c = self._shared.control
        self.stop()
        self._last_id += 1
        playback = Playback(self._shared, self._last_id, int(c["written"]), sample_rate, self.device_rate, self.latency)
        c["start"] = playback.start
        c["prefill"] = int(prefill * self.device_rate / sample_rate)
        c["wanted"] = playback.ident  # last: the callback reads "start" once it sees the new id
        return playback

    def stop(self) -> None:
        if self._shared is not None:
            self._shared.control["stop_id"] = self._last_id

    @property
    def underflows(self) -> int:
        """Device underflows while something played, since this player started: each is a gap heard."""
        return int(self._shared.control["xruns_total"]) if self._shared is not None else 0

    @property
    def pid(self) -> int | None:
        """The audio process's id, while it runs (for measuring its memory)."""
        return self._process.pid if self._process is not None else None

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
