"""Keys typed by a user, as real key events: what is typed into a field reaches it, and no action fires
from typing; Esc while recording cancels it and leaves the seed alone."""

from pathlib import Path

import pytest
from gui_driver import load, run_to_end
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit

from musicgen_gui.gui.mode import IDLE, RECORDING


@pytest.fixture
def live_window(qtbot, sound_server, make_window, chord_file):
    """A window with speakers and a microphone (every shortcut enabled), a seed and one take, active."""
    window = make_window()
    assert load(qtbot, window, chord_file)
    window.panel.seconds.setValue(1.0)
    run_to_end(qtbot, window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    return window


def record_triggers(window) -> list[str]:
    fired = []
    for action in window.actions():
        action.triggered.connect(lambda *_, a=action: fired.append(a.text()))
    return fired


@pytest.mark.slow
def test_typing_into_the_rename_editor_renames_the_take_and_fires_nothing(qtbot, live_window):
    window, c = live_window, live_window.controller
    take = c.takes.current
    window.takes.view.setFocus()
    qtbot.keyClick(window.takes.view, Qt.Key.Key_F2)
    editor = QApplication.focusWidget()
    assert isinstance(editor, QLineEdit)
    fired = record_triggers(window)
    editor.selectAll()
    qtbot.keyClicks(editor, "Bright ending, played back")  # r records, b is A/B, p plays, Space plays the seed
    qtbot.keyClick(editor, Qt.Key.Key_Backspace)
    qtbot.keyClick(editor, Qt.Key.Key_Delete)
    assert editor.text() == "Bright ending, played bac"
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: take.name == "Bright ending, played bac")  # committed once the editor closes
    assert fired == [] and c.mode == IDLE and c.takes.model.rowCount() == 1


@pytest.mark.slow
@pytest.mark.parametrize("box, typed, value", [("seconds", "12", 12.0), ("lead_in", "3", 3.0),
                                                ("rng_seed", "4711", 4711)])
def test_plain_keys_in_a_spin_box_edit_it_and_fire_nothing(qtbot, live_window, box, typed, value):
    window, c = live_window, live_window.controller
    window.panel.fixed_seed.setChecked(True)  # the random seed's box is enabled
    spin = getattr(window.panel, box)
    spin.setFocus()
    fired = record_triggers(window)
    for key in (Qt.Key.Key_End, Qt.Key.Key_Delete, Qt.Key.Key_Space, Qt.Key.Key_P, Qt.Key.Key_B, Qt.Key.Key_R):
        qtbot.keyClick(spin, key)
    spin.selectAll()
    qtbot.keyClicks(spin, typed)
    assert spin.value() == value
    for _ in range(len(typed)):
        qtbot.keyClick(spin, Qt.Key.Key_Backspace)  # deletes what was typed, not the selected take
    assert fired == [] and c.mode == IDLE and c.takes.model.rowCount() == 1 and c.takes.current is not None


@pytest.mark.slow
def test_esc_while_recording_cancels_it_keeps_the_file_and_leaves_the_seed(qtbot, live_window):
    window, c = live_window, live_window.controller
    seed, readout = c.seed.clip, window.analysis.text()
    assert readout.startswith("Seed: ")
    qtbot.keyClick(window, Qt.Key.Key_R)
    assert c.mode == RECORDING
    assert window.analysis.text() == ""  # not the seed about to be replaced
    qtbot.waitUntil(lambda: c.audio.recorder.samples_written > 0, timeout=10000)
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert c.mode == IDLE
    qtbot.waitUntil(lambda: not c.busy)
    assert c.seed.clip is seed and window.analysis.text().startswith("Seed: ")
    kept = Path(window.settings.recent_files[0])
    assert kept.is_file() and kept.parent.name == "recordings"
    assert window.message_bar.text.startswith("Recording cancelled") and str(kept) in window.message_bar.text


def test_the_follow_slider_shows_its_value_as_the_keys_move_it(qtbot, window):
    slider, shown = window.panel.follow, window.panel.follow_value
    slider.setValue(50)
    assert shown.text() == "0.50"
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_Right)
    qtbot.keyClick(slider, Qt.Key.Key_Right)
    assert shown.text() == "0.52"
    qtbot.keyClick(slider, Qt.Key.Key_End)
    assert shown.text() == "1.00" and window.controller.params.follow == 1.0
