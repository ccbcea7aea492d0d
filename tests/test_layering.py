"""The layers hold (gui -> audio -> core, the core and the command line free of Qt and audio devices)
and cover the whole package, no product module imports a dev tool or a test fixture, and inference
never loads TensorFlow."""

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Modules that live outside the package for developers: the benchmarks and the tests' fixtures.
DEV_TOOLS = {p.stem for folder in ("benchmarks", "tests") for p in (ROOT / folder).glob("*.py")} | {"benchmarks",
                                                                                                    "tests"}


def test_import_linter_contracts_hold():
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_every_module_of_the_package_is_under_a_contract():
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    covered = {m for c in contracts for m in c.get("source_modules", []) + c.get("layers", [])}
    package = ROOT / "musicgen_gui"
    modules = {f"musicgen_gui.{p.stem}" for p in package.glob("*.py") if p.stem != "__init__"} | {
        f"musicgen_gui.{p.name}" for p in package.iterdir() if (p / "__init__.py").is_file()}
    assert modules - covered == set()


def test_no_product_module_imports_a_dev_tool_or_a_test_fixture():
    found = []
    for path in (ROOT / "musicgen_gui").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
            found += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in DEV_TOOLS]
    assert "virtual_sound" in DEV_TOOLS and "measure" in DEV_TOOLS  # the scan looks for the ones that moved out
    assert found == []


@pytest.mark.slow
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
