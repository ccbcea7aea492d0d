"""A run that cannot start: the window is idle again at once, and no take is left anywhere."""

import numpy as np
import pytest
import soundfile as sf
from gui_driver import load

from musicgen_gui.gui.mode import IDLE

RATE = 44100


@pytest.fixture
def silent_then_chord(tmp_path):
    """4 s of digital silence, then 4 s of a chord."""
    t = np.arange(4 * RATE) / RATE
    chord = sum(0.2 * np.sin(2 * np.pi * f * t) for f in (261.63, 329.63, 392.0))
    path = tmp_path / "silence-then-chord.wav"
    sf.write(path, np.concatenate([np.zeros(4 * RATE), chord]).astype(np.float32), RATE)
    return path


def test_continue_is_off_for_a_silent_selection_and_the_status_bar_says_why(qtbot, window, silent_then_chord):
    c = window.controller
    assert load(qtbot, window, silent_then_chord)
    assert window.continue_action.isEnabled()
    window.waveform.set_region(0.5, 3.5)
    qtbot.waitUntil(lambda: c.seed.loudness is not None)
    assert not window.continue_action.isEnabled()
    assert window.stream_status.text() == ("Continue is off: the selected part of the seed is silent "
                                           "(no sound at all); select or record music")
    window.waveform.set_region(4.5, 7.5)
    qtbot.waitUntil(lambda: c.seed.loudness is not None)
    assert window.continue_action.isEnabled() and "silent" not in window.stream_status.text()


def test_a_selection_whose_music_ends_in_a_long_pause_can_be_continued(qtbot, window, tmp_path):
    """8 s of a chord, then 10.5 s of digital silence: its last 10 s are silent, but it is music."""
    c = window.controller
    t = np.arange(8 * RATE) / RATE
    chord = sum(0.2 * np.sin(2 * np.pi * f * t) for f in (261.63, 329.63, 392.0))
    path = tmp_path / "chord-then-pause.wav"
    sf.write(path, np.concatenate([chord, np.zeros(int(10.5 * RATE))]).astype(np.float32), RATE)
    assert load(qtbot, window, path)
    qtbot.waitUntil(lambda: c.seed.loudness is not None)
    assert window.continue_action.isEnabled() and "silent" not in window.stream_status.text()
    # Only the pause selected is silent.
    window.waveform.set_region(9.0, 18.0)
    qtbot.waitUntil(lambda: c.seed.loudness is not None)
    assert not window.continue_action.isEnabled()


@pytest.mark.parametrize("speakers", [True, False], ids=["with speakers", "without"])
def test_a_run_that_fails_at_the_start_returns_to_idle_at_once_and_leaves_no_take(
        qtbot, request, make_window, tmp_path, speakers):
    if speakers:
        request.getfixturevalue("sound_server")
    else:
        request.getfixturevalue("no_audio")
    silent = tmp_path / "silence.wav"
    sf.write(silent, np.zeros(4 * RATE, np.float32), RATE)
    window = make_window()
    c = window.controller
    # Continue pressed as soon as it is enabled, before the seed's level is known: the run is refused.
    pressed = []

    def press():
        if window.continue_action.isEnabled() and not pressed:
            pressed.append(c.seed.loudness)
            window.continue_action.trigger()

    c.changed.connect(press)  # after the window's own slot has enabled the action
    modes_at_error = []
    c.message.connect(lambda text, kind, group: kind == "error" and modes_at_error.append((c.mode, text)))
    assert c.seed.load(silent)
    qtbot.waitUntil(lambda: bool(modes_at_error), timeout=20000)
    mode, text = modes_at_error[0]
    assert pressed == [None] and mode == IDLE  # idle by the time the error is shown
    assert text.startswith("the seed is silent or nearly so (no sound at all)")
    assert window.message_bar.text == text
    assert c.takes.model.rowCount() == 0 and c.takes.current is None and c.run.playback is None
    assert "generating" not in window.stream_status.text()
    qtbot.waitUntil(lambda: not c.busy)
    assert not window.continue_action.isEnabled()  # now that the seed is known to be silent
    window.close()
    assert not list((tmp_path / "takes").glob("*/take.json"))
    again = make_window()  # a restart
    assert again.controller.takes.model.rowCount() == 0
