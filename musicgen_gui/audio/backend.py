"""The audio backend: the player, the recorder, device choice, rescans and loss detection.

One QObject owns everything that touches a sound device and reports through
signals (as Friture's AudioBackend does): ``devicesChanged`` after a scan or a
choice, ``outputLost``/``inputLost`` with the reason when a device goes away or
hangs, ``underflow`` with the count so far each time the speaker ran dry while
playing (a gap was heard). The GUI asks it to play and record; it never reaches
into the player or the recorder.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from ..core.errors import MusicgenError
from . import devices
from .recorder import Recorder

if TYPE_CHECKING:
    from .player import Playback, Player

DEVICE_CHECK_MS = 500  # how often a speaker that went away is looked for, whatever the app is doing


class AudioBackend(QObject):
    devicesChanged = Signal()
    outputLost = Signal(str)
    inputLost = Signal(str)  # only while recording
    underflow = Signal(int)  # the speaker ran dry while playing: how often since it was chosen

    def __init__(self, recordings_dir: Path, parent=None):
        super().__init__(parent)
        self.recordings_dir = recordings_dir
        self.input: devices.Device | None = None
        self.output: devices.Device | None = None
        self.player: Player | None = None
        self.recorder: Recorder | None = None
        self._chosen = False  # no device has been looked for yet
        self._rate = 0
        self.underflows = 0  # of the current speaker, as last reported
        self._timer = QTimer(self, interval=DEVICE_CHECK_MS, timeout=self._check)
        self._timer.start()

    def choose(self, input_name: str | None, output_name: str | None) -> None:
        """Use these devices (by name; the system default, else any, if not found)."""
        self._chosen = True
        self.input = devices.find_device(devices.INPUT, input_name)
        output = devices.find_device(devices.OUTPUT, output_name)
        if self.player is None or self.player.device != output:
            from .player import Player  # here: the window is drawn before the speaker's process is needed

            self._close_player()
            self.output = output
            self.underflows = 0
            self.player = Player(output) if output is not None else None
            self._open()
        self.devicesChanged.emit()

    def rescan(self, input_name: str | None, output_name: str | None) -> bool:
        """Look for devices again and choose these; False where devices added since could not be looked
        for, as a device that stopped answering is still being closed (devices.rescan)."""
        fresh = devices.rescan()
        self._close_player()
        self.choose(input_name, output_name)
        return fresh

    def set_rate(self, sample_rate: int) -> None:
        """Keep the output stream running at the model's rate, so playback starts without delay."""
        self._rate = sample_rate
        self._open()

    def status(self) -> str:
        if not self._chosen:
            return "Audio: looking for devices…"
        if self.input is None and self.output is None:
            return "No audio device: recording and playback are off"
        if self.input is None:
            return "No microphone: recording is off"
        if self.output is None:
            return "No speakers: playback is off"
        text = f"Audio: {self.output.label}"
        if self.underflows:
            text += f" · {self.underflows} dropout{'s' if self.underflows > 1 else ''} (the computer was too busy)"
        return text

    def play(self, sample_rate: int, prefill: int = 0) -> Playback:
        """A new playback (what played before fades out), silent until ``prefill`` samples are queued
        (or all of them); raises MusicgenError if it cannot."""
        if self.player is None:
            raise MusicgenError("no speakers to play on")
        return self.player.play(sample_rate, prefill)

    def start_recording(self) -> Recorder:
        if self.input is None:
            raise MusicgenError("no microphone to record from")
        recorder = Recorder(self.input, folder=self.recordings_dir)
        recorder.start()
        self.recorder = recorder
        return recorder

    def stop_recording(self, lost: bool = False) -> Recorder | None:
        """Stop and finish the file (recorder.path); a lost microphone is dropped until the next scan."""
        recorder, self.recorder = self.recorder, None
        if recorder is not None:
            recorder.stop()
        if lost:
            self.input = None
            self.devicesChanged.emit()
        return recorder

    def close(self) -> None:
        self._timer.stop()
        self._close_player()

    def _open(self) -> None:
        if self.player is not None and self._rate:
            try:
                self.player.open(self._rate)
            except MusicgenError as exc:
                self._drop_output(str(exc))

    def _close_player(self) -> None:
        if self.player is not None:
            self.player.close()
        self.player = None

    def _drop_output(self, reason: str) -> None:
        self._close_player()
        self.output = None
        self.devicesChanged.emit()
        self.outputLost.emit(reason)

    def _check(self) -> None:
        lost = self.player.lost_reason() if self.player is not None else None
        if lost is not None:
            self._drop_output(lost)
        elif self.player is not None and self.player.underflows != self.underflows:
            self.underflows = self.player.underflows
            self.underflow.emit(self.underflows)
        recorder = self.recorder
        if recorder is not None:
            reason = recorder.lost_reason()
            if reason is not None:
                self.inputLost.emit(reason)
