"""Sound devices that are missing, or that go away mid-stream: the app says so and keeps the work."""

import json
import os
import re
import signal
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from gui_driver import load
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolButton

from musicgen_gui.audio import devices
from musicgen_gui.gui.mode import PLAYING, RECORDING, STREAMING

_NO_SERVER = """
import json, sys
from pathlib import Path
from PySide6.QtWidgets import QApplication
from musicgen_gui.audio import devices
from musicgen_gui.gui.main_window import MainWindow
from musicgen_gui.gui.mode import IDLE
from musicgen_gui.core.session import ContinuationParams
from musicgen_gui.gui.settings import AppSettings

folder, model, seed = map(Path, sys.argv[1:])
app = QApplication([])
found = devices.list_devices(devices.INPUT) + devices.list_devices(devices.OUTPUT)
settings = AppSettings(folder / "settings.ini")
settings.model, settings.params = str(model), ContinuationParams(seconds=1.0)
window = MainWindow(settings, recordings_dir=folder / "recordings", takes_dir=folder / "takes")
window.show()
c = window.controller
while c.bundle is None:
    app.processEvents()
result = dict(devices=len(found), status=window.audio_status.text(), record=window.record_action.isEnabled())
c.seed.load(seed)
while c.seed.clip is None:
    app.processEvents()
result["play"] = window.play_action.isEnabled()
c.seed.toggle_recording()  # the shortcuts' slots do nothing
c.takes.toggle_seed_playback()
result["mode_after_shortcuts"] = c.mode.value
c.run.continue_seed()
while c.mode != IDLE or c.run.generation.running:
    app.processEvents()
c.takes.export(c.takes.current, str(folder / "take.wav"), with_seed=False, bits="16")
window.close()
result["generated"] = c.takes.current.n_samples
print(json.dumps(result))
"""


@pytest.mark.slow
def test_with_no_sound_server_the_app_runs_says_so_and_disables_record_and_play(tmp_path, tiny_bundle_path,
                                                                                 chord_file):
    # A PulseAudio client pointed at a server that is not there, on a machine without sound cards
    # (checked below): PortAudio then lists no device at all.
    env = {**os.environ, "PULSE_SERVER": f"unix:{tmp_path / 'no-server'}"}
    run = subprocess.run([sys.executable, "-c", _NO_SERVER, str(tmp_path), str(tiny_bundle_path), str(chord_file)],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    if result["devices"]:
        pytest.skip("this machine has sound cards of its own")
    assert result["status"] == "No audio device: recording and playback are off"
    assert not result["record"] and not result["play"]
    assert result["mode_after_shortcuts"] == "idle"
    assert result["generated"] == 22050
    assert sf.info(tmp_path / "take.wav").frames == 22050
    assert "Traceback" not in run.stderr


@pytest.mark.slow
def test_streaming_stops_with_a_message_when_the_speaker_goes_away(doomed_sound_server, qtbot, make_window,
                                                                   chord_file):
    window = make_window()
    c = window.controller
    assert load(qtbot, window, chord_file)
    window.panel.seconds.setValue(600.0)
    window.continue_action.trigger()
    assert c.mode == STREAMING
    qtbot.waitUntil(lambda: c.run.playback.position > 0 and c.run.take.n_samples > 0, timeout=20000)
    doomed_sound_server.kill()
    qtbot.waitUntil(lambda: c.mode.value == "idle", timeout=20000)
    assert window.message_bar.text.startswith(f"Playback stopped: {window.settings.output_device}")
    assert "stopped working. Anything generated is kept" in window.message_bar.text
    qtbot.waitUntil(lambda: not c.run.generation.running)
    assert c.takes.current.n_samples > 0  # what was generated is kept, and can be exported
    assert window.export_action.isEnabled() and not window.play_action.isEnabled()
    assert window.audio_status.text() == "No speakers: playback is off"
    window.panel.refresh_devices.click()  # the server is gone: nothing is found
    assert window.audio_status.text() == "No audio device: recording and playback are off"


def test_playing_the_seed_stops_with_a_message_when_the_audio_process_dies(qtbot, sound_server, make_window,
                                                                          write_chord):
    window = make_window()
    c = window.controller
    assert load(qtbot, window, write_chord("long.wav", 20.0))
    window.play_action.trigger()
    assert c.mode == PLAYING
    qtbot.waitUntil(lambda: c.takes.playback.position > 0, timeout=20000)
    os.kill(c.audio.player.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: c.mode.value == "idle", timeout=20000)
    assert window.message_bar.text.startswith("Playback stopped: the audio process ended.")
    window.panel.refresh_devices.click()  # a new audio process: playing works again
    assert c.audio.player is not None and window.play_action.isEnabled()
    assert window.message_bar.text.startswith("Speakers found again. Audio: ")  # not "stopped" any more
    window.play_action.trigger()
    qtbot.waitUntil(lambda: c.takes.playback.position > 0, timeout=20000)
    c.stop()


@pytest.mark.slow
def test_a_dropout_is_shown_in_the_status_bar(qtbot, sound_server, make_window, write_chord):
    window = make_window()
    c = window.controller
    assert load(qtbot, window, write_chord("long.wav", 20.0))
    window.play_action.trigger()
    qtbot.waitUntil(lambda: c.takes.playback.position > 0, timeout=20000)
    assert "dropout" not in window.audio_status.text()
    os.kill(c.audio.player.pid, signal.SIGSTOP)  # held, as a busy machine holds it: the device runs dry
    qtbot.wait(300)
    os.kill(c.audio.player.pid, signal.SIGCONT)
    qtbot.waitUntil(lambda: "dropout" in window.audio_status.text(), timeout=5000)
    assert re.search(r" · \d+ dropouts? \(the computer was too busy\)$", window.audio_status.text())
    assert c.mode == PLAYING
    c.stop()


def _record_a_chord(qtbot, window, server, write_chord):
    """Record, with a chord played into the server's microphone, until a second of it is written:
    (the recorder, the process playing the chord)."""
    window.record_action.trigger()
    assert window.controller.mode == RECORDING
    feeder = server.play_into_mic(write_chord("chord.wav", 20.0))
    recorder = window.controller.audio.recorder
    qtbot.waitUntil(lambda: recorder.level > 0.3 and recorder.samples_written > recorder.sample_rate,
                    timeout=15000)
    return recorder, feeder


@pytest.mark.slow
def test_a_microphone_that_goes_away_ends_the_recording_and_keeps_it(doomed_sound_server, qtbot, make_window,
                                                                     write_chord, tmp_path):
    window = make_window()
    c = window.controller
    recorder, feeder = _record_a_chord(qtbot, window, doomed_sound_server, write_chord)
    doomed_sound_server.kill()
    qtbot.waitUntil(lambda: c.mode.value == "idle" and c.seed.clip is not None, timeout=20000)
    feeder.wait()
    # The speakers went with the server too, found by another timer in either order: both are said.
    qtbot.waitUntil(lambda: "Playback is off:" in window.message_bar.text, timeout=20000)
    lines = window.message_bar.text.splitlines()
    assert len(lines) == 2
    assert any(line.startswith("Recording stopped:") and "recorded so far are the seed" in line for line in lines)
    assert window.audio_status.text() == "No audio device: recording and playback are off"
    assert c.seed.clip.path.startswith(str(tmp_path / "recordings"))
    assert abs(len(c.seed.clip.samples) / c.seed.clip.sample_rate - recorder.samples_written / recorder.sample_rate) < 0.01
    assert np.abs(c.seed.clip.samples[-11025:]).max() > 0.3  # the chord up to the end
    assert not window.record_action.isEnabled()


@pytest.mark.slow
def test_looking_for_devices_while_a_hung_microphone_is_still_closing_says_so_and_does_not_hang(
        doomed_sound_server, qtbot, make_window, write_chord):
    window = make_window()
    c = window.controller
    _, feeder = _record_a_chord(qtbot, window, doomed_sound_server, write_chord)
    doomed_sound_server.freeze()
    qtbot.waitUntil(lambda: c.mode.value == "idle" and c.seed.clip is not None, timeout=20000)
    assert devices.still_closing(0.0)  # the stream's close is blocked in the hung server
    window.panel.refresh_devices.click()  # waits a moment for it, not for good
    assert "still being closed" in window.message_bar.text
    # The server answers again: now the close returns, and devices can be looked for again. (Were the
    # frozen server killed instead, PortAudio's close can stay blocked for good on a loaded machine.)
    doomed_sound_server.thaw()
    qtbot.waitUntil(lambda: not devices.still_closing(0.0), timeout=60000)
    qtbot.mouseClick(window.message_bar.findChild(QToolButton), Qt.MouseButton.LeftButton)  # dismissed
    window.panel.refresh_devices.click()
    assert "still being closed" not in window.message_bar.text
    feeder.kill()
    feeder.wait()
