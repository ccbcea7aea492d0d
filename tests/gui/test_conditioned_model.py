"""A seed-conditioned model in the window: it continues, and fine-tuning is off with the reason."""

from gui_driver import load, run_to_end
from PySide6.QtCore import Qt
from testmodels import random_bundle

from musicgen_gui.core.bundle import save_bundle
from musicgen_gui.core.model import Architecture
from musicgen_gui.gui.settings import AppSettings

RATE = 22050


def test_a_seed_conditioned_model_continues_and_offers_no_fine_tuning(qtbot, no_audio, make_window, chord_file,
                                                                       tmp_path):
    path = save_bundle(random_bundle(Architecture(units=(24,), candidates=4)), tmp_path / "reads-seed.musicgen")
    settings = AppSettings(tmp_path / "settings.ini")
    settings.model = str(path)
    window = make_window(settings, model=False)
    qtbot.waitUntil(lambda: window.controller.bundle is not None)
    panel = window.panel
    assert not panel.adapt.isEnabled() and "reads the seed itself" in panel.adapt.toolTip()
    assert panel.anchor.text() == "Hold the seed's loudness"  # no key, level or timbre anchor for it
    qtbot.mouseClick(panel.adapt, Qt.MouseButton.LeftButton)  # a click on a disabled box does nothing
    assert panel.adapt_value == 0.0
    assert load(qtbot, window, chord_file)
    panel.seconds.setValue(2.0)
    take = run_to_end(qtbot, window)
    assert take.n_samples == take.kept == 2 * RATE
    # Back to a plain model: fine-tuning is offered again.
    window.controller.load_model(str(save_bundle(random_bundle(), tmp_path / "plain.musicgen")))
    qtbot.waitUntil(lambda: not window.controller.bundle.architecture.conditioned)
    qtbot.waitUntil(panel.adapt.isEnabled)
    assert panel.anchor.text() == "Hold the seed's key, level and timbre"
