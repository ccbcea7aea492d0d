"""Starting after a crash: the app offers the recording that kill -9 cut short, and loads it as
the seed; declined ones are deleted, and quitting mid-recording finishes the file instead. A take
killed while it was generated is in the take list at the next start, as far as it was saved."""

import os
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import Qt
from recording_crash import record_and_kill
from synth import peak_frequency

from musicgen_gui.audio.recorder import PARTIAL
from musicgen_gui.gui.mode import IDLE, RECORDING
from musicgen_gui.gui.settings import AppSettings


def button(window, text):
    return next(b for b in window.message_bar.buttons if b.text() == text)


@pytest.mark.slow
def test_the_next_start_offers_the_killed_recording_and_recover_makes_it_the_seed(
        qtbot, sound_server, make_window, tmp_path):
    killed = record_and_kill(sound_server, tmp_path / "recordings", freq=523.25, seconds=2.0)
    window = make_window()
    c = window.controller
    assert "A recording was interrupted" in window.message_bar.text
    qtbot.mouseClick(button(window, "Recover"), Qt.MouseButton.LeftButton)
    finished = killed.partial.with_name(killed.partial.name.replace(PARTIAL, ".wav"))
    assert not killed.partial.exists() and finished.exists()
    qtbot.waitUntil(lambda: c.seed.clip is not None)
    assert c.seed.clip.path == str(finished)
    assert "Recovered" in window.message_bar.text
    seconds = len(c.seed.clip.samples) / c.seed.clip.sample_rate
    assert abs(seconds - killed.received / killed.sample_rate) < 1.0
    assert abs(peak_frequency(c.seed.clip.samples[-c.seed.clip.sample_rate:], c.seed.clip.sample_rate) - 523.25) < 2
    assert window.continue_action.isEnabled()
    window.close()
    assert make_window().message_bar.text == ""  # recovered: not offered again


@pytest.mark.slow
def test_discard_deletes_the_interrupted_recording(qtbot, sound_server, make_window, tmp_path):
    killed = record_and_kill(sound_server, tmp_path / "recordings", freq=440.0, seconds=0.5)
    window = make_window()
    assert "A recording was interrupted" in window.message_bar.text
    qtbot.mouseClick(button(window, "Discard"), Qt.MouseButton.LeftButton)
    assert not killed.partial.exists() and list(killed.partial.parent.iterdir()) == []
    assert window.message_bar.text == "" and window.controller.seed.clip is None


def test_quitting_while_recording_keeps_the_take_as_a_finished_file(qtbot, sound_server, make_window, tmp_path,
                                                                    chord_file):
    window = make_window()
    c = window.controller
    window.record_action.trigger()
    assert c.mode == RECORDING
    feeder = sound_server.play_into_mic(chord_file)
    recorder = c.audio.recorder
    qtbot.waitUntil(lambda: recorder.samples_written > recorder.sample_rate, timeout=15000)
    window.close()
    feeder.terminate()
    feeder.wait()
    assert c.mode == IDLE
    files = list((tmp_path / "recordings").iterdir())
    assert [p.suffix for p in files] == [".wav"] and not files[0].name.endswith(PARTIAL)
    assert sf.info(files[0]).frames == recorder.samples_written >= recorder.sample_rate


_GENERATE_UNTIL_KILLED = """
import sys
from pathlib import Path
from PySide6.QtWidgets import QApplication
from musicgen_gui.core.session import ContinuationParams
from musicgen_gui.gui.main_window import MainWindow
from musicgen_gui.gui.settings import AppSettings

folder, model, seed = map(Path, sys.argv[1:])
app = QApplication([])
settings = AppSettings(folder / "settings.ini")
settings.model, settings.params = str(model), ContinuationParams(seconds=600.0)
window = MainWindow(settings, recordings_dir=folder / "recordings", takes_dir=folder / "takes")
window.show()
c = window.controller
while c.bundle is None or c.seed.clip is None:
    if c.bundle is not None and c.seed.clip is None and not c.busy:
        c.seed.load(seed)
    app.processEvents()
c.run.continue_seed()
print("generating", flush=True)
while True:
    app.processEvents()
"""


@pytest.mark.slow
def test_a_take_being_generated_survives_kill_9(qtbot, no_audio, make_window, tmp_path, tiny_bundle_path,
                                                chord_file):
    env = {**os.environ, "PULSE_SERVER": f"unix:{tmp_path / 'no-server'}"}
    app = subprocess.Popen([sys.executable, "-c", _GENERATE_UNTIL_KILLED, str(tmp_path), str(tiny_bundle_path),
                            str(chord_file)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert app.stdout.readline().strip() == "generating"
        saved = tmp_path / "takes"
        deadline = time.monotonic() + 120
        while not list(saved.glob("*/take.json")):  # written while it generates, every few seconds
            assert time.monotonic() < deadline and app.poll() is None
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        app.kill()  # kill -9: no chance to save anything more
        app.wait()
    on_disk = sf.info(next(saved.glob("*/continuation.wav"))).frames
    window = make_window(AppSettings(tmp_path / "settings.ini"))
    takes = window.controller.takes.model.takes()
    assert [t.name for t in takes] == ["Take 1"]
    assert takes[0].n_samples == on_disk > 0 and takes[0].params.seconds == 600.0
    assert np.abs(takes[0].continuation()).max() > 0
