"""GUI tests: real widgets on the offscreen platform (tests/conftest.py sets QT_QPA_PLATFORM).

Tests drive the window's actions and read the AppController's public state."""

import threading
import traceback
from weakref import WeakKeyDictionary

import pytest
import synth
from PySide6.QtCore import QThread

from musicgen_gui.audio import devices
from musicgen_gui.core.model import PRESETS, Architecture, Preset, TrainingConfig
from musicgen_gui.gui.main_window import MainWindow
from musicgen_gui.gui.settings import AppSettings


def _is_running(thread: QThread) -> bool:
    try:
        return thread.isRunning()
    except RuntimeError:  # the C++ object is gone (deleteLater after it finished)
        return False


@pytest.fixture(autouse=True)
def no_dangling_threads(monkeypatch):
    """Fail a test that leaves a QThread (or the recorder's writer thread) running."""
    started = WeakKeyDictionary()
    original = QThread.start

    def start(self, *args):
        started[self] = "".join(traceback.format_stack(limit=6)[:-1])
        original(self, *args)

    monkeypatch.setattr(QThread, "start", start)
    yield
    running = [where for thread, where in list(started.items()) if _is_running(thread)]
    running += [t.name for t in threading.enumerate() if t.name == "recorder-writer"]
    if running:
        pytest.fail("threads left running, started at:\n" + "\n".join(running))


@pytest.fixture
def no_audio(monkeypatch):
    """As if PortAudio could not be loaded: the app has no devices, whatever the machine has."""
    monkeypatch.setattr(devices, "sounddevice", lambda: None)


@pytest.fixture
def make_window(qtbot, tmp_path, tiny_bundle_path):
    """make_window(settings=None, model=True): a shown MainWindow whose model has loaded."""

    def make(settings=None, model=True):
        settings = settings or AppSettings(tmp_path / "settings.ini")
        if model:
            settings.model = str(tiny_bundle_path)
        window = MainWindow(settings, recordings_dir=tmp_path / "recordings", takes_dir=tmp_path / "takes")
        qtbot.addWidget(window, before_close_func=lambda w: w.close())
        window.show()
        if model:
            qtbot.waitUntil(lambda: window.controller.bundle is not None)
        qtbot.waitUntil(lambda: not window.controller.busy)  # the saved takes are read
        return window

    return make


@pytest.fixture
def window(no_audio, make_window):
    return make_window()


@pytest.fixture
def write_chord(tmp_path):
    """write_chord(name, seconds, channels=1): a C major chord at 44.1 kHz as a WAV file in tmp_path."""

    def write(name, seconds, channels=1, rate=44100):
        return synth.write_chord(tmp_path / name, seconds, channels, rate)

    return write


@pytest.fixture
def chord_file(write_chord):
    """4 s of the chord, stereo at 44.1 kHz: the app downmixes and resamples it."""
    return write_chord("chord.wav", 4.0, channels=2)


@pytest.fixture
def tiny_preset(monkeypatch):
    """A preset small enough to train an epoch in seconds: 10-frame windows, 8 to a batch, LSTM-16."""
    preset = Preset("tiny", "1 x LSTM-16 for the tests",
                    architecture=Architecture(cell="lstm", units=(16,), residual=True, input_noise=0.3),
                    training=TrainingConfig(sequence_length=10, batch_size=8))
    monkeypatch.setitem(PRESETS, "tiny", preset)
    return preset
