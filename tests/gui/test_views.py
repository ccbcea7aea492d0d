"""What the waveform and the spectrogram show, driven by real mouse clicks and key presses: a take
selected, played or compared A/B shows in both views, on one time axis, with a moving playhead."""

import threading

import numpy as np
import pytest
from gui_driver import assert_shows, click_take, load, run_to_end, spectrogram_held
import soundfile as sf
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor

from musicgen_gui.gui import display as display_module
from musicgen_gui.gui import spectrogram as spectrogram_module
from musicgen_gui.gui.mode import IDLE, PLAYING, STREAMING
from musicgen_gui.gui.settings import AppSettings
from musicgen_gui.gui.spectrogram import LOG_FLOOR_HZ
from musicgen_gui.gui.views import SEED_COLOUR
from musicgen_gui.gui.waveform import MAX_TRACE_POINTS

RATE = 22050
N_FFT = 1024
HOP = 512


def test_a_selected_take_shows_in_both_views_and_after_a_restart(qtbot, no_audio, make_window, chord_file):
    window = make_window()
    c = window.controller
    assert load(qtbot, window, chord_file)
    window.panel.seconds.setValue(1.0)
    first = run_to_end(qtbot, window)
    assert_shows(window, first)  # the take just made
    window.waveform.set_region(1.0, 3.0)  # a take is shown: nothing to select
    assert c.seed.region == (0, 4 * RATE)
    qtbot.mouseClick(window.view_tabs, Qt.MouseButton.LeftButton, pos=window.view_tabs.tabRect(0).center())
    x, _ = window.waveform.shown()
    assert len(x) == len(c.seed.clip.samples) and window.view_tabs.currentIndex() == 0  # the seed clip, whole
    window.waveform.set_region(1.0, 3.0)
    second = run_to_end(qtbot, window)
    assert len(second.seed) == 2 * RATE
    assert_shows(window, second)
    click_take(qtbot, window, first)
    assert c.takes.current is first
    assert_shows(window, first)
    window.close()
    again = make_window(AppSettings(window.settings.path))
    saved = again.controller.takes.model.takes()
    assert [t.name for t in saved] == ["Take 1", "Take 2"]
    click_take(qtbot, again, saved[1])
    assert_shows(again, saved[1])
    assert np.allclose(again.waveform.shown()[1], np.concatenate([second.seed, second.continuation()]))


def test_the_two_views_share_one_time_axis(qtbot, window, chord_file):
    assert load(qtbot, window, chord_file)
    assert window.waveform.viewRange()[0] == pytest.approx(window.spectrogram.viewRange()[0])
    window.waveform.setXRange(1.0, 2.0, padding=0)
    assert window.spectrogram.viewRange()[0] == pytest.approx([1.0, 2.0])
    window.spectrogram.setXRange(0.5, 3.5, padding=0)
    assert window.waveform.viewRange()[0] == pytest.approx([0.5, 3.5])


def test_log_frequency_shows_the_chords_notes_where_they_are(qtbot, window, chord_file):
    assert load(qtbot, window, chord_file)
    spectrogram = window.spectrogram
    hz, db = spectrogram.spectrum_at(2.0)
    assert len(hz) == 512 and spectrogram.viewRange()[1][0] == pytest.approx(0.0)
    axis = spectrogram.getAxis("left")
    assert "frequency (kHz)" in axis.labelString()  # linear: ticks 0-10, in kHz
    qtbot.mouseClick(window.log_frequency, Qt.MouseButton.LeftButton)
    assert window.log_frequency.isChecked() and spectrogram.log_frequency
    assert "frequency (Hz)" in axis.labelString()  # log: ticks 50 ... 10k, in Hz
    low, high = spectrogram.viewRange()[1]
    assert low == pytest.approx(np.log10(LOG_FLOOR_HZ)) and high == pytest.approx(np.log10(512 * RATE / N_FFT))
    hz, db = spectrogram.spectrum_at(2.0)
    assert np.all(np.diff(np.log(hz)) == pytest.approx(np.log(hz[1] / hz[0])))  # evenly spaced in log frequency
    loud = hz[db > db.max() - 3.0]
    notes = np.array([261.63, 329.63, 392.0])
    # Every loud row is within a semitone and a half of a note of the chord: rows are a third of a semitone
    # apart, but the STFT's 21.5 Hz bins are wider than that down here.
    assert np.all(np.min(np.abs(12 * np.log2(loud[:, None] / notes[None, :])), axis=1) < 1.5)
    qtbot.mouseClick(window.log_frequency, Qt.MouseButton.LeftButton)
    assert not spectrogram.log_frequency and "frequency (kHz)" in axis.labelString()
    assert spectrogram.viewRange()[1] == pytest.approx([0.0, 512 * RATE / N_FFT])


@pytest.fixture
def heard_window(qtbot, sound_server, make_window, chord_file):
    """make(seconds): a window with speakers and the chord loaded, continuing for ``seconds`` with no lead-in."""

    def make(seconds):
        window = make_window()
        assert load(qtbot, window, chord_file)
        window.panel.seconds.setValue(seconds)
        window.panel.lead_in.setValue(0.0)
        return window, window.controller

    return make


@pytest.mark.slow
def test_playing_a_take_shows_it_with_a_moving_playhead_and_ab_moves_the_selection(qtbot, heard_window):
    window, c = heard_window(8.0)  # long enough to be still playing after A/B, on a busy machine too
    first = run_to_end(qtbot, window)
    second = run_to_end(qtbot, window)
    click_take(qtbot, window, first)
    click_take(qtbot, window, second)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_P)
    assert c.mode == PLAYING
    seam = len(second.seed) / RATE
    qtbot.waitUntil(lambda: (window.waveform.playhead() or 0) > seam + 0.5, timeout=10000)
    assert window.spectrogram.playhead() == window.waveform.playhead()
    assert window.stream_status.text().startswith("Playing Take 2")
    qtbot.keyClick(window, Qt.Key.Key_B)  # A/B: the selection, the views and the readout follow the sound
    assert c.takes.current is first and window.takes.view.currentIndex() == window.takes.index_of(first)
    assert window.stream_status.text().startswith("Playing Take 1")
    assert window.view_tabs.tabText(1) == "Take 1"
    qtbot.waitUntil(lambda: window.waveform.playhead() is not None)
    before = window.waveform.playhead()
    assert before > len(first.seed) / RATE + 0.5  # where Take 2 was, in Take 1
    qtbot.waitUntil(lambda: (window.waveform.playhead() or 0) > before + 0.2, timeout=10000)
    qtbot.waitUntil(lambda: "Take 1: " in window.analysis.text(), timeout=10000)
    qtbot.keyClick(window, Qt.Key.Key_B)
    assert c.takes.current is second and window.stream_status.text().startswith("Playing Take 2")
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert window.waveform.playhead() is None


@pytest.mark.slow
def test_once_a_take_is_all_generated_the_status_says_it_plays_not_that_it_generates(qtbot, heard_window):
    window, c = heard_window(6.0)
    window.continue_action.trigger()
    qtbot.waitUntil(lambda: window.stream_status.text().startswith("generating Take 1"), timeout=10000)
    qtbot.waitUntil(lambda: not c.run.generation.running, timeout=20000)
    assert c.mode == STREAMING  # what was generated is still playing out
    qtbot.waitUntil(lambda: window.stream_status.text().startswith("Playing Take 1 · "))
    assert window.stream_status.text().endswith(" of 6.0 s")
    qtbot.waitUntil(lambda: c.mode == IDLE, timeout=20000)
    assert window.stream_status.text() == "Take 1: 6.0 s"  # once played out: the whole length


@pytest.mark.slow
def test_a_take_of_a_long_seed_shows_its_envelope_and_gets_its_spectrogram_from_the_background(qtbot, window,
                                                                                                 write_chord):
    assert load(qtbot, window, write_chord("long.wav", 70.0))
    window.panel.seconds.setValue(1.0)
    take = run_to_end(qtbot, window)
    x, y = window.waveform.shown()
    seed_points = len(x) - len(take.continuation())
    assert seed_points <= MAX_TRACE_POINTS < len(take.seed)  # an envelope, not every sample
    assert y[:seed_points].max() == pytest.approx(np.abs(take.seed).max())
    assert x[seed_points - 1] <= len(take.seed) / RATE == x[seed_points]  # the continuation from the seam
    audio_frames = (len(take.seed) + len(take.continuation()) - N_FFT) // HOP + 1
    qtbot.waitUntil(lambda: window.spectrogram.frame_count == audio_frames)
    assert window.spectrogram.hint == ""


def test_a_streaming_take_grows_on_the_waveform_and_is_drawn_whole_when_stopped(qtbot, window, chord_file):
    c = window.controller
    assert load(qtbot, window, chord_file)
    window.panel.seconds.setValue(600.0)
    window.continue_action.trigger()
    seam = 4.0

    def drawn_to():
        x, _ = window.waveform.shown()
        return x[-1] if len(x) else 0.0

    qtbot.waitUntil(lambda: drawn_to() > seam + 1.0, timeout=20000)
    reached = drawn_to()
    qtbot.waitUntil(lambda: drawn_to() > reached + 1.0, timeout=20000)  # it keeps growing
    assert drawn_to() <= seam + c.run.take.n_samples / RATE
    window.stop_action.trigger()
    qtbot.waitUntil(lambda: not c.run.generation.running and not c.busy)
    assert_shows(window, c.takes.current)  # sample for sample, once it has ended


def test_the_views_stay_on_a_streaming_take_and_show_the_seed_once_the_take_shown_is_deleted(qtbot, window,
                                                                                          chord_file):
    c = window.controller
    assert load(qtbot, window, chord_file)
    window.panel.seconds.setValue(1.0)
    first = run_to_end(qtbot, window)
    window.panel.seconds.setValue(600.0)
    window.continue_action.trigger()
    streaming = c.run.take
    click_take(qtbot, window, first)  # selected, but the views stay on what is being generated
    assert c.takes.current is first and window.view_tabs.tabText(1) == streaming.name
    assert not window.view_tabs.isEnabled()
    window.stop_action.trigger()
    qtbot.waitUntil(lambda: not c.run.generation.running and not c.busy)
    assert_shows(window, first)  # once it has ended, the take selected
    window.delete_action.trigger()
    window.delete_action.trigger()
    assert c.takes.current is None
    x, _ = window.waveform.shown()
    assert len(x) == len(c.seed.clip.samples) and window.view_tabs.currentIndex() == 0
    assert not window.view_tabs.isTabEnabled(1)


def test_a_quiet_recording_draws_as_an_unbroken_line(qtbot, window, tmp_path):
    # About -50 dBFS: peak downsampling makes sub-pixel segments of it, which a 1 px pen left out.
    quiet = (0.004 * np.random.default_rng(0).standard_normal(8 * RATE)).astype(np.float32)
    sf.write(tmp_path / "quiet.wav", quiet, RATE)
    window.resize(window.minimumSize())
    assert load(qtbot, window, tmp_path / "quiet.wav")
    view = window.waveform
    image = view.grab().toImage()
    box = view.getViewBox()
    left, right = (int(view.mapFromScene(box.mapViewToScene(QPointF(t, 0.0))).x()) for t in (0.3, 7.7))
    right = min(right, image.width() - 1)
    colour = QColor(SEED_COLOUR)
    drawn = [any(abs(QColor(image.pixel(x, y)).red() - colour.red()) < 40
                 and abs(QColor(image.pixel(x, y)).blue() - colour.blue()) < 40 for y in range(image.height()))
             for x in range(left, right)]
    assert len(drawn) > 100 and np.mean(drawn) > 0.99  # a 1 px pen drew 96 % of the columns


def click_tab(qtbot, window, index):
    qtbot.mouseClick(window.view_tabs, Qt.MouseButton.LeftButton, pos=window.view_tabs.tabRect(index).center())


@pytest.fixture
def long_take(qtbot, monkeypatch, window, chord_file):
    """A take that counts as long (its spectrogram is made in the background), with the seed in view."""
    monkeypatch.setattr(display_module, "LONG_TAKE_SECONDS", 2.0)  # the 4 s chord and 1 s of take: 5 s
    assert load(qtbot, window, chord_file)
    window.panel.seconds.setValue(1.0)
    take = run_to_end(qtbot, window)
    click_tab(qtbot, window, 0)
    assert window.view_tabs.currentIndex() == 0
    return take


@pytest.mark.parametrize("log", [False, True], ids=["linear", "log"])
def test_a_long_takes_spectrogram_image_is_made_off_the_gui_thread(qtbot, monkeypatch, window, long_take, log):
    if log:
        qtbot.mouseClick(window.log_frequency, Qt.MouseButton.LeftButton)
        assert window.spectrogram.log_frequency
    made_on = []  # for each piece of the image made: was it on the GUI thread?

    def recorded(fn):
        def call(*args):
            made_on.append(threading.current_thread() is threading.main_thread())
            return fn(*args)
        return call

    # Everything that makes the array drawn: the levels in dB, and the image of them (rows in log frequency).
    monkeypatch.setattr(spectrogram_module, "to_decibels", recorded(spectrogram_module.to_decibels))
    monkeypatch.setattr(spectrogram_module, "image", recorded(spectrogram_module.image))
    click_tab(qtbot, window, 1)
    qtbot.waitUntil(lambda: not window.controller.busy and window.spectrogram.hint == "")
    assert_shows(window, long_take)  # every frame of it, where it belongs
    assert made_on and not any(made_on)
    assert window.spectrogram.log_frequency == log
    _, shown = window.spectrogram.spectrum_at(4.5)
    assert len(shown) == (384 if log else 512) and shown.max() > -60.0  # the continuation's columns, drawn


def test_a_long_takes_spectrogram_that_cannot_be_made_says_so_and_the_take_stays(qtbot, monkeypatch, window,
                                                                                  long_take):
    def fails(samples, cfg):
        raise MemoryError("Unable to allocate 52.9 MiB for an array")

    monkeypatch.setattr(display_module, "log_power", fails)
    click_tab(qtbot, window, 1)
    qtbot.waitUntil(lambda: not window.controller.busy)
    assert window.spectrogram.hint == "no spectrogram: it could not be made"  # not "computing" for ever
    assert window.message_bar.text.startswith(f"The spectrogram of {long_take.name} could not be made: ")
    assert "MemoryError" in window.message_bar.text
    x, y = window.waveform.shown()  # the rest is all there
    assert np.array_equal(y, np.concatenate([long_take.seed, long_take.continuation()]))
    assert window.view_tabs.currentIndex() == 1 and window.controller.takes.current is long_take
    assert window.export_action.isEnabled()
    monkeypatch.undo()  # shown again, it is made this time
    click_tab(qtbot, window, 0)
    click_tab(qtbot, window, 1)
    qtbot.waitUntil(lambda: not window.controller.busy and window.spectrogram.hint == "")
    assert window.spectrogram.frame_count == (len(x) - N_FFT) // HOP + 1


@pytest.mark.parametrize("primed", [False, True], ids=["at once", "primed"])
def test_a_streaming_spectrogram_is_drawn_up_to_the_generated_marker_and_no_further(qtbot, window, chord_file,
                                                                                    primed):
    c = window.controller
    assert load(qtbot, window, chord_file)
    window.panel.seconds.setValue(20.0)
    # A pause before Continue: its first blocks are made then, and go into the take as the run starts.
    qtbot.waitUntil(lambda: c.run.generation.primed == primed, timeout=20000)
    seen = []  # (the spectrogram's end, the marker) after each redraw; connected after the views' own slot
    c.run.progress.connect(lambda take, heard: seen.append((window.spectrogram.end_time,
                                                            window.spectrogram.generated())))
    run_to_end(qtbot, window)
    streamed = [(end, marker) for end, marker in seen if marker > 4.5]
    assert len(streamed) >= 3
    for end, marker in streamed:
        assert end <= marker + 1e-9  # no column past what is generated
        assert marker - end < HOP / RATE  # and the marker less than a column past the last one


def test_switching_the_frequency_scale_while_a_long_takes_spectrogram_is_made_draws_it_on_the_new_one(
        qtbot, monkeypatch, window, long_take):
    with spectrogram_held(monkeypatch, display_module):
        click_tab(qtbot, window, 1)
        assert window.spectrogram.hint == "computing spectrogram…"
        qtbot.mouseClick(window.log_frequency, Qt.MouseButton.LeftButton)  # made for linear, shown in log
        assert window.spectrogram.log_frequency
    qtbot.waitUntil(lambda: not window.controller.busy and window.spectrogram.hint == "")
    assert_shows(window, long_take)
    hz, db = window.spectrogram.spectrum_at(2.0)
    loud = hz[db > db.max() - 3.0]
    assert len(hz) == 384 and loud.min() > 200 and loud.max() < 450  # the chord's notes, on rows in log frequency
