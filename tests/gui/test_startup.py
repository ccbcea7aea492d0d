"""Start-up: the window is drawn first, with the seed it opens as a plain waveform; the plots
(pyqtgraph), the sound devices, the saved takes and the model come after that paint. The seed's
spectrogram (which needs scipy) is made once the plots have drawn it, and fills in when it is ready;
the window can be used meanwhile."""

import subprocess
import sys

import pytest
from gui_driver import spectrogram_held
from PySide6.QtCore import QEvent, QObject, QPointF, Qt

from musicgen_gui.gui import seed as seed_module
from musicgen_gui.gui.main_window import MainWindow
from musicgen_gui.gui.settings import AppSettings

RATE = 22050
DEFERRED = ("scipy", "onnx", "onnxruntime", "librosa", "tensorflow", "keras", "pyqtgraph", "sounddevice")


def _drag(qtbot, plot, start_s: float, end_s: float) -> None:
    """A real left-button drag across ``plot`` from ``start_s`` to ``end_s`` (its time axis)."""
    vb = plot.getPlotItem().getViewBox()
    y = sum(vb.viewRange()[1]) / 2
    a, b = (plot.mapFromScene(vb.mapViewToScene(QPointF(s, y))) for s in (start_s, end_s))
    qtbot.mousePress(plot.viewport(), Qt.MouseButton.LeftButton, pos=a)
    for i in range(1, 11):
        qtbot.mouseMove(plot.viewport(), a + (b - a) * (i / 10))
    qtbot.mouseRelease(plot.viewport(), Qt.MouseButton.LeftButton, pos=b)


def test_the_seed_shows_and_can_be_selected_before_its_spectrogram_which_then_fills_in(
        qtbot, monkeypatch, window, chord_file):
    c = window.controller
    with spectrogram_held(monkeypatch, seed_module):
        window.open_files([str(chord_file)])  # as the command line opens it at start-up
        qtbot.waitUntil(lambda: c.seed.clip is not None, timeout=20000)
        qtbot.waitUntil(lambda: c.jobs.busy and not c.seed.pending)  # drawn, and the spectrogram's job started
        x, _ = window.waveform.shown()
        assert len(x) == 4 * RATE  # the waveform is there, whole
        assert window.spectrogram.frame_count == 0
        assert window.spectrogram.hint == "computing spectrogram…"
        assert window.windowTitle() == "musicgen — chord.wav"
        # Usable meanwhile: a drag selects, a click switches the frequency scale.
        _drag(qtbot, window.waveform, 1.0, 2.5)
        start, end = c.seed.region
        assert abs(start / RATE - 1.0) < 0.05 and abs(end / RATE - 2.5) < 0.05
        qtbot.mouseClick(window.log_frequency, Qt.MouseButton.LeftButton)
        assert window.spectrogram.log_frequency
        assert window.spectrogram.frame_count == 0
    qtbot.waitUntil(lambda: window.spectrogram.frame_count > 0, timeout=20000)
    assert window.spectrogram.frame_count == 1 + (4 * RATE - 1024) // 512  # every frame of the seed
    assert window.spectrogram.hint == ""
    assert window.spectrogram.log_frequency  # the setting made meanwhile holds
    assert window.spectrogram.end_time > 3.9
    qtbot.waitUntil(lambda: not c.busy)
    assert window.analysis.text().startswith("Seed: ")  # the tempo and key, too


_FIRST_PAINT = """
import sys
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication
app = QApplication([])
from musicgen_gui.gui.main_window import MainWindow
from musicgen_gui.gui.settings import AppSettings
deferred = set(sys.argv[4].split(","))
imported = lambda: ",".join(sorted({m.split(".")[0] for m in sys.modules} & deferred))
w = MainWindow(AppSettings(sys.argv[2]), recordings_dir=sys.argv[3], takes_dir=sys.argv[3])
seen = []

class Painted(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and not seen and w.controller.seed.clip is not None:
            seen.append(imported())
        return False

painted = Painted()
w.preview.installEventFilter(painted)
w.show()
w.open_files([sys.argv[1]])
while w.spectrogram is None or w.spectrogram.frame_count == 0:
    app.processEvents()
print("seed drawn with:", seen[0])
print("then:", imported())
print("waveform:", len(w.waveform.shown()[0]))
w.close()
"""


@pytest.mark.slow
def test_the_window_with_a_seed_is_drawn_before_pyqtgraph_scipy_portaudio_or_a_model_runtime_is_imported(
        tmp_path, chord_file):
    out = subprocess.run([sys.executable, "-c", _FIRST_PAINT, str(chord_file), str(tmp_path / "settings.ini"),
                          str(tmp_path / "data"), ",".join(DEFERRED)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(":", 1) for line in out.stdout.splitlines() if ":" in line)
    assert lines["seed drawn with"].strip() == ""  # none of them
    assert "pyqtgraph" in lines["then"]  # the plots came after
    assert int(lines["waveform"]) == 4 * RATE  # and show the seed, whole


def test_the_seed_is_drawn_first_then_the_plots_take_its_place_and_the_model_loads(
        qtbot, no_audio, tmp_path, tiny_bundle_path, chord_file):
    settings = AppSettings(tmp_path / "settings.ini")
    settings.model = str(tiny_bundle_path)
    window = MainWindow(settings, recordings_dir=tmp_path / "recordings", takes_dir=tmp_path / "takes")
    qtbot.addWidget(window, before_close_func=lambda w: w.close())
    c = window.controller
    drawn_alone = []  # paints of the first waveform with the seed, before the plots existed

    class Painted(QObject):
        def eventFilter(self, obj, event):
            if event.type() == QEvent.Type.Paint and c.seed.clip is not None and window.waveform is None:
                drawn_alone.append(True)
            return False

    painted = Painted()
    window.preview.installEventFilter(painted)
    window.show()
    window.open_files([str(chord_file)])  # as the command line opens it at start-up
    assert window.waveform is None and c.bundle is None and c.busy  # none of it before the first paint
    assert window.audio_status.text() == "Audio: looking for devices…"
    qtbot.waitUntil(lambda: c.bundle is not None and not c.busy, timeout=20000)
    assert drawn_alone
    assert window.preview is None  # the plots took its place
    x, _ = window.waveform.shown()
    assert len(x) == 4 * RATE and window.waveform.isVisible()
    assert window.spectrogram.frame_count == 1 + (4 * RATE - 1024) // 512
    assert window.analysis.text().startswith("Seed: ")
    assert window.audio_status.text() == "No audio device: recording and playback are off"
    assert window.continue_action.isEnabled()
