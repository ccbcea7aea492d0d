import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf

from musicgen_gui.audio import devices
from musicgen_gui.audio.devices import INPUT, OUTPUT, AudioDeviceError, Device
from musicgen_gui.audio.player import Player
from musicgen_gui.audio.recorder import Recorder


def test_virtual_server_gives_input_and_output(sound_server):
    # Its speaker and microphone by name: not merely whatever device this machine has.
    assert "vsink" in [d.name for d in devices.list_devices(OUTPUT)]
    assert "vmic" in [d.name for d in devices.list_devices(INPUT)]
    assert devices.find_device(INPUT) is not None and devices.find_device(OUTPUT) is not None


def test_saved_name_is_preferred_and_unknown_name_falls_back(sound_server):
    names = [d.name for d in devices.list_devices(OUTPUT)]
    assert devices.find_device(OUTPUT, names[-1]).name == names[-1]
    assert devices.find_device(OUTPUT, "no such card").name in names


def test_without_portaudio_there_are_no_devices(sound_server):
    # As on a machine without libportaudio2, with a sound server running: sounddevice's own import
    # fails to find the library (OSError), and the app goes on without devices.
    code = """
import ctypes.util, json, sys
find = ctypes.util.find_library
ctypes.util.find_library = lambda name: None if "portaudio" in name else find(name)
from musicgen_gui.audio import devices
try:
    import sounddevice
except OSError as exc:
    why = str(exc)
print(json.dumps(dict(why=why, outputs=devices.list_devices(devices.OUTPUT),
                      inputs=devices.list_devices(devices.INPUT), found=devices.find_device(devices.INPUT))))
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, **sound_server.env})
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == dict(why="PortAudio library not found", outputs=[], inputs=[], found=None)
    # The same server, with PortAudio: its sinks are there.
    assert {"vsink", "micfeed"} <= {d.name for d in devices.list_devices(OUTPUT)}


def test_a_missing_device_is_a_clear_error(sound_server, tmp_path):
    ghost = Device(index=999, name="ghost", hostapi="ALSA", channels=2, default_rate=48000)
    with pytest.raises(AudioDeviceError, match="ghost"):
        Player(ghost).open(22050)
    with pytest.raises(AudioDeviceError, match="ghost"):
        Recorder(ghost, folder=tmp_path).start()


@pytest.mark.slow
def test_the_servers_sinks_and_sources_are_listed_and_each_plays_or_records_there(sound_server, tmp_path):
    outputs = {d.name: d for d in devices.list_devices(OUTPUT)}
    inputs = {d.name: d for d in devices.list_devices(INPUT)}
    assert {"vsink", "micfeed"} <= outputs.keys() and outputs["micfeed"].label == "micfeed (sound server)"
    assert {"vmic", "silence"} <= inputs.keys() and not any(name.endswith(".monitor") for name in inputs)
    assert not devices.find_device(OUTPUT).server  # by default, PortAudio's default device as before

    # A tone played on the second null sink arrives there, and not at the default one.
    rate = 22050
    default, chosen = sound_server.record_speaker(rate), sound_server.record_speaker(rate, sink="micfeed")
    player = Player(outputs["micfeed"])
    playback = player.play(rate)
    playback.write((0.5 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate)).astype(np.float32))
    playback.finish()
    deadline = time.monotonic() + 20
    while not playback.finished and time.monotonic() < deadline:
        time.sleep(0.01)
    player.close()
    at_default, at_chosen = default.stop(), chosen.stop()
    assert np.abs(at_chosen).max() > 0.4 and np.abs(at_default).max() < 0.01

    # Recording from the null source gets silence; from vmic, what is played into it.
    chord = tmp_path / "tone.wav"
    sf.write(chord, 0.5 * np.sin(2 * np.pi * 440 * np.arange(3 * 44100) / 44100), 44100)
    levels = {}
    for name in ("silence", "vmic"):
        recorder = Recorder(inputs[name], folder=tmp_path)
        recorder.start()
        feeder = sound_server.play_into_mic(chord)
        deadline = time.monotonic() + 20
        while recorder.samples_written < 2 * recorder.sample_rate and time.monotonic() < deadline:
            time.sleep(0.01)
        path = recorder.stop()
        feeder.terminate()
        feeder.wait()
        levels[name] = np.abs(sf.read(path)[0]).max()
    assert levels["silence"] < 0.01 and levels["vmic"] > 0.3
