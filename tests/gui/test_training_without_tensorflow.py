"""Without TensorFlow (the desktop bundle leaves it out) training is refused with a message, never a traceback."""

import importlib.util

import pytest

from musicgen_gui.cli import main as cli_main
from musicgen_gui.core.errors import MusicgenError
from musicgen_gui.core.training import train


@pytest.fixture
def no_tensorflow(monkeypatch):
    """As in the frozen app: tensorflow and keras cannot be found."""
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("tensorflow", "keras") else find_spec(name, *a))


def test_train_and_the_cli_say_what_is_missing(no_tensorflow, pattern_folder, tmp_path, capsys):
    with pytest.raises(MusicgenError, match="training needs TensorFlow and Keras, which are not installed here"):
        train([pattern_folder], tmp_path / "m.musicgen")
    assert cli_main(["train", str(pattern_folder), "-o", str(tmp_path / "m.musicgen")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: training needs TensorFlow and Keras") and err.count("\n") == 1
    assert not (tmp_path / "m.musicgen.training").exists()


def test_the_training_dialog_explains_and_cannot_start(no_tensorflow, window, tmp_path):
    window.open_training()
    dialog = window.training
    dialog.add_folder(str(tmp_path))
    assert not dialog.start_button.isEnabled() and not dialog.resume_button.isEnabled()
    assert dialog.status.text().startswith("This copy of musicgen cannot train: training needs TensorFlow and Keras")
    assert "Load model" in dialog.status.text()
