"""Recording the microphone straight to disk, so that a crash keeps the take.

The input callback only copies each block into a preallocated ring (InputRing) and counts
(no allocation, no lock, no IO); a writer thread appends what is new to a
32-bit float WAV file every 50 ms, measures the level and makes log-power
frames for the live spectrogram. At most the last 50 ms, plus what the OS had
not handed over, is lost if the process dies.

The file is written with plain ``os.write`` (a full disk is then a plain
OSError), after a header whose lengths say "unknown: read to the end of the
file", as streaming writers do. While recording it is named
``recording-<time>.partial.wav`` and held with ``flock``. A normal stop writes
the lengths into the header and drops ``.partial``. After a crash the partial
file is left, unlocked: the kernel drops the lock of a dead process.
``orphans()`` finds such files, ``recover()`` finishes one as stop() would,
``discard()`` deletes one, and ``prune()`` keeps finished recordings from
piling up.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import queue
import struct
import threading
import time
from pathlib import Path

import numpy as np

from ..core.errors import AudioLoadError
from ..core.features import FeatureConfig, log_power
from .devices import INPUT, AudioDeviceError, Device, close_aside, environment, sounddevice, stream_settings
from .engine import STALL_S

PARTIAL = ".partial.wav"
KEEP_FINISHED = 10  # finished recordings kept by prune(), besides those still in use
RING_SECONDS = 10.0  # how far the writer may fall behind (a stalled disk) before input is dropped
_WRITE_EVERY_S = 0.05
PEAK_SECONDS = 0.005
_FLUSH_EVERY_S = 1.0  # fsync, for power cuts; a killed process loses nothing already written
# RIFF, its size, WAVE, "fmt ", 16, format 3 (float), channels, rate, bytes/s, block, 32 bits, "data", its size
_HEADER = struct.Struct("<4sI4s4sIHHIIHH4sI")
_UNKNOWN = 0xFFFFFFFF


class InputRing:
    """The callback's hand-over to the writer: a preallocated ring of frames (one producer, one consumer).

    ``put`` (the callback) only copies and counts; ``take`` (the writer) returns what is new."""

    def __init__(self, frames: int, channels: int):
        self._data = np.zeros((frames, channels), np.float32)
        self.received = 0  # frames put so far (written by the producer only)
        self.dropped = 0  # frames refused because the consumer was a whole ring behind
        self._read = 0  # frames taken so far (written by the consumer only)

    def put(self, block: np.ndarray, frames: int) -> None:
        ring, received = self._data, self.received
        if received + frames - self._read > len(ring):
            self.dropped += frames
            return
        start = received % len(ring)
        first = min(frames, len(ring) - start)
        ring[start:start + first] = block[:first]
        ring[:frames - first] = block[first:]
        self.received = received + frames  # published after the data

    def take(self) -> np.ndarray | None:
        """Everything put since the last take, in order (None if nothing)."""
        received = self.received
        if received == self._read:
            return None
        ring = self._data
        start, n = self._read % len(ring), received - self._read
        chunk = np.concatenate([ring[start:start + n], ring[:max(0, start + n - len(ring))]])
        self._read = received
        return chunk


def recordings_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("musicgen-gui", appauthor=False)) / "recordings"


class Recorder:
    def __init__(self, device: Device, folder: Path | None = None):
        self.device = device
        self.folder = Path(folder) if folder is not None else recordings_dir()
        self.path: Path | None = None  # the partial file while recording, the finished one after stop()
        self.level = 0.0  # peak of the latest chunk, 0..1
        self.samples_written = 0
        self.overflows = 0  # input blocks PortAudio dropped because the callback came too late
        self.error: str | None = None  # why the writer stopped early, for the GUI to show
        self.frames: queue.Queue = queue.Queue()  # log-power frame blocks for the live view
        self.peaks: queue.Queue = queue.Queue()  # peak level of each PEAK_SECONDS, for the live waveform
        self.feature_config: FeatureConfig | None = None
        self._ring = InputRing(1, 1)
        self._stream = None
        self._writer: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock_fd: int | None = None
        self._heard = (0, 0.0)  # (received, when) as last seen by lost_reason()

    @property
    def sample_rate(self) -> int:
        return self.feature_config.sample_rate if self.feature_config else 0

    def start(self) -> Path:
        sd = sounddevice()
        if sd is None:
            raise AudioDeviceError("no audio input is available")
        rate, channels = stream_settings(self.device, INPUT, self.device.default_rate)
        self.feature_config = FeatureConfig(sample_rate=rate)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.path, self._lock_fd = _create_locked(self.folder)
            os.write(self._lock_fd, _header(rate, channels))
        except OSError as exc:
            if self._lock_fd is not None:
                self.path.unlink(missing_ok=True)
                self._release()
            raise AudioDeviceError(f"cannot create a recording in {self.folder}: {exc}") from None
        self._ring = InputRing(int(RING_SECONDS * rate), channels)
        self._stopping.clear()
        self._writer = threading.Thread(target=self._write_loop, name="recorder-writer", daemon=True)
        self._writer.start()
        try:
            with environment(self.device.environment(INPUT)):  # a sound server's source, if one was chosen
                self._stream = sd.InputStream(device=self.device.index, samplerate=rate, channels=channels,
                                              dtype="float32", callback=self._callback)
            self._stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            self._stream = None
            self._finish_writer()
            self.path.unlink(missing_ok=True)
            self._release()
            raise AudioDeviceError(f"cannot record from {self.device.label}: {exc}") from None
        self._heard = (0, time.monotonic())
        return self.path

    def lost_reason(self) -> str | None:
        """Why the device stopped delivering (polled by the GUI while recording), or None."""
        if self._stream is None:
            return None
        if not self._stream.active:  # PortAudio ended the stream: the device or the sound server went away
            return f"{self.device.label} stopped working"
        now = time.monotonic()
        if self.received != self._heard[0]:
            self._heard = (self.received, now)
        elif self.received and now - self._heard[1] > STALL_S:  # the first block may take seconds
            return f"{self.device.label} delivered no sound for {STALL_S:g} s"
        return None

    def stop(self) -> Path | None:
        """Stop recording; returns the finished WAV file (None, and no file, if nothing was recorded)."""
        lost = self._stream is not None and self.lost_reason() is not None
        stream, self._stream = self._stream, None
        # Closing a device that hung, or a stream PortAudio ended because its sound server stopped
        # answering, can block for most of a minute or for good: not on the caller's thread.
        if lost:
            close_aside(lambda: _close(stream), "recorder-close")
        elif stream is not None:
            _close(stream)
        self._finish_writer()
        if self.path is None or not self.path.name.endswith(PARTIAL):
            return None
        partial = self.path
        if self.samples_written:
            try:
                self.path = recover(partial)
            except AudioLoadError as exc:  # the disk has gone: the file stays, to be recovered at the next start
                self.error = self.error or str(exc)
                self.path = None
        else:
            partial.unlink(missing_ok=True)
            self.path = None
        self._release()
        return self.path

    def _release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # also drops the lock
            self._lock_fd = None

    def _finish_writer(self) -> None:
        if self._writer is not None:
            self._stopping.set()
            self._writer.join()
            self._writer = None

    @property
    def received(self) -> int:
        """Samples the input callback has taken."""
        return self._ring.received

    @property
    def dropped(self) -> int:
        """Samples the callback dropped because the writer was RING_SECONDS behind."""
        return self._ring.dropped

    def _callback(self, indata, frames, time_info, status):
        if status.input_overflow:
            self.overflows += 1
        self._ring.put(indata, frames)

    def _write_loop(self) -> None:
        cfg, fd = self.feature_config, self._lock_fd
        tail = np.zeros(0, np.float32)  # samples not yet in a complete frame
        last_flush = time.monotonic()
        while True:
            finishing = self._stopping.is_set()  # read before taking: nothing arrives after stop
            chunk = self._ring.take()
            if chunk is None:
                if finishing:
                    break
                self._stopping.wait(_WRITE_EVERY_S)
                continue
            if self.error:
                continue  # keep draining so that the callback never runs out of room
            data, done = memoryview(chunk.astype("<f4").tobytes()), 0
            try:
                while done < len(data):  # a full disk can take part of a write before it refuses the rest
                    done += os.write(fd, data[done:])
                if time.monotonic() - last_flush > _FLUSH_EVERY_S:
                    os.fsync(fd)
                    last_flush = time.monotonic()
            except OSError as exc:  # keep what was written, tell the GUI
                self.error = f"recording stopped: cannot write {self.path}: {exc.strerror or exc}"
            self.samples_written += done // (4 * chunk.shape[1])
            if self.error:
                continue
            mono = chunk[:, 0]
            self.level = float(np.abs(mono).max())
            step = max(1, int(PEAK_SECONDS * cfg.sample_rate))
            self.peaks.put(np.abs(mono[:len(mono) // step * step]).reshape(-1, step).max(axis=1))
            tail = np.concatenate([tail, mono])
            frames = log_power(tail, cfg)
            if len(frames):
                self.frames.put(frames)
                tail = tail[len(frames) * cfg.hop:]


def _create_locked(folder: Path) -> tuple[Path, int]:
    """A new, empty partial file with a name no other recording has, locked."""
    stamp = time.strftime("recording-%Y%m%d-%H%M%S")
    for n in itertools.count(1):
        name = stamp if n == 1 else f"{stamp}-{n}"
        if (folder / f"{name}.wav").exists():
            continue
        path = folder / f"{name}{PARTIAL}"
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return path, fd


def _close(stream) -> None:
    try:
        stream.stop()
        stream.close()
    except Exception:  # a vanished device still leaves the file behind
        pass


def _header(rate: int, channels: int, data_bytes: int = _UNKNOWN) -> bytes:
    """A 32-bit float WAV header; the default lengths mean "read to the end of the file"."""
    block = 4 * channels
    riff = _UNKNOWN if data_bytes == _UNKNOWN else data_bytes + _HEADER.size - 8
    return _HEADER.pack(b"RIFF", riff, b"WAVE", b"fmt ", 16, 3, channels, rate, rate * block, block, 32, b"data",
                        data_bytes)


def _read_header(path: Path) -> tuple[int, int, int]:
    """(rate, channels, whole frames in the file) of a recording this module wrote."""
    with open(path, "rb") as f:
        head = f.read(_HEADER.size)
        size = os.fstat(f.fileno()).st_size
    if len(head) < _HEADER.size:
        raise AudioLoadError(f"{path.name}: the interrupted recording has no audio")
    riff, _, wave, fmt, _, kind, channels, rate, _, block, _, data, _ = _HEADER.unpack(head)
    if (riff, wave, fmt, kind, data) != (b"RIFF", b"WAVE", b"fmt ", 3, b"data") or not channels or not rate:
        raise AudioLoadError(f"{path.name}: not a recording made by this app")
    return rate, channels, (size - _HEADER.size) // block


def orphans(folder: Path) -> list[tuple[Path, float]]:
    """(file, seconds) of each partial recording no recorder holds (left by a crash), newest first.
    Ones without audio are deleted."""
    found = []
    for path in sorted(Path(folder).glob(f"*{PARTIAL}"), reverse=True):
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # being recorded right now (another window, or another instance of the app)
        finally:
            os.close(fd)
        try:
            rate, _, frames = _read_header(path)
        except AudioLoadError:
            frames = 0
        if frames:
            found.append((path, frames / rate))
        else:
            discard(path)  # killed before any audio reached the disk
    return found


def recover(path: Path) -> Path:
    """Finish a partial recording, as stop() does, and return the finished file: the lengths go
    into the header, and a frame the crash cut short is dropped."""
    try:
        rate, channels, frames = _read_header(path)
        data = frames * 4 * channels
        with open(path, "r+b") as f:
            f.truncate(_HEADER.size + data)
            f.write(_header(rate, channels, data if data <= _UNKNOWN - _HEADER.size else _UNKNOWN))
            f.flush()
            os.fsync(f.fileno())
        finished = path.with_name(path.name[:-len(PARTIAL)] + ".wav")
        os.replace(path, finished)
    except OSError as exc:
        raise AudioLoadError(f"{path.name}: the recording cannot be finished ({exc.strerror or exc})") from None
    return finished


def discard(path: Path) -> None:
    Path(path).unlink(missing_ok=True)


def prune(folder: Path, in_use=(), keep: int = KEEP_FINISHED) -> list[Path]:
    """Delete finished recordings beyond the ``keep`` newest, except those ``in_use``; returns the deleted."""
    used = {Path(p).resolve() for p in in_use}
    finished = sorted((p for p in Path(folder).glob("recording-*.wav") if not p.name.endswith(PARTIAL)),
                      key=lambda p: p.stat().st_mtime, reverse=True)
    deleted = [p for p in finished[keep:] if p.resolve() not in used]
    for path in deleted:
        discard(path)
    return deleted
