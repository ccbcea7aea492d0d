"""Recording the microphone straight to a WAV file, so a crash keeps the take.

The input callback only does ``q.put(indata.copy())``; a writer thread appends
each chunk to the file (flushing the header about once a second), measures the
level, and turns the audio into log-power frames for the live spectrogram.
"""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path

import numpy as np

from ..core.features import FeatureConfig, log_power
from .devices import INPUT, AudioDeviceError, Device, sounddevice, stream_settings

_FLUSH_EVERY_S = 1.0
_STOP = None  # the writer's sentinel


def recordings_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("musicgen-gui", appauthor=False)) / "recordings"


class Recorder:
    def __init__(self, device: Device, folder: Path | None = None):
        self.device = device
        self.folder = Path(folder) if folder is not None else recordings_dir()
        self.path: Path | None = None
        self.level = 0.0  # peak of the latest chunk, 0..1
        self.samples_written = 0
        self.overflows = 0  # input blocks PortAudio dropped because the callback came too late
        self.error: str | None = None  # why the writer stopped early, for the GUI to show
        self.frames: queue.Queue = queue.Queue()  # log-power frame blocks for the live view
        self.feature_config: FeatureConfig | None = None
        self._stream = None
        self._writer: threading.Thread | None = None
        self._q: queue.Queue = queue.Queue()

    @property
    def sample_rate(self) -> int:
        return self.feature_config.sample_rate if self.feature_config else 0

    def start(self) -> Path:
        import soundfile as sf

        sd = sounddevice()
        if sd is None:
            raise AudioDeviceError("no audio input is available")
        rate, channels = stream_settings(self.device, INPUT, self.device.default_rate)
        self.feature_config = FeatureConfig(sample_rate=rate)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.path = self.folder / time.strftime("recording-%Y%m%d-%H%M%S.wav")
            wav = sf.SoundFile(self.path, "w", samplerate=rate, channels=channels, subtype="FLOAT")
        except (OSError, sf.LibsndfileError) as exc:
            raise AudioDeviceError(f"cannot create a recording in {self.folder}: {exc}") from None
        self._q = queue.Queue()
        self._writer = threading.Thread(target=self._write_loop, args=(wav,), name="recorder-writer", daemon=True)
        self._writer.start()
        try:
            self._stream = sd.InputStream(device=self.device.index, samplerate=rate, channels=channels,
                                          dtype="float32", callback=self._callback)
            self._stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            self._stream = None
            self._finish_writer()
            raise AudioDeviceError(f"cannot record from {self.device.label}: {exc}") from None
        return self.path

    def stop(self) -> Path | None:
        """Stop recording; returns the finished WAV file (None if nothing was recorded)."""
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.stop()
                stream.close()
            except Exception:  # a vanished device still leaves the file behind
                pass
        self._finish_writer()
        return self.path if self.samples_written else None

    def _finish_writer(self) -> None:
        if self._writer is not None:
            self._q.put(_STOP)
            self._writer.join()
            self._writer = None

    def _callback(self, indata, frames, time_info, status):
        if status.input_overflow:
            self.overflows += 1
        self._q.put(indata.copy())

    def _write_loop(self, wav) -> None:
        cfg = self.feature_config
        tail = np.zeros(0, np.float32)  # samples not yet in a complete frame
        last_flush = time.monotonic()
        with wav:
            while (chunk := self._q.get()) is not _STOP:
                if self.error:
                    continue  # keep draining so the callback never backs up
                try:
                    wav.write(chunk)
                    if time.monotonic() - last_flush > _FLUSH_EVERY_S:
                        wav.flush()
                        last_flush = time.monotonic()
                except Exception as exc:  # disk full: keep what was written, tell the GUI
                    self.error = f"recording stopped: cannot write {self.path}: {exc}"
                    continue
                self.samples_written += len(chunk)
                mono = chunk[:, 0]
                self.level = float(np.abs(mono).max()) if len(mono) else 0.0
                tail = np.concatenate([tail, mono])
                frames = log_power(tail, cfg)
                if len(frames):
                    self.frames.put(frames)
                    tail = tail[len(frames) * cfg.hop:]
