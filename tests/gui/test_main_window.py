import numpy as np
import pytest
import soundfile as sf
import synth
from gui_driver import click_take, load, run_to_end
from PySide6.QtCore import QEvent, QMimeData, QPointF, Qt, QThread, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QMouseEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from musicgen_gui.core import onsets
from musicgen_gui.core.export import SEAM_FADE_SECONDS
from musicgen_gui.core.features import FADE_SAMPLES
from musicgen_gui.core.session import ContinuationParams
from musicgen_gui.gui.seed import DEVICE_LOST, describe
from musicgen_gui.gui.dialogs import ExportDialog
from musicgen_gui.gui.mode import IDLE, STREAMING, TABLE
from musicgen_gui.gui.settings import AppSettings

RATE = 22050


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


def test_without_audio_devices_the_app_says_so_and_still_continues(qtbot, window, chord_file):
    assert "No audio device" in window.audio_status.text()
    assert not window.record_action.isEnabled()
    assert load(qtbot, window, chord_file)
    assert not window.play_action.isEnabled()
    assert window.continue_action.isEnabled()


def test_dropping_a_file_on_a_plot_loads_it_as_the_seed(qtbot, window, chord_file):
    c = window.controller
    assert drop(window.spectrogram.viewport(), chord_file)
    qtbot.waitUntil(lambda: c.seed.clip is not None)
    assert c.seed.clip.sample_rate == c.bundle.features.sample_rate == RATE
    assert len(c.seed.clip.samples) == 4 * RATE  # downmixed and resampled from 44.1 kHz stereo
    assert window.settings.recent_files == [str(chord_file)]
    assert window.message_bar.text == ""


def test_dropping_something_else_is_refused(qtbot, window, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not audio")
    assert not drop(window, text)
    assert window.controller.seed.clip is None


def test_a_broken_file_is_reported_in_the_message_bar(qtbot, window, tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF not really a wave file")
    assert not load(qtbot, window, bad)
    assert "broken.wav" in window.message_bar.text
    assert window.controller.seed.clip is None


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
    bar = window.message_bar
    bar.show_message("an old problem")
    assert load(qtbot, window, chord_file)
    assert bar.text == ""
    # The speakers went away first, then the recording ended and became the seed: both lines stay.
    bar.show_message("Playback is off: gone.", group=DEVICE_LOST)
    assert load(qtbot, window, chord_file)
    bar.show_message("Recording stopped: gone.", group=DEVICE_LOST)
    assert bar.text == "Playback is off: gone.\nRecording stopped: gone."


def test_the_selected_region_is_the_seed_and_is_exported_whole(qtbot, window, chord_file, tmp_path):
    c = window.controller
    assert load(qtbot, window, chord_file)
    window.waveform.set_region(1.0, 2.5)
    region = c.seed.clip.samples[RATE:int(2.5 * RATE)]
    assert "1.50 s" in window.waveform.plotItem.titleLabel.text
    window.panel.seconds.setValue(1.0)
    take = run_to_end(qtbot, window)
    assert np.array_equal(take.seed, region)  # whole, not trimmed to the frame grid
    out = tmp_path / "both.wav"
    c.takes.export(take, str(out), with_seed=True, bits="float")
    qtbot.waitUntil(lambda: "Exported" in window.message_bar.text)
    # At the file's own 44.1 kHz stereo: its samples, up to the cross-fade into the continuation.
    written, rate = sf.read(out, dtype="float32")
    original, _ = sf.read(chord_file, dtype="float32")
    fade = int(SEAM_FADE_SECONDS * rate)
    assert rate == 2 * RATE and written.shape == (int(2.5 * rate), 2)
    assert np.array_equal(written[:int(1.5 * rate) - fade], original[rate:int(2.5 * rate) - fade])
    assert window.message_bar.text.startswith("Exported 2.50 s (seed 1.50 s + continuation 1.00 s) of Take 1")


def test_continue_streams_frames_to_the_spectrogram_and_makes_a_take(qtbot, window, chord_file):
    c = window.controller
    assert load(qtbot, window, chord_file)
    window.panel.seconds.setValue(2.0)
    seed_frames = window.spectrogram.frame_count
    take = run_to_end(qtbot, window)
    assert take.n_samples == take.kept == 2 * RATE
    assert window.spectrogram.frame_count - seed_frames >= 2 * RATE // c.bundle.features.hop
    assert c.takes.model.rowCount() == 1 and take.name == "Take 1"
    assert window.export_action.isEnabled() and window.extend_action.isEnabled()
    assert window.stream_status.text() == "Take 1: 2.0 s"  # not what was shown while streaming


def test_moving_follow_while_a_take_plays_applies_to_it_and_the_take_says_so(qtbot, window, chord_file):
    c = window.controller
    assert load(qtbot, window, chord_file)
    window.panel.seconds.setValue(600.0)
    window.panel.follow.setValue(0)
    window.continue_action.trigger()
    qtbot.waitUntil(lambda: c.takes.current is not None and c.takes.current.n_samples > 0, timeout=20000)
    take = c.takes.current
    window.panel.follow.setFocus()
    qtbot.keyClick(window.panel.follow, Qt.Key.Key_End)  # a real key on the slider: all the way to "stay close"
    qtbot.waitUntil(lambda: len(take.follow_changes) > 0, timeout=10000)
    (sample, value), = take.follow_changes
    assert value == 1.0 and 0 < sample <= take.n_samples
    window.stop_action.trigger()
    qtbot.waitUntil(lambda: c.mode == IDLE)
    assert "follow changed at" in take.details()


def test_while_streaming_only_stop_is_enabled_as_the_mode_table_says(qtbot, window, chord_file):
    assert load(qtbot, window, chord_file)
    window.panel.seconds.setValue(600.0)
    window.continue_action.trigger()
    for action in window.actions():
        if action.data():
            assert action.isEnabled() == (STREAMING in TABLE[action.data()][0] and action.data() == "stop"), \
                action.text()
    window.stop_action.trigger()
    assert window.controller.mode == IDLE and window.continue_action.isEnabled()


@pytest.mark.slow
def test_adapting_to_the_seed_says_so_then_streams_the_continuation(qtbot, window, chord_file):
    assert load(qtbot, window, chord_file)
    window.panel.seconds.setValue(1.0)
    window.panel.adapt.setChecked(True)
    window.panel.adapt_seconds.setValue(4.0)
    window.continue_action.trigger()
    qtbot.waitUntil(lambda: "adapting the model to the seed · " in window.stream_status.text(), timeout=5000)
    shown = window.stream_status.text()
    c = window.controller
    # The seconds count up while it adapts: never silent.
    qtbot.waitUntil(lambda: c.run.generation.adapting and window.stream_status.text() != shown, timeout=10000)
    assert window.stream_status.text().startswith("adapting the model to the seed · ")
    qtbot.waitUntil(lambda: c.mode == IDLE and not c.run.generation.running, timeout=30000)
    assert c.takes.current.n_samples == RATE and c.takes.current.params.adapt_seconds == 4.0


def test_a_too_short_seed_disables_continue_and_says_why(qtbot, window, chord_file):
    assert load(qtbot, window, chord_file)
    window.waveform.set_region(1.0, 1.1)
    assert not window.continue_action.isEnabled()
    assert window.stream_status.text().startswith("Continue is off: the seed is too short (0.10 s); "
                                                  "it must be at least 0.21 s")
    window.continue_action.trigger()
    assert window.controller.mode == IDLE and window.controller.takes.model.rowCount() == 0
    window.waveform.set_region(1.0, 2.0)
    assert window.continue_action.isEnabled() and window.stream_status.text() == ""


@pytest.mark.parametrize("with_seed, bits, subtype", [(False, "16", "PCM_16"), (True, "24", "PCM_24"),
                                                      (False, "float", "FLOAT")])
def test_export_writes_a_wav_of_the_right_length(qtbot, window, chord_file, tmp_path, with_seed, bits, subtype):
    assert load(qtbot, window, chord_file)
    window.panel.seconds.setValue(1.5)
    take = run_to_end(qtbot, window)
    out = tmp_path / "take.wav"
    window.controller.takes.export(take, str(out), with_seed=with_seed, bits=bits)
    qtbot.waitUntil(out.exists)  # written atomically: it appears complete
    info = sf.info(out)
    if with_seed:  # at the seed file's 44.1 kHz stereo
        expected = (2 * (len(take.seed) + take.kept), 2 * RATE, 2, subtype)
    else:
        expected = (take.kept, RATE, 1, subtype)
    assert (info.frames, info.samplerate, info.channels, info.subtype) == expected
    if not with_seed:
        written, _ = sf.read(out, dtype="float32")
        # The take as generated, ending in the short fade-out every played or exported take ends in.
        assert np.allclose(written[:-FADE_SAMPLES], take.continuation()[:-FADE_SAMPLES], atol=1e-4)
        assert np.allclose(written, take.finished(), atol=1e-4) and written[-1] == 0.0


def test_an_export_error_is_shown(qtbot, window, chord_file, tmp_path):
    assert load(qtbot, window, chord_file)
    window.panel.seconds.setValue(1.0)
    take = run_to_end(qtbot, window)
    before = window.settings.export_folder
    window.controller.takes.export(take, str(tmp_path / "no such folder" / "take.wav"), with_seed=False, bits="16")
    qtbot.waitUntil(lambda: "does not exist" in window.message_bar.text)
    assert window.settings.export_folder == before  # a failed export is not proposed again
    window.controller.takes.export(take, str(tmp_path / "take.wav"), with_seed=False, bits="16")
    qtbot.waitUntil(lambda: window.message_bar.text.startswith("Exported"))
    assert window.settings.export_folder == str(tmp_path)


def test_the_export_dialog_proposes_a_name_per_choice_and_asks_before_replacing(qtbot, window, chord_file, tmp_path):
    assert load(qtbot, window, chord_file)
    window.panel.seconds.setValue(1.0)
    take = run_to_end(qtbot, window)
    dialog = ExportDialog(window.settings, take, window)
    qtbot.addWidget(dialog)
    dialog.continuation_only.setChecked(True)
    alone = dialog.path
    dialog.seed_and_continuation.setChecked(True)
    assert alone.endswith("chord-take-1-continuation.wav") and dialog.path.endswith("chord-take-1-with-seed.wav")
    (tmp_path / "keep.wav").write_bytes(b"precious")
    dialog.path_edit.setText(str(tmp_path / "keep.wav"))
    answers = []

    def answer(button):
        box = QApplication.activeModalWidget()
        answers.append(box.text())
        assert box.defaultButton() is box.button(QMessageBox.StandardButton.No)  # Enter keeps the file
        box.button(button).click()

    QTimer.singleShot(50, lambda: answer(QMessageBox.StandardButton.No))
    dialog.accept()
    assert "keep.wav already exists" in answers[0] and dialog.result() == 0  # still open
    assert (tmp_path / "keep.wav").read_bytes() == b"precious"
    QTimer.singleShot(50, lambda: answer(QMessageBox.StandardButton.Yes))
    dialog.accept()
    assert dialog.result() == 1


def test_the_export_dialog_refuses_names_it_cannot_write_before_asking_anything(qtbot, window, chord_file, tmp_path):
    assert load(qtbot, window, chord_file)
    window.panel.seconds.setValue(1.0)
    take = run_to_end(qtbot, window)
    window.settings.export_folder = str(tmp_path)
    dialog = ExportDialog(window.settings, take, window)
    qtbot.addWidget(dialog)
    seen = []

    def dismiss():
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):  # not up yet
            QTimer.singleShot(20, dismiss)
            return
        seen.append(box.text())
        box.button(QMessageBox.StandardButton.Ok).click()

    for typed, message in [("", "Choose a file name"), (str(tmp_path), "is a folder"),
                           ("song.mp3", "end the name with .wav"), (str(tmp_path / "none" / "a.wav"), "does not exist")]:
        dialog.path_edit.setText(typed)
        QTimer.singleShot(50, dismiss)
        dialog.accept()
        assert message in seen[-1] and dialog.result() == 0, (typed, seen)
    dialog.path_edit.setText("mine")  # no folder, no extension: the proposed folder, as WAV
    dialog.accept()
    assert dialog.result() == 1 and dialog.path == str(tmp_path / "mine.wav") == dialog.path_edit.text()
    assert len(seen) == 4


def test_every_continue_extend_and_regenerate_makes_a_take_and_keeps_the_others(qtbot, window, chord_file):
    c = window.controller
    assert load(qtbot, window, chord_file)
    window.panel.seconds.setValue(1.0)
    first = run_to_end(qtbot, window)
    kept = first.continuation().copy()
    extended = run_to_end(qtbot, window, window.extend_action)
    assert extended is not first and extended.parent == first.ident
    assert extended.n_samples == 2 * RATE and np.array_equal(extended.continuation()[:RATE], kept)
    window.waveform.set_region(0.5, 3.0)  # moving the region drops nothing
    regenerated = run_to_end(qtbot, window, window.regenerate_action)
    assert np.array_equal(regenerated.seed, extended.seed)  # the selected take's seed, not the new region
    assert [t.name for t in c.takes.model.takes()] == ["Take 1", "Take 2", "Take 3"]
    assert np.array_equal(first.continuation(), kept)


def test_the_shown_random_seed_with_fixed_reproduces_a_take_sample_for_sample(qtbot, window, chord_file):
    assert load(qtbot, window, chord_file)
    window.panel.seconds.setValue(1.0)
    window.panel.fixed_seed.setChecked(False)
    first = run_to_end(qtbot, window)
    qtbot.wait(500)  # the next run is primed meanwhile, with a seed of its own
    assert window.panel.rng_seed.value() == first.params.rng_seed
    window.panel.fixed_seed.setChecked(True)
    again = run_to_end(qtbot, window, window.regenerate_action)
    assert again.params.rng_seed == first.params.rng_seed
    assert np.array_equal(again.continuation(), first.continuation())


def test_takes_are_renamed_deleted_with_undo_and_survive_a_restart(qtbot, no_audio, make_window, chord_file):
    window = make_window()
    c = window.controller
    assert load(qtbot, window, chord_file)
    window.panel.seconds.setValue(1.0)
    run_to_end(qtbot, window)
    second = run_to_end(qtbot, window)
    assert c.takes.model.setData(c.takes.model.index(0), "the good one")
    assert not c.takes.model.setData(c.takes.model.index(0), "Take 2")  # the other take's name
    assert window.message_bar.text == "A take is already named Take 2: the good one keeps its name."
    window.delete_action.trigger()
    assert [t.name for t in c.takes.model.takes()] == ["the good one"]
    assert window.message_bar.text.startswith("Take deleted.")
    window.undo_action.trigger()
    assert [t.name for t in c.takes.model.takes()] == ["the good one", "Take 2"] and c.takes.current is second
    assert window.message_bar.text == "Take 2 restored."
    window.delete_action.trigger()
    third = run_to_end(qtbot, window)  # numbered past the deleted take that undo can still bring back
    window.undo_action.trigger()
    assert [t.name for t in c.takes.model.takes()] == ["the good one", "Take 2", "Take 3"] and third.name == "Take 3"
    for take in (third, second):
        c.takes.select(take)
        window.delete_action.trigger()
    window.close()
    again = make_window(AppSettings(window.settings.path))
    takes = again.controller.takes.model.takes()
    assert [t.name for t in takes] == ["the good one"]
    assert takes[0].n_samples == RATE and takes[0].params.rng_seed == c.takes.model.takes()[0].params.rng_seed
    again.controller.takes.select(takes[0])  # its tempo and key, from the saved samples
    qtbot.waitUntil(lambda: not again.controller.busy)
    assert again.analysis.text().startswith("the good one: ")


def test_stop_cancels_generation_applies_variation_live_and_leaves_no_thread(qtbot, window, chord_file):
    c = window.controller
    assert load(qtbot, window, chord_file)
    window.panel.seconds.setValue(600.0)
    window.continue_action.trigger()
    qtbot.waitUntil(lambda: c.takes.current.n_frames > 0)
    window.panel.set_temperature(1.5)  # reaches the running worker as a message
    qtbot.waitUntil(lambda: bool(c.takes.current.temperature_changes), timeout=10000)
    assert c.takes.current.temperature_changes[0][1] == 1.5
    window.stop_action.trigger()
    assert c.mode == IDLE
    qtbot.waitUntil(lambda: not c.run.generation.running and not c.busy)
    assert 0 < c.takes.current.n_samples < 600 * RATE
    # no_dangling_threads fails the test if anything is still running


def test_closing_while_generating_waits_for_the_worker(qtbot, window, chord_file):
    assert load(qtbot, window, chord_file)
    window.panel.seconds.setValue(600.0)
    window.continue_action.trigger()
    qtbot.waitUntil(lambda: window.controller.takes.current.n_frames > 0)
    window.close()


def test_closing_while_the_tempo_and_key_are_read_starts_nothing_after_it(qtbot, window, chord_file, monkeypatch):
    """A selection dragged just before the window closes: the reading in flight ends as the window
    closes, and used to start the next region's reading then. That thread outlived the window, and
    its result reached a deleted widget (an exception in the event loop)."""
    assert load(qtbot, window, chord_file)
    window.waveform.set_region(0.5, 3.0)  # a reading starts
    window.waveform.set_region(1.0, 3.5)  # the region moves on while it runs
    assert window.controller.jobs.busy
    window.close()
    started = []
    start = QThread.start
    monkeypatch.setattr(QThread, "start", lambda thread, *args: (started.append(thread), start(thread, *args)))
    qtbot.wait(300)  # what the ended reading reports is delivered now
    assert started == []


def test_settings_survive_a_restart(qtbot, no_audio, make_window, tmp_path, tiny_bundle_path):
    first = make_window()
    first.panel.seconds.setValue(42.0)
    first.panel.set_temperature(0.8)
    first.panel.follow.setValue(20)
    first.panel.fixed_seed.setChecked(True)
    first.panel.rng_seed.setValue(1234)
    first.panel.lead_in.setValue(3.5)
    first.panel.anchor.setChecked(False)
    first.panel.adapt.setChecked(True)
    first.panel.adapt_seconds.setValue(20.0)
    first.resize(700, 520)
    first.close()
    second = make_window(AppSettings(tmp_path / "settings.ini"), model=False)
    qtbot.waitUntil(lambda: second.controller.bundle is not None)
    assert second.panel.params() == ContinuationParams(seconds=42.0, temperature=0.8, rng_seed=1234, anchor=False,
                                                      adapt_seconds=20.0, follow=0.2)
    assert second.panel.lead_in.value() == 3.5 and second.panel.fixed_seed.isChecked()
    assert (second.controller.params, second.controller.lead_in) == (second.panel.params(), 3.5)
    assert second.panel.selected_model() == str(tiny_bundle_path)
    assert (second.width(), second.height()) == (700, 520)


def test_a_bad_model_file_is_reported(qtbot, no_audio, make_window, tmp_path):
    bad = tmp_path / "bad.musicgen"
    bad.write_bytes(b"not a zip")
    window = make_window(model=False)
    qtbot.waitUntil(lambda: window.controller.bundle is not None)  # the default model
    window.models.load(str(bad))
    qtbot.waitUntil(lambda: "bad.musicgen" in window.message_bar.text)
    assert window.controller.bundle.name != "bad"
    assert window.model_status.text().startswith("Model: ")


def test_keyboard_shortcuts_work_wherever_focus_is(qtbot, window, chord_file):
    c = window.controller
    assert load(qtbot, window, chord_file)
    window.panel.seconds.setValue(600.0)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert c.mode == STREAMING
    qtbot.waitUntil(lambda: c.takes.current.n_samples > 0)
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert c.mode == IDLE
    qtbot.waitUntil(lambda: not c.run.generation.running and not c.busy)
    takes = len(c.takes.model.takes())
    # The keypad's Enter extends as the main one does (Continue takes both too).
    qtbot.keyClick(window, Qt.Key.Key_Enter, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
                   | Qt.KeyboardModifier.KeypadModifier)
    assert c.mode == STREAMING and len(c.takes.model.takes()) == takes + 1
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not c.run.generation.running and not c.busy)
    window.panel.seconds.setFocus()  # a spin box's own Ctrl+E would move its cursor
    opened = []
    QTimer.singleShot(100, lambda: (opened.append(QApplication.activeModalWidget()),
                                    QApplication.activeModalWidget().reject()))
    qtbot.keyClick(window.panel.seconds, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert isinstance(opened[0], ExportDialog)


def test_several_files_open_the_first_and_list_the_rest(qtbot, window, write_chord):
    files = [write_chord(f"{n}.wav", 1.0) for n in ("one", "two", "three")]
    window.open_files([str(f) for f in files])
    qtbot.waitUntil(lambda: window.controller.seed.clip is not None)
    assert window.controller.seed.clip.path == str(files[0])
    assert window.settings.recent_files[:3] == [str(f) for f in files]
    assert "the other 2 are in File ▸ Open recent" in window.message_bar.text
    window.open_files([str(f) for f in files[1:]])
    qtbot.waitUntil(lambda: window.controller.seed.clip.path == str(files[1]) and not window.controller.busy)
    assert "the other is in File ▸ Open recent" in window.message_bar.text


def test_opening_another_seed_leaves_no_take_of_the_last_one_selected(qtbot, window, chord_file, write_chord):
    c = window.controller
    assert load(qtbot, window, chord_file)
    window.panel.seconds.setValue(1.0)
    take = run_to_end(qtbot, window)
    assert c.takes.current is take and window.delete_action.isEnabled()
    assert load(qtbot, window, write_chord("other.wav", 3.0))
    assert c.takes.current is None
    for action in (window.delete_action, window.export_action, window.play_take_action):
        assert not action.isEnabled(), action.text()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window.takes.view, Qt.Key.Key_Delete)
    assert take in c.takes.model.takes()
    assert "Take" not in window.analysis.text()
    window.takes.all_seeds.setChecked(True)  # listed again, it can be chosen, and deleted, again
    click_take(qtbot, window, take)
    assert c.takes.current is take
    qtbot.keyClick(window.takes.view, Qt.Key.Key_Delete)
    assert take not in c.takes.model.takes()


def test_the_seed_and_the_take_show_their_tempo_and_key(qtbot, window, chord_file):
    assert load(qtbot, window, chord_file)
    assert window.analysis.text().startswith("Seed: ") and "C major" in window.analysis.text()
    window.panel.seconds.setValue(3.0)
    run_to_end(qtbot, window)
    assert "Take 1: " in window.analysis.text()


def damage_onset_detector(tmp_path, monkeypatch, request) -> None:
    """From now on the bundled onset detector the analysis reads is a damaged file."""
    models = tmp_path / "models"
    models.mkdir()
    (models / "onsets.npz").write_bytes(b"not a model")
    monkeypatch.setenv("MUSICGEN_MODELS_DIR", str(models))
    onsets.load_detector.cache_clear()
    request.addfinalizer(onsets.load_detector.cache_clear)


def test_a_damaged_onset_detector_leaves_the_readout_unknown_and_says_why(qtbot, window, chord_file, tmp_path,
                                                                         monkeypatch, request):
    damage_onset_detector(tmp_path, monkeypatch, request)
    assert load(qtbot, window, chord_file)
    assert window.analysis.text() == "Seed: tempo and key unknown"
    assert window.message_bar.text.startswith("The tempo and key could not be read: the onset detector")
    assert "rebuild.sh onsets" in window.message_bar.text


def test_a_take_whose_readout_fails_reads_unknown(qtbot, window, chord_file, tmp_path, monkeypatch, request):
    assert load(qtbot, window, chord_file)
    window.panel.seconds.setValue(4.0)  # long enough for a tempo, which reads the onset detector
    first = run_to_end(qtbot, window)
    run_to_end(qtbot, window)
    damage_onset_detector(tmp_path, monkeypatch, request)
    click_take(qtbot, window, first)
    qtbot.waitUntil(lambda: not window.controller.busy)
    assert window.controller.takes.current is first
    assert f"{first.name}: tempo and key unknown" in window.analysis.text()


def drag_on_waveform(qtbot, window, start, end, steps=10):
    """A press at ``start`` seconds on the waveform, moves to ``end`` and a release there, as a hand
    drags; returns the selected region in seconds."""
    view, viewport = window.waveform, window.waveform.viewport()
    box = view.getViewBox()

    def send(kind, seconds, buttons):
        qtbot.wait(20)  # pyqtgraph drops mouse moves closer together than 10 ms; a hand is slower
        pos = QPointF(view.mapFromScene(box.mapViewToScene(QPointF(seconds, 0.0))))
        button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else Qt.MouseButton.LeftButton
        QApplication.sendEvent(viewport, QMouseEvent(kind, pos, view.mapToGlobal(pos), button, buttons,
                                                     Qt.KeyboardModifier.NoModifier))

    send(QEvent.Type.MouseMove, start, Qt.MouseButton.NoButton)  # the pointer arrives: hovering claims drags
    send(QEvent.Type.MouseButtonPress, start, Qt.MouseButton.LeftButton)
    for seconds in np.linspace(start, end, steps)[1:]:
        send(QEvent.Type.MouseMove, seconds, Qt.MouseButton.LeftButton)
    send(QEvent.Type.MouseButtonRelease, end, Qt.MouseButton.NoButton)
    region = window.controller.seed.region
    return region[0] / RATE, region[1] / RATE


def test_dragging_anywhere_on_the_waveform_selects_a_region_and_shows_its_length(qtbot, window, chord_file):
    c = window.controller
    assert load(qtbot, window, chord_file)
    view = window.waveform

    def drag(start, end):
        return drag_on_waveform(qtbot, window, start, end)

    assert drag(1.0, 3.0) == pytest.approx((1.0, 3.0), abs=0.05)  # inside the selection (all of it)
    start, end = c.seed.region
    assert f"({(end - start) / RATE:.2f} s of 4.00 s)" in view.plotItem.titleLabel.text
    assert drag(2.5, 1.5) == pytest.approx((1.5, 2.5), abs=0.05)  # inside again, leftwards
    assert drag(2.5, 3.5) == pytest.approx((1.5, 3.5), abs=0.05)  # from its edge: the edge moves


def test_the_readout_holds_its_text_while_a_selection_is_dragged_and_ends_on_the_final_region(qtbot, window,
                                                                                               tmp_path):
    c = window.controller
    groove = synth.groove(12.0, 100, 4)
    x = synth.tune(12.0, rng_seed=1)
    x = x + groove[:len(x)]
    sf.write(tmp_path / "tune.wav", x, RATE)
    assert load(qtbot, window, tmp_path / "tune.wav")
    shown = []
    c.analysisChanged.connect(shown.append)
    drag_on_waveform(qtbot, window, 1.0, 11.0, steps=40)
    qtbot.waitUntil(lambda: not c.busy)
    assert shown and "" not in shown  # it never blinked empty
    final = describe(c.seed.region_samples(), c.features)
    assert window.analysis.text() == f"Seed: {final}"


def test_how_closely_to_follow_the_seed_is_a_setting_of_each_take(qtbot, window, chord_file):
    assert load(qtbot, window, chord_file)
    window.panel.seconds.setValue(1.0)
    window.panel.follow.setValue(window.panel.follow.minimum())  # "wander"
    wandering = run_to_end(qtbot, window)
    window.panel.follow.setValue(window.panel.follow.maximum())  # "stay close"
    close = run_to_end(qtbot, window)
    assert (wandering.params.follow, close.params.follow) == (0.0, 1.0)
    assert "follow 1.0" in close.details()
