"""Start-up: a seed shows as its waveform first; its spectrogram (which needs scipy) is made after the
window has drawn it, and fills in when it is ready. The window can be used meanwhile."""

import subprocess
import sys
import threading

from PySide6.QtCore import QPointF, Qt

from musicgen_gui.gui import seed as seed_module

RATE = 22050
DEFERRED = ("scipy", "onnx", "onnxruntime", "librosa", "tensorflow", "keras")


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
    release = threading.Event()
    real = seed_module.log_power

    def held(samples, cfg):  # the spectrogram's job waits until the test lets it go
        release.wait(30)
        return real(samples, cfg)

    monkeypatch.setattr(seed_module, "log_power", held)
    c = window.controller
    try:
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
    finally:
        release.set()
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
w = MainWindow(AppSettings(sys.argv[2]), recordings_dir=sys.argv[3], takes_dir=sys.argv[3])
w.show()
seen = []

class Painted(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and w.controller.seed.clip is not None and not seen:
            seen.append(sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[4].split(","))))
        return False

painted = Painted()
w.waveform.viewport().installEventFilter(painted)
w.open_files([sys.argv[1]])
while not seen:
    app.processEvents()
print("imported:", ",".join(seen[0]))
w.close()
"""


def test_the_window_with_a_seed_is_drawn_before_scipy_or_any_model_runtime_is_imported(tmp_path, chord_file):
    out = subprocess.run([sys.executable, "-c", _FIRST_PAINT, str(chord_file), str(tmp_path / "settings.ini"),
                          str(tmp_path / "data"), ",".join(DEFERRED)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-1] == "imported:"  # none of them
