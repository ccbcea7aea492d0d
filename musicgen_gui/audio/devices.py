"""Sound devices through sounddevice, with "no audio at all" as a normal state.

sounddevice raises OSError at import when PortAudio is missing; that and an
empty device list both read as "no device", so the app still runs.

PortAudio sees a PulseAudio or PipeWire server as one device, "pulse". The server's
own sinks and sources (``pactl list short``) are listed too, each played or recorded
through that device with PULSE_SINK or PULSE_SOURCE set when its stream is opened:
the ALSA pulse plugin makes a new server connection per stream, and that reads them.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

from ..core.errors import MusicgenError

INPUT, OUTPUT = "input", "output"


class AudioDeviceError(MusicgenError):
    pass


@dataclass(frozen=True)
class Device:
    index: int
    name: str
    hostapi: str
    channels: int
    default_rate: int
    server: bool = False  # the sound server's sink or source ``name``, reached through PortAudio's "pulse"

    @property
    def label(self) -> str:
        return f"{self.name} ({self.hostapi})"

    def environment(self, kind: str) -> dict[str, str]:
        """What to set while opening its stream, to reach the server's sink or source."""
        return {"PULSE_SINK" if kind == OUTPUT else "PULSE_SOURCE": self.name} if self.server else {}


SERVER = "sound server"  # the hostapi shown for a server's sinks and sources
_PACTL_TIMEOUT_S = 2.0


def sounddevice():
    """The sounddevice module, or None when PortAudio cannot be loaded."""
    try:
        import sounddevice as sd
    except OSError:
        return None
    return sd


# Closing a stream on a device that hung, or whose sound server stopped answering, can block for good:
# such closes run on threads of their own, and PortAudio is not re-initialised under them (it would
# block with them, and the app with it).
_closing: list[threading.Thread] = []
_exit_guarded = False
CLOSING_WAIT_S = 2.0  # how long a rescan waits for such a close to return


def close_aside(close: Callable[[], None], name: str) -> None:
    """Run ``close`` (a stream's close that may block for good) on a thread of its own."""
    global _exit_guarded
    if not _exit_guarded:  # registered after sounddevice's own exit handler, so it runs before it
        atexit.register(_leave_portaudio_if_blocked)
        _exit_guarded = True
    thread = threading.Thread(target=close, name=name, daemon=True)
    _closing.append(thread)
    thread.start()


def _leave_portaudio_if_blocked() -> None:
    """At exit sounddevice terminates PortAudio, which blocks for good under a close that is still
    blocked, and the process would never end: then PortAudio is left for the system to clean up."""
    sd = sounddevice()
    if sd is not None and still_closing(0.0):
        atexit.unregister(sd._exit_handler)  # no public call: see rescan()


def still_closing(wait_s: float = CLOSING_WAIT_S) -> bool:
    """Whether a close run aside has not returned, after waiting up to ``wait_s`` for it."""
    deadline = time.monotonic() + wait_s
    for thread in list(_closing):
        thread.join(max(0.0, deadline - time.monotonic()))
    _closing[:] = [thread for thread in _closing if thread.is_alive()]
    return bool(_closing)


def rescan() -> bool:
    """Re-initialise PortAudio so that servers and devices added since start-up appear; False, with
    PortAudio left as it is, while a stream closed aside is still blocked in it (``still_closing``).

    sounddevice has no public call for this; its maintainer's answer is these two
    (python-sounddevice issues #125 and #516), which wrap Pa_Terminate/Pa_Initialize."""
    sd = sounddevice()
    if sd is None:
        return True
    if still_closing():
        return False
    sd._terminate()
    sd._initialize()
    return True


def list_devices(kind: str) -> list[Device]:
    """The sound server's sinks or sources (when PortAudio reaches it), then PortAudio's devices."""
    sd = sounddevice()
    if sd is None:
        return []
    key = f"max_{kind}_channels"
    try:
        apis = sd.query_hostapis()
        found = [Device(d["index"], d["name"], apis[d["hostapi"]]["name"], d[key], int(d["default_samplerate"]))
                 for d in sd.query_devices() if d[key] > 0]
    except sd.PortAudioError:
        return []
    pulse = next((d for d in found if d.name == "pulse"), None)
    if pulse is None:
        return found
    return [Device(pulse.index, name, SERVER, pulse.channels, rate, server=True)
            for name, rate in _server_devices(kind)] + found


def _server_devices(kind: str) -> list[tuple[str, int]]:
    """(name, rate) of each sink, or each source other than the sinks' monitors; none without pactl."""
    pactl = shutil.which("pactl")
    if pactl is None:
        return []
    try:
        listing = subprocess.run([pactl, "list", "short", "sinks" if kind == OUTPUT else "sources"],
                                 capture_output=True, text=True, timeout=_PACTL_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return []
    found = []
    for line in listing.stdout.splitlines() if listing.returncode == 0 else ():
        fields = line.split("\t")  # index, name, module, "s16le 2ch 44100Hz", state
        if len(fields) >= 4 and not fields[1].endswith(".monitor"):
            rate = fields[3].split()[-1].removesuffix("Hz")
            found.append((fields[1], int(rate) if rate.isdigit() else 48000))
    return found


@contextmanager
def environment(values: dict[str, str]):
    """These variables set while the ``with`` runs (opening a stream), then what was there before."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def find_device(kind: str, name: str | None = None) -> Device | None:
    """The device named ``name`` (as saved in the settings), else the system default, else any."""
    devices = list_devices(kind)
    if not devices:
        return None
    if name:
        for d in devices:
            if d.name == name:
                return d
    sd = sounddevice()
    default = sd.default.device[0 if kind == INPUT else 1]
    for d in devices:
        if d.index == default and not d.server:
            return d
    return devices[0]


def stream_settings(device: Device, kind: str, rate: int) -> tuple[int, int]:
    """(sample rate, channels) the device accepts: ``rate`` mono if it can, else its own rate and layout."""
    sd = sounddevice()
    check = sd.check_input_settings if kind == INPUT else sd.check_output_settings
    for candidate_rate, channels in ((rate, 1), (rate, min(2, device.channels)),
                                     (device.default_rate, 1), (device.default_rate, min(2, device.channels))):
        try:
            check(device=device.index, samplerate=candidate_rate, channels=channels)
            return candidate_rate, channels
        except (sd.PortAudioError, ValueError):
            continue
    raise AudioDeviceError(f"{device.label} accepts neither {rate} Hz nor its own {device.default_rate} Hz")
