import pytest

from musicgen_gui.audio import devices
from musicgen_gui.audio.devices import INPUT, OUTPUT, AudioDeviceError, Device
from musicgen_gui.audio.player import Player
from musicgen_gui.audio.recorder import Recorder


def test_virtual_server_gives_input_and_output(sound_server):
    assert devices.find_device(INPUT) is not None
    assert devices.find_device(OUTPUT) is not None


def test_saved_name_is_preferred_and_unknown_name_falls_back(sound_server):
    names = [d.name for d in devices.list_devices(OUTPUT)]
    assert devices.find_device(OUTPUT, names[-1]).name == names[-1]
    assert devices.find_device(OUTPUT, "no such card").name in names


def test_without_portaudio_there_are_no_devices(monkeypatch):
    monkeypatch.setattr(devices, "sounddevice", lambda: None)
    assert devices.list_devices(OUTPUT) == []
    assert devices.find_device(INPUT) is None


def test_a_missing_device_is_a_clear_error(sound_server, tmp_path):
    ghost = Device(index=999, name="ghost", hostapi="ALSA", channels=2, default_rate=48000)
    with pytest.raises(AudioDeviceError, match="ghost"):
        Player(ghost).open(22050)
    with pytest.raises(AudioDeviceError, match="ghost"):
        Recorder(ghost, folder=tmp_path).start()
