"""Without TensorFlow (the desktop bundle leaves it out) training is refused with a message, never a traceback.

TensorFlow is really absent here: each check runs in a Python whose path holds every installed package
but tensorflow and keras (links to them, in a folder of their own), as in the frozen app."""

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MISSING = ("tensorflow", "keras", "tf_keras", "tensorboard")


@pytest.fixture(scope="module")
def python_without_tensorflow(tmp_path_factory):
    """run(code, *args): ``code`` in a Python that cannot import TensorFlow or Keras."""
    packages = tmp_path_factory.mktemp("site-without-tensorflow")
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.split("-")[0].split(".")[0].lower().startswith(MISSING) and entry.suffix != ".pth":
            (packages / entry.name).symlink_to(entry)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(packages)]), "QT_QPA_PLATFORM": "offscreen"}

    def run(code, *args):
        # -S: no site-packages of its own, so only the folder above is on the path.
        return subprocess.run([sys.executable, "-S", "-c", code, *map(str, args)], capture_output=True, text=True,
                              env=env, timeout=300)

    probe = run("import importlib.util as u; print(u.find_spec('tensorflow'), u.find_spec('keras'), "
                "u.find_spec('numpy') is not None)")
    assert probe.stdout.split() == ["None", "None", "True"], probe.stderr
    return run


def test_train_and_the_cli_say_what_is_missing(python_without_tensorflow, pattern_folder, tmp_path):
    code = """
import sys
from musicgen_gui.core.errors import MusicgenError
from musicgen_gui.core.training import train
try:
    train([sys.argv[1]], sys.argv[2])
except MusicgenError as exc:
    print("refused:", exc)
from musicgen_gui.cli import main
sys.exit(main(["train", sys.argv[1], "-o", sys.argv[2]]))
"""
    run = python_without_tensorflow(code, pattern_folder, tmp_path / "m.musicgen")
    assert run.returncode == 2, run.stderr
    assert run.stdout.startswith("refused: training needs TensorFlow and Keras, which are not installed here")
    assert run.stderr.startswith("error: training needs TensorFlow and Keras") and run.stderr.count("\n") == 1
    assert not (tmp_path / "m.musicgen.training").exists()


def test_the_training_dialog_explains_and_cannot_start(python_without_tensorflow, tmp_path):
    code = """
import json, sys
from PySide6.QtWidgets import QApplication
from musicgen_gui.gui.dialogs import TrainingDialog
from musicgen_gui.gui.settings import AppSettings
from musicgen_gui.gui.settings_panel import SettingsPanel
app = QApplication([])
dialog = TrainingDialog(AppSettings(sys.argv[1] + "/settings.ini"))
dialog.add_folder(sys.argv[1])
panel = SettingsPanel()
print(json.dumps({"start": dialog.start_button.isEnabled(), "resume": dialog.resume_button.isEnabled(),
                  "status": dialog.status.text(), "adapt": panel.adapt.isEnabled(),
                  "tensorflow": "tensorflow" in sys.modules}))
"""
    run = python_without_tensorflow(code, tmp_path)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert not result["start"] and not result["resume"] and not result["adapt"] and not result["tensorflow"]
    assert result["status"].startswith("This copy of musicgen cannot train: training needs TensorFlow and Keras")
    assert "Load model" in result["status"]
