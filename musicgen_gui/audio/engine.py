"""The output stream's own process, and the shared memory it plays from.

Why a process: a sounddevice callback is Python and needs the GIL. In the app's
process the GIL is also wanted by Qt painting (which holds it through whole
paint events), the generation worker and the recorder; on a busy 2-core
machine the callback then waited up to 700 ms and the device ran dry. Here the
callback is the only busy thread of its interpreter.

Shared state (one ring for the whole session, indices only ever grow):

* ``data``: the float32 ring, at the device's rate;
* ``control``: one record of ``CONTROL`` (a structured dtype): counters and indices, and
  time stamps (``time.perf_counter``, which is CLOCK_MONOTONIC and so comparable
  between processes on Linux).

A playback is a run of ring samples from ``START`` on, named by an id (1, 2, ...). The
parent announces a new one by writing START, then WANTED; the callback switches
to it once the current one is done (faded out or played to its end), so a
fade-out is never cut short; a playback whose end is known (finished) fades out over
its last samples too. The callback only copies, counts and applies
preallocated ramps: it never allocates arrays, locks, logs or sends messages,
any of which can stall past the device's deadline and be heard as a dropout.
"""

from __future__ import annotations

import os
import time

import numpy as np

from ..core.features import FADE_SAMPLES, fade_in
from .devices import environment

# The control block, declared once: each field is written by one side only.
SLOTS = 4  # per-playback figures live in slot ``id % SLOTS``, so they outlive the switch to the next one
CONTROL = np.dtype([
    # written by the parent
    ("written", "i8"), ("start", "i8"), ("wanted", "i8"), ("prefill", "i8"), ("eof_id", "i8"), ("stop_id", "i8"),
    # written by the callback ("calls" counts its calls: a heartbeat)
    ("read", "i8"), ("current", "i8"), ("done_id", "i8"), ("silence", "i8"), ("calls", "i8"),
    # written by the child's main thread once the stream failed: ENDED or HUNG
    ("lost", "i8"),
    # written by the callback: the ring index whose sample reaches the DAC at DAC_TIME (perf_counter);
    # DAC_SEQ is odd while they are being written (a seqlock: the reader retries)
    ("dac_seq", "i8"), ("dac_read", "i8"), ("dac_time", "f8"),
    ("xruns_total", "i8"),  # device underflows while something played, since the process started
    # per playback slot, written by the callback; times are perf_counter at the DAC
    ("underruns", "i8", (SLOTS,)), ("xruns", "i8", (SLOTS,)), ("first_sound", "f8", (SLOTS,)), ("silent", "f8", (SLOTS,)),
])
ENDED, HUNG = 1, 2

RAMP = FADE_SAMPLES  # of fade in and out (12 ms at 22 kHz): no click, and quick
RT_PRIORITY = 3  # SCHED_RR, below the sound server's threads
STALL_S = 3.0  # a stream (output or input) that claims to run but has not called back for this long hangs
_WATCH_S = 0.25  # how often the child looks at its stream between requests
_FADE_IN, _ON, _FADE_OUT, _OFF = range(4)


class Shared:
    """The shared arrays, viewed as numpy arrays (in either process)."""

    def __init__(self, raw_data, raw_control):
        self.raw = (raw_data, raw_control)
        self.data = np.frombuffer(raw_data, np.float32)
        # A structured scalar indexed out of an array is a view: writes to its fields reach the memory.
        self.control = np.frombuffer(raw_control, CONTROL)[0]

    @classmethod
    def create(cls, capacity: int, ctx) -> "Shared":
        return cls(ctx.RawArray("f", capacity), ctx.RawArray("b", CONTROL.itemsize))


class Callback:
    """The PortAudio callback, with its private state in preallocated attributes."""

    def __init__(self, shared: Shared):
        self.s = shared
        self.ramp_up = fade_in(RAMP)
        self.ramp_down = self.ramp_up[::-1].copy()
        self.gain = _OFF
        self.ramp_pos = 0
        self.playing = False
        self.rate = 1

    def __call__(self, outdata, frames, time_info, status):
        c, data = self.s.control, self.s.data
        out = outdata[:, 0]
        current = c["current"]
        wanted = c["wanted"]
        if wanted != current and (current == 0 or c["done_id"] == current):
            current = self._switch(wanted)
        stop = c["stop_id"] >= current  # ids only grow: stopping one stops all before it
        eof = c["eof_id"] == current
        if stop and self.gain in (_FADE_IN, _ON):
            # Fade out from the gain reached so far, so a stop mid-fade-in cannot jump.
            self.ramp_pos = RAMP - self.ramp_pos if self.gain == _FADE_IN else 0
            self.gain = _FADE_OUT if self.playing else _OFF
        read = c["read"]
        available = c["written"] - read
        if current and not self.playing and available and (available >= c["prefill"] or eof):
            self.playing = True
        got = min(frames, available) if self.playing and self.gain != _OFF else 0
        # Where this block will be heard, from PortAudio's own clock: after a device underflow the
        # sound comes later than the buffer's latency says, and the playhead must follow what is heard.
        c["dac_seq"] += 1
        c["dac_read"] = read
        c["dac_time"] = time.perf_counter() + time_info.outputBufferDacTime - time_info.currentTime
        c["dac_seq"] += 1
        if got:
            start = read % len(data)
            first = min(got, len(data) - start)
            out[:first] = data[start:start + first]
            out[first:got] = data[:got - first]
            c["read"] = read + got
            if eof and available - got < RAMP:
                # The end fades out as a stop does: music cut off mid-wave would end in a click.
                tail = max(0, available - RAMP)  # this block's first sample within RAMP of the end
                out[tail:got] *= self.ramp_down[RAMP - available + tail:RAMP - available + got]
        out[got:] = 0.0
        slot = current % SLOTS
        if self.playing and status.output_underflow:
            c["xruns"][slot] += 1
            c["xruns_total"] += 1
        if got < frames and self.playing and not eof and self.gain != _OFF:
            c["underruns"][slot] += 1
        if got and c["first_sound"][slot] == 0.0:
            c["first_sound"][slot] = c["dac_time"]
        if self.gain == _FADE_IN:
            k = min(got, RAMP - self.ramp_pos)
            out[:k] *= self.ramp_up[self.ramp_pos:self.ramp_pos + k]
            self.ramp_pos += k
            if self.ramp_pos == RAMP:
                self.gain = _ON
        elif self.gain == _FADE_OUT:
            k = min(frames, RAMP - self.ramp_pos)
            out[:k] *= self.ramp_down[self.ramp_pos:self.ramp_pos + k]
            out[k:] = 0.0
            self.ramp_pos += k
            if self.ramp_pos == RAMP:
                self.gain = _OFF
                c["silent"][slot] = (time.perf_counter() + time_info.outputBufferDacTime
                                     - time_info.currentTime + k / self.rate)
        if current and (self.gain == _OFF or (eof and c["read"] == c["written"])):
            c["done_id"] = current
        c["silence"] = 0 if got == frames and self.gain != _OFF else c["silence"] + frames - got
        if outdata.shape[1] > 1:
            outdata[:, 1:] = outdata[:, :1]
        c["calls"] += 1

    def _switch(self, wanted: int) -> int:
        c = self.s.control
        slot = wanted % SLOTS
        c["read"] = c["start"]
        c["underruns"][slot] = c["xruns"][slot] = 0
        c["first_sound"][slot] = c["silent"][slot] = 0.0
        self.gain, self.ramp_pos, self.playing = _FADE_IN, 0, False
        c["current"] = wanted
        return wanted


def serve(conn, raw_data, raw_control) -> None:
    """The child process: open and close streams as the parent asks, until it says quit or goes away."""
    import sounddevice as sd

    _raise_priority()
    shared = Shared(raw_data, raw_control)
    callback = Callback(shared)
    stream = None
    heard = (0, 0.0)  # (CALLS, when it last changed)
    while True:
        try:
            if not conn.poll(_WATCH_S):
                failure = _failure(stream, shared, heard) if stream is not None else 0
                if failure:
                    shared.control["lost"] = failure  # the parent shows it; this process waits to be told to quit
                    stream = None  # not closed: closing a hung stream blocks, and the process ends anyway
                elif stream is not None and shared.control["calls"] != heard[0]:
                    heard = (int(shared.control["calls"]), time.monotonic())
                continue
            message = conn.recv()
        except (EOFError, OSError):  # the app has gone
            break
        if stream is not None and message[0] in ("open", "quit"):
            stream.abort()
            stream.close()
            stream = None
        if message[0] == "quit":
            break
        _, device, rate, channels, latency, variables = message
        callback.rate = rate
        try:
            with environment(variables):  # a sound server's sink, if one was chosen
                stream = sd.OutputStream(device=device, samplerate=rate, channels=channels, dtype="float32",
                                         latency=latency, callback=callback)
            stream.start()
            heard = (int(shared.control["calls"]), float("inf"))  # a stall counts from the first callback on
            conn.send(("opened", stream.latency))
        except Exception as exc:  # reported to the parent, which shows it
            stream = None
            conn.send(("error", str(exc)))


def _raise_priority() -> None:
    """Real-time scheduling for this process's threads (PortAudio's callback thread, made later,
    inherits it), else a better nice value; each only where the user is allowed it.

    Nice -10 alone left the device underflowing with both cores busy: a woken thread still waits
    for the running one's time slice. The priority stays below the sound server's (PulseAudio's
    default is 5), which must run for anything to be heard."""
    try:
        os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(RT_PRIORITY))
        return
    except (OSError, AttributeError):  # no permission (RLIMIT_RTPRIO), or not Linux
        pass
    try:
        os.nice(-10)
    except OSError:
        pass


def _failure(stream, shared: Shared, heard: tuple[int, float]) -> int:
    """ENDED: PortAudio ended the stream (the device or sound server went away); HUNG: it stopped
    calling back; else 0."""
    calls, since = heard
    if not stream.active:
        return ENDED
    return HUNG if shared.control["calls"] == calls and time.monotonic() - since > STALL_S else 0
