"""The training dialog's wiring; core.training.train itself is tested by the core's tests, and is
replaced here by a stand-in that reports progress as it does (real training takes minutes)."""

import json
import shutil
from pathlib import Path

import pytest

from musicgen_gui.core.training import TrainingProgress, work_dir
from musicgen_gui.gui import workers


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
                if should_stop():
                    work_dir(output).mkdir(exist_ok=True)
                    (work_dir(output) / "state.json").write_text(json.dumps({"epoch": epoch}))
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
    dialog = window._training
    assert not dialog.start_button.isEnabled()  # no folder yet
    dialog.add_folder(str(tmp_path))
    dialog.epochs.setValue(2)
    dialog.name.setText("my tune")
    dialog.start_button.click()
    qtbot.waitUntil(lambda: dialog._worker is None, timeout=10000)
    assert fake_train == [dict(paths=[str(tmp_path)], preset="default", epochs=2, resume=False)]
    assert dialog.progress.value() == dialog.progress.maximum() == 8
    xs, losses = dialog._loss_curve.getData()
    assert len(losses) == 10 and losses[0] == 1.0
    assert len(dialog._val_curve.getData()[0]) == 2
    trained = str(dialog.output)
    assert dialog.output.name == "my-tune.musicgen"
    assert window.panel.model.findData(trained) >= 0
    qtbot.waitUntil(lambda: window.settings.model == trained and window.bundle is not None)


def test_stopped_training_can_be_resumed(qtbot, window, fake_train, tmp_path):
    window.open_training()
    dialog = window._training
    dialog.add_folder(str(tmp_path))
    dialog.name.setText("resumable")
    shutil.rmtree(work_dir(dialog.output), ignore_errors=True)
    assert not dialog.resume_button.isEnabled()
    dialog.start_button.click()
    dialog.stop()  # stops at the next batch
    qtbot.waitUntil(lambda: dialog._worker is None, timeout=10000)
    assert dialog.resume_button.isEnabled()
    assert window.settings.model != str(dialog.output)  # a stopped run is not switched to
    dialog.resume_button.click()
    qtbot.waitUntil(lambda: dialog._worker is None, timeout=10000)
    assert [c["resume"] for c in fake_train] == [False, True]
