"""The desktop integration files: valid by the freedesktop tools, and pointing at things that exist."""

import importlib.util
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
APP_ID = "io.github.musicgen_gui.MusicgenGui"
DESKTOP = ROOT / "packaging" / "desktop" / f"{APP_ID}.desktop"
METAINFO = ROOT / "packaging" / "desktop" / f"{APP_ID}.metainfo.xml"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (bash packaging/setup.sh test installs it)")
    return path


def test_the_desktop_file_is_valid():
    run = subprocess.run([_tool("desktop-file-validate"), str(DESKTOP)], capture_output=True, text=True)
    assert run.returncode == 0 and not run.stdout.strip(), run.stdout + run.stderr


def test_the_metainfo_is_valid_and_shows_the_screenshots_in_docs():
    run = subprocess.run([_tool("appstreamcli"), "validate", "--no-net", str(METAINFO)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    text = METAINFO.read_text()
    shots = re.findall(r"<image>\S+/main/(docs/screenshots/\S+\.png)</image>", text)
    assert len(shots) == text.count("<image>") == 3 and all((ROOT / s).is_file() for s in shots)
    assert f"<launchable type=\"desktop-id\">{DESKTOP.name}</launchable>" in text


def test_the_icon_renders_at_every_size(qapp, tmp_path):  # qapp: a QGuiApplication of its own would abort later widgets
    from PySide6.QtGui import QImage

    spec = importlib.util.spec_from_file_location("render_icons", ROOT / "packaging" / "render_icons.py")
    render_icons = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render_icons)
    render_icons.render(tmp_path)
    for size in render_icons.SIZES:
        image = QImage(str(tmp_path / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"))
        assert (image.width(), image.height()) == (size, size)
        assert image.pixelColor(size // 2, size // 2).alpha() == 255  # drawn, not blank
    assert (tmp_path / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").is_file()
