"""The training dialog runs core.training.train for real: a tiny preset, one epoch, on three short files
of a melody (seconds), with its progress, loss plot, stop, resume and failures as the user sees them."""

import math

import pytest
from PySide6.QtCore import Qt

from musicgen_gui.core.bundle import load_bundle
from musicgen_gui.core.training import work_dir
from musicgen_gui.gui.settings import AppSettings

TRAINING_TIMEOUT_MS = 180_000


def choose(qtbot, dialog, folder, name, epochs=1):
    """What a user does: a folder, the tiny preset, the epochs and a name, typed."""
    dialog.add_folder(str(folder))
    dialog.preset.setCurrentIndex(dialog.preset.findData("tiny"))
    for field, text in ((dialog.epochs, str(epochs)), (dialog.name, name)):
        field.setFocus()
        field.selectAll()
        qtbot.keyClicks(field, text)


@pytest.mark.slow  # TensorFlow trains
def test_training_shows_progress_and_the_model_joins_the_picker(qtbot, window, tiny_preset, pattern_folder):
    window.open_training()
    dialog = window.training
    assert not dialog.start_button.isEnabled()  # no folder yet
    assert dialog.progress.isHidden()  # idle, an empty bar looks like a text field
    choose(qtbot, dialog, pattern_folder, "my tune")
    assert dialog.status.text() == "1 folder of music: press Start."
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert dialog.progress.isVisible() and not dialog.start_button.isEnabled()
    qtbot.waitUntil(lambda: not dialog.running, timeout=TRAINING_TIMEOUT_MS)
    assert dialog.status.text().startswith("wrote "), dialog.status.text()
    batches_per_epoch = dialog.progress.maximum()
    assert batches_per_epoch > 1 and dialog.progress.value() == batches_per_epoch
    batches, validation = dialog.losses()
    # A point a batch, at its place in the epoch, then the epoch's; each loss a real number.
    positions = [x for x, _ in batches]
    assert positions[:batches_per_epoch] == pytest.approx([(b + 1) / batches_per_epoch
                                                            for b in range(batches_per_epoch)])
    assert positions[-1] == 1.0 and all(math.isfinite(loss) and loss > 0 for _, loss in batches)
    assert len(validation) == 1 and validation[0][0] == 1 and math.isfinite(validation[0][1])
    trained = str(dialog.output)
    assert dialog.output.name == "my-tune.musicgen"
    bundle = load_bundle(trained)  # a model the app can load: the tiny preset, trained one epoch
    assert bundle.preset == "tiny" and bundle.architecture.units == (16,)
    assert bundle.provenance["epochs"] == 1 and len(bundle.provenance["val_files"]) == 1
    assert bundle.provenance["final_val_loss"] == pytest.approx(validation[0][1])
    assert window.panel.model.findData(trained) >= 0
    qtbot.waitUntil(lambda: window.settings.model == trained and window.controller.model_name == trained)


@pytest.mark.slow  # TensorFlow trains
def test_stopped_training_can_be_resumed(qtbot, window, tiny_preset, pattern_folder):
    window.open_training()
    dialog = window.training
    choose(qtbot, dialog, pattern_folder, "resumable")
    assert not dialog.resume_button.isEnabled()
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.stop_button, Qt.MouseButton.LeftButton)  # stops after the first batch
    assert dialog.status.text() == "Stopping after this batch…"
    qtbot.waitUntil(lambda: not dialog.running, timeout=TRAINING_TIMEOUT_MS)
    assert dialog.status.text() == "stopped; resume to continue from here"
    batches, _ = dialog.losses()
    assert len(batches) == 1  # one batch ran
    assert not dialog.output.exists()  # stopped in the first epoch: no model yet
    assert dialog.resume_button.isEnabled()
    assert window.settings.model != str(dialog.output)  # a stopped run is not switched to
    qtbot.mouseClick(dialog.resume_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.running, timeout=TRAINING_TIMEOUT_MS)
    batches, validation = dialog.losses()
    per_epoch = dialog.progress.maximum()
    # Resumed from the checkpoint: the first batch reported is the second of the epoch, not the first.
    assert batches[0][0] == pytest.approx(2 / per_epoch)
    assert len(batches) == per_epoch  # the other batches, and the epoch's own point
    assert len(validation) == 1
    assert load_bundle(dialog.output).provenance["epochs"] == 1
    qtbot.waitUntil(lambda: window.settings.model == str(dialog.output))


def test_a_start_that_fails_says_which_file_was_held_out_and_offers_no_resume(qtbot, window, write_chord,
                                                                            tmp_path):
    music = tmp_path / "music"
    music.mkdir()
    for name in ("a", "b"):  # 2 s each: the default preset needs 38 s for one batch
        write_chord(f"music/{name}.wav", 2.0)
    window.open_training()
    dialog = window.training
    dialog.add_folder(str(music))
    dialog.preset.setCurrentIndex(dialog.preset.findData("default"))
    dialog.name.setText("too-little")
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.running, timeout=60000)
    assert dialog.status.text() == ("Training failed: not enough training audio: at least 38 s is needed for one "
                                    "batch. Of the 2 audio files found, 1 is held out for validation and not "
                                    "trained on; add more music")
    assert (work_dir(dialog.output) / "state.json").is_file()  # the run had started
    assert not dialog.resume_button.isEnabled()  # but left no checkpoint


def test_the_dialog_remembers_its_choices_and_offers_resume_after_a_restart(qtbot, no_audio, make_window, tmp_path):
    first = make_window()
    first.open_training()
    dialog = first.training
    dialog.add_folder(str(tmp_path))
    dialog.epochs.setFocus()
    dialog.epochs.selectAll()
    qtbot.keyClicks(dialog.epochs, "7")
    dialog.name.selectAll()
    qtbot.keyClicks(dialog.name, "band")
    dialog.preset.setCurrentIndex(dialog.preset.findData("seed-2017"))
    assert not dialog.resume_button.isEnabled()
    work_dir(dialog.output).mkdir(parents=True)
    (work_dir(dialog.output) / "checkpoint.npz").write_bytes(b"")  # as a stopped run leaves it
    first.close()
    second = make_window(AppSettings(first.settings.path))
    second.open_training()
    again = second.training
    assert [again.folders.item(i).text() for i in range(again.folders.count())] == [str(tmp_path)]
    assert (again.epochs.value(), again.name.text(), again.preset.currentData()) == (7, "band", "seed-2017")
    assert again.resume_button.isEnabled() and again.start_button.isEnabled()
