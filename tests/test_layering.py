"""The core stays free of Qt and audio devices, and inference never loads TensorFlow."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_hold():
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_core_generates_with_qt_blocked_and_without_loading_tensorflow(tiny_bundle_path):
    code = f"""
import sys
for blocked in ("PySide6", "pyqtgraph", "sounddevice"):
    sys.modules[blocked] = None  # any import of them now fails
import numpy as np
from musicgen_gui.core import audio_io, evaluation, features, phase, predictor
from musicgen_gui.core.bundle import load_bundle
from musicgen_gui.core.session import ContinuationParams, ContinuationSession
bundle = load_bundle({str(tiny_bundle_path)!r})
t = np.arange(22050) / 22050
audio = ContinuationSession(bundle, np.sin(2 * np.pi * 440 * t).astype(np.float32), ContinuationParams(0.5)).render()
assert len(audio) == 11025
print("tensorflow" in sys.modules, "keras" in sys.modules)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]
