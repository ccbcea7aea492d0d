"""The training dialog's wiring; core.training.train itself is tested by the core's tests, and is
replaced here by a stand-in that reports progress as it does (real training takes minutes)."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from musicgen_gui.core.errors import MusicgenError
from musicgen_gui.core.training import TrainingProgress, work_dir
from musicgen_gui.gui import workers
from musicgen_gui.gui.settings import AppSettings


@pytest.fixture
def fake_train(monkeypatch, tiny_bundle_path):
    calls = []

    def train(paths, output, preset, epochs, resume, progress, should_stop):
        output = Path(output)
        calls.append(dict(paths=paths, preset=preset, epochs=epochs, resume=resume))
        progress(TrainingProgress("loading", message="Reading 1 file"))
        for epoch in range(1, epochs + 1):
            for batch in range(1, 5):
                progress(TrainingProgress("training", epoch, epochs, batch, 4, loss=1.0 / (epoch * batch)))
                if should_stop():  # as train() leaves it: the state, and a checkpoint to resume from
                    work_dir(output).mkdir(exist_ok=True)
                    (work_dir(output) / "state.json").write_text(json.dumps({"epoch": epoch}))
                    (work_dir(output) / "checkpoint.npz").write_bytes(b"")
                    progress(TrainingProgress("stopped", epoch, epochs, batch, 4, message="stopped"))
                    return output
            shutil.copy(tiny_bundle_path, output)
            progress(TrainingProgress("training", epoch, epochs, 4, 4, loss=0.5 / epoch, val_loss=0.6 / epoch))
        progress(TrainingProgress("done", epochs, epochs, 4, 4, message=f"wrote {output}"))
        return output

    monkeypatch.setattr(workers, "train", train)
    return calls


def test_training_shows_progress_and_the_model_joins_the_picker(qtbot, window, fake_train, tmp_path):
    window.open_training()
    dialog = window.training
    assert not dialog.start_button.isEnabled()  # no folder yet
    assert dialog.progress.isHidden()  # idle, an empty bar looks like a text field
    dialog.add_folder(str(tmp_path))
    assert dialog.status.text() == "1 folder of music: press Start."
    dialog.epochs.setValue(2)
    dialog.name.setText("my tune")
    dialog.start_button.click()
    assert dialog.progress.isVisible()
    qtbot.waitUntil(lambda: not dialog.running, timeout=10000)
    assert fake_train == [dict(paths=[str(tmp_path)], preset="default", epochs=2, resume=False)]
    assert dialog.progress.value() == dialog.progress.maximum() == 8
    batches, validation = dialog.losses()
    assert len(batches) == 10 and batches[0][1] == 1.0
    assert validation == [(1, 0.6), (2, 0.3)]
    trained = str(dialog.output)
    assert dialog.output.name == "my-tune.musicgen"
    assert window.panel.model.findData(trained) >= 0
    qtbot.waitUntil(lambda: window.settings.model == trained and window.controller.model_name == trained)


def test_stopped_training_can_be_resumed(qtbot, window, fake_train, tmp_path):
    window.open_training()
    dialog = window.training
    dialog.add_folder(str(tmp_path))
    dialog.name.setText("resumable")
    shutil.rmtree(work_dir(dialog.output), ignore_errors=True)
    assert not dialog.resume_button.isEnabled()
    dialog.start_button.click()
    dialog.stop()  # stops at the next batch
    qtbot.waitUntil(lambda: not dialog.running, timeout=10000)
    assert dialog.resume_button.isEnabled()
    assert window.settings.model != str(dialog.output)  # a stopped run is not switched to
    dialog.resume_button.click()
    qtbot.waitUntil(lambda: not dialog.running, timeout=10000)
    assert [c["resume"] for c in fake_train] == [False, True]


def test_a_start_that_fails_says_which_file_was_held_out_and_offers_no_resume(qtbot, window, monkeypatch,
                                                                            tmp_path):
    for name in ("a", "b"):
        sf.write(tmp_path / f"{name}.wav", np.zeros(22050, np.float32), 22050)

    def train(paths, output, preset, epochs, resume, progress, should_stop):
        folder = work_dir(Path(output))  # as train(): the state is written, then it fails
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "state.json").write_text("{}")
        raise MusicgenError("not enough training audio: at least 38 s is needed for one batch")

    monkeypatch.setattr(workers, "train", train)
    window.open_training()
    dialog = window.training
    dialog.add_folder(str(tmp_path))
    dialog.name.setText("too-little")
    dialog.start_button.click()
    qtbot.waitUntil(lambda: not dialog.running, timeout=10000)
    assert dialog.status.text() == ("Training failed: not enough training audio: at least 38 s is needed for one "
                                    "batch. Of the 2 audio files found, 1 is held out for validation and not "
                                    "trained on; add more music")
    assert not dialog.resume_button.isEnabled()


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
