"""Sound devices through sounddevice, with "no audio at all" as a normal state.

sounddevice raises OSError at import when PortAudio is missing; that and an
empty device list both read as "no device", so the app still runs.
"""

from __future__ import annotations

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

    @property
    def label(self) -> str:
        return f"{self.name} ({self.hostapi})"


def sounddevice():
    """The sounddevice module, or None when PortAudio cannot be loaded."""
    try:
        import sounddevice as sd
    except OSError:
        return None
    return sd


def rescan() -> None:
    """Re-initialise PortAudio so that servers and devices added since start-up appear.

    sounddevice has no public call for this; its maintainer's answer is these two
    (python-sounddevice issues #125 and #516), which wrap Pa_Terminate/Pa_Initialize."""
    sd = sounddevice()
    if sd is not None:
        sd._terminate()
        sd._initialize()


def list_devices(kind: str) -> list[Device]:
    sd = sounddevice()
    if sd is None:
        return []
    key = f"max_{kind}_channels"
    try:
        apis = sd.query_hostapis()
        return [
            Device(d["index"], d["name"], apis[d["hostapi"]]["name"], d[key], int(d["default_samplerate"]))
            for d in sd.query_devices()
            if d[key] > 0
        ]
    except sd.PortAudioError:
        return []


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
        if d.index == default:
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
