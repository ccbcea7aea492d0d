import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from musicgen_gui.gui.main_window import DEVICE_LOST, IDLE, STREAMING
from musicgen_gui.gui.settings import AppSettings


def drop(widget, path):
    """A real drag-enter and drop of a file URL onto ``widget``, as a file manager sends them."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    pos = widget.rect().center()
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        return False
    event = QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)
    return event.isAccepted()


def run_to_end(qtbot, window, action=None):
    (action or window.continue_action).trigger()
    assert window.mode == STREAMING
    qtbot.waitUntil(lambda: window.mode == IDLE, timeout=20000)
    qtbot.waitUntil(lambda: window._worker is None)


def test_without_audio_devices_the_app_says_so_and_still_continues(qtbot, window, chord_file):
    assert "No audio device" in window.audio_status.text()
    assert not window.record_action.isEnabled()
    assert window.load_seed(chord_file)
    assert not window.play_action.isEnabled()
    assert window.continue_action.isEnabled()


def test_dropping_a_file_on_a_plot_loads_it_as_the_seed(qtbot, window, chord_file):
    assert drop(window.spectrogram.viewport(), chord_file)
    assert window.seed is not None
    assert window.seed.sample_rate == window.bundle.features.sample_rate == 22050
    assert len(window.seed.samples) == 4 * 22050  # downmixed and resampled from 44.1 kHz stereo
    assert window.settings.recent_files == [str(chord_file)]
    assert window.message_bar.text == ""


def test_dropping_something_else_is_refused(qtbot, window, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not audio")
    assert not drop(window, text)
    assert window.seed is None


def test_a_broken_file_is_reported_in_the_message_bar(qtbot, window, tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF not really a wave file")
    assert not window.load_seed(bad)
    assert "broken.wav" in window.message_bar.text
    assert window.seed is None


def test_messages_of_one_group_stack_and_any_other_replaces_them(qtbot, window):
    bar = window.message_bar
    bar.show_message("the microphone went away", group="device")
    bar.show_message("the speakers went away", group="device")
    assert bar.text == "the microphone went away\nthe speakers went away"
    bar.show_message("a broken file")
    assert bar.text == "a broken file"
    bar.hide()  # dismissed: the next of the group starts afresh
    bar.show_message("the speakers went away", group="device")
    assert bar.text == "the speakers went away"


def test_a_new_seed_clears_old_messages_but_not_that_a_device_is_gone(qtbot, window, chord_file):
    window.show_error("an old problem")
    assert window.load_seed(chord_file)
    assert window.message_bar.text == ""
    # The speakers went away first, then the recording ended and became the seed: both lines stay.
    window.show_error("Playback is off: gone.", group=DEVICE_LOST)
    assert window.load_seed(chord_file)
    window.show_error("Recording stopped: gone.", group=DEVICE_LOST)
    assert window.message_bar.text == "Playback is off: gone.\nRecording stopped: gone."


def test_the_selected_region_is_the_seed(qtbot, window, chord_file):
    window.load_seed(chord_file)
    window.waveform.set_region(1.0, 2.5)
    assert len(window.seed_region()) == int(1.5 * 22050)
    window.panel.seconds.setValue(1.0)
    run_to_end(qtbot, window)
    cfg = window.bundle.features
    # The session drops the fewest leading samples that align the seed to whole frames.
    assert len(window.seed_region()) - cfg.hop < len(window.take.seed) <= len(window.seed_region())
    assert np.array_equal(window.take.seed, window.seed_region()[-len(window.take.seed):])


def test_continue_streams_frames_to_the_spectrogram(qtbot, window, chord_file):
    window.load_seed(chord_file)
    window.panel.seconds.setValue(2.0)
    seed_frames = window.spectrogram.frame_count
    run_to_end(qtbot, window)
    assert window.take.n_samples == 2 * 22050
    predicted = window.spectrogram.frame_count - min(seed_frames, len(window.take.seed_frames))
    assert predicted >= 2 * 22050 // window.bundle.features.hop
    assert window.export_action.isEnabled() and window.extend_action.isEnabled()


def test_adapting_to_the_seed_says_so_then_streams_the_continuation(qtbot, window, chord_file):
    window.load_seed(chord_file)
    window.panel.seconds.setValue(1.0)
    window.panel.adapt.setChecked(True)
    window.panel.adapt_seconds.setValue(4.0)
    window.continue_action.trigger()
    qtbot.waitUntil(lambda: "adapting the model to the seed" in window.stream_status.text(), timeout=5000)
    session = window._worker.session
    qtbot.waitUntil(lambda: window.mode == IDLE, timeout=30000)
    qtbot.waitUntil(lambda: window._worker is None)
    assert session.adaptation.steps >= 1
    assert window.take.n_samples == 22050


def test_a_short_seed_is_an_error_not_a_crash(qtbot, window, chord_file):
    window.load_seed(chord_file)
    window.waveform.set_region(1.0, 1.01)
    window.continue_action.trigger()
    assert window.mode == IDLE
    assert "too short" in window.message_bar.text


@pytest.mark.parametrize("with_seed, bits, subtype", [(False, "16", "PCM_16"), (True, "24", "PCM_24"),
                                                      (False, "float", "FLOAT")])
def test_export_writes_a_wav_of_the_right_length(qtbot, window, chord_file, tmp_path, with_seed, bits, subtype):
    window.load_seed(chord_file)
    window.panel.seconds.setValue(1.5)
    run_to_end(qtbot, window)
    out = tmp_path / "take.wav"
    window.export(str(out), with_seed=with_seed, bits=bits)
    qtbot.waitUntil(out.exists)  # written atomically: it appears complete
    info = sf.info(out)
    expected = window.take.n_samples + (len(window.take.seed) if with_seed else 0)
    assert (info.frames, info.samplerate, info.subtype) == (expected, 22050, subtype)
    written, _ = sf.read(out, dtype="float32")
    assert np.allclose(written[-window.take.n_samples:], window.take.continuation, atol=1e-4)


def test_an_export_error_is_shown(qtbot, window, chord_file, tmp_path):
    window.load_seed(chord_file)
    window.panel.seconds.setValue(1.0)
    run_to_end(qtbot, window)
    window.export(str(tmp_path / "no such folder" / "take.wav"), with_seed=False, bits="16")
    qtbot.waitUntil(lambda: "does not exist" in window.message_bar.text)


def test_extend_appends_to_the_take(qtbot, window, chord_file):
    window.load_seed(chord_file)
    window.panel.seconds.setValue(1.0)
    run_to_end(qtbot, window)
    first = window.take.continuation.copy()
    run_to_end(qtbot, window, window.extend_action)
    assert window.take.n_samples == 2 * 22050
    assert np.array_equal(window.take.continuation[:len(first)], first)


def test_fixed_random_seed_regenerates_the_same_take(qtbot, window, chord_file):
    window.load_seed(chord_file)
    window.panel.seconds.setValue(1.0)
    window.panel.fixed_seed.setChecked(True)
    window.panel.rng_seed.setValue(7)
    run_to_end(qtbot, window)
    first = window.take.continuation.copy()
    run_to_end(qtbot, window, window.regenerate_action)
    assert np.array_equal(window.take.continuation, first)


def test_stop_cancels_generation_and_leaves_no_thread(qtbot, window, chord_file):
    window.load_seed(chord_file)
    window.panel.seconds.setValue(600.0)
    window.continue_action.trigger()
    qtbot.waitUntil(lambda: window.take.n_frames > 0)
    window.panel.set_temperature(1.5)  # applies to the running session
    assert window._worker.session.temperature == 1.5
    window.stop_action.trigger()
    assert window.mode == IDLE
    qtbot.waitUntil(lambda: window._worker is None)
    assert window.take.n_samples < 600 * 22050
    # no_dangling_threads fails the test if anything is still running


def test_closing_while_generating_waits_for_the_worker(qtbot, window, chord_file):
    window.load_seed(chord_file)
    window.panel.seconds.setValue(600.0)
    window.continue_action.trigger()
    qtbot.waitUntil(lambda: window.take.n_frames > 0)
    window.close()


def test_settings_survive_a_restart(qtbot, no_audio, make_window, tmp_path, tiny_bundle_path):
    first = make_window()
    first.panel.seconds.setValue(42.0)
    first.panel.set_temperature(0.8)
    first.panel.fixed_seed.setChecked(True)
    first.panel.rng_seed.setValue(1234)
    first.panel.lead_in.setValue(3.5)
    first.panel.anchor.setChecked(False)
    first.panel.adapt.setChecked(True)
    first.panel.adapt_seconds.setValue(20.0)
    first.resize(700, 520)
    first.close()
    second = make_window(AppSettings(tmp_path / "settings.ini"), model=False)
    qtbot.waitUntil(lambda: second.bundle is not None)
    assert second.panel.seconds.value() == 42.0
    assert second.panel.temperature_value == 0.8
    assert second.panel.fixed_seed.isChecked() and second.panel.rng_seed.value() == 1234
    assert second.panel.lead_in.value() == 3.5
    assert not second.panel.anchor.isChecked()
    assert second.panel.adapt.isChecked() and second.panel.adapt_seconds.value() == 20.0
    assert second.panel.selected_model() == str(tiny_bundle_path)
    assert (second.width(), second.height()) == (700, 520)


def test_a_bad_model_file_is_reported(qtbot, no_audio, make_window, tmp_path):
    bad = tmp_path / "bad.musicgen"
    bad.write_bytes(b"not a zip")
    window = make_window(model=False)
    window.load_model(str(bad))
    qtbot.waitUntil(lambda: "bad.musicgen" in window.message_bar.text)
    assert window.bundle is None
    assert not window.continue_action.isEnabled()


def test_keyboard_shortcuts_drive_the_window(qtbot, window, chord_file):
    window.load_seed(chord_file)
    window.panel.seconds.setValue(600.0)
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert window.mode == STREAMING
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert window.mode == IDLE
    qtbot.waitUntil(lambda: window._worker is None)
