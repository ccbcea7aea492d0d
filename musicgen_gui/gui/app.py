"""Creating the QApplication and showing the main window; a scripted run for smoke tests."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from ..core import quantized
from ..core.bundle import resources_dir
from ..core.params import ContinuationParams
from .main_window import MainWindow
from .mode import IDLE
from .settings import AppSettings

APP_ID = "io.github.musicgen_gui.MusicgenGui"  # the .desktop file's, AppStream's and the icon's name
SCRIPT_TIMEOUT_S = 300.0  # a scripted run that has not finished by then has hung


def no_display() -> str | None:
    """Why no window can be shown here, or None. Asked before Qt is, which, with no display,
    aborts blaming a missing xcb-cursor0 library."""
    if not sys.platform.startswith("linux") or any(os.environ.get(k) for k in ("DISPLAY", "WAYLAND_DISPLAY",
                                                                                 "QT_QPA_PLATFORM")):
        return None
    return ("no display: set DISPLAY (or WAYLAND_DISPLAY), or run under xvfb-run "
            "(xvfb-run -a musicgen-gui FILE, or xvfb-run -a bash packaging/setup.sh run FILE)")


def _application() -> QApplication:
    problem = no_display()
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        raise SystemExit(2)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("musicgen-gui")
    app.setOrganizationName("musicgen-gui")
    app.setDesktopFileName(APP_ID)  # Wayland matches the window to the .desktop file (and its icon) by this
    app.setWindowIcon(QIcon(str(resources_dir() / "icons" / f"{APP_ID}.svg")))
    return app


def run(files: list[str] | None = None) -> int:
    app = _application()
    window = MainWindow()
    window.show()
    if files:  # decoding starts now, so that the window's first paint can already show the seed
        window.open_files(files)
    return app.exec()


def run_script(seed_file: str, seconds: float) -> int:
    """Load ``seed_file``, continue it for ``seconds``, print a JSON summary and quit.

    For checking a build (the frozen app's smoke test): exit code 0 only if the
    whole continuation was generated. The summary also gives what the training
    dialog says (the bundle cannot train). Settings go to a temporary file, so
    the user's are untouched.
    """
    app = _application()
    with tempfile.TemporaryDirectory(prefix="musicgen-script-") as tmp:
        settings = AppSettings(Path(tmp) / "settings.ini")
        settings.params = ContinuationParams(seconds=seconds)
        window = MainWindow(settings, recordings_dir=Path(tmp), takes_dir=Path(tmp) / "takes")
        window.show()
        c = window.controller
        deadline = time.monotonic() + SCRIPT_TIMEOUT_S
        result = {"seed": seed_file, "seconds": seconds}

        def finish(error: str | None = None) -> None:
            window.open_training()
            result["training"] = window.training.status.text()
            take = c.takes.current
            rate = take.sample_rate if take is not None else 1
            result.update(generated_s=round(take.n_samples / rate, 3) if take is not None else 0.0,
                          int8_unavailable=quantized.unavailable(),
                          audio=c.audio.status(), message=error or window.message_bar.text or None,
                          **{k: c.run.stats[k] for k in ("primed", "first_sound", "underruns") if k in c.run.stats})
            window.close()
            app.exit(0 if error is None and result["generated_s"] >= seconds else 1)

        def when(condition, then) -> None:
            def check():
                if condition():
                    then()
                elif time.monotonic() > deadline:
                    finish(f"timed out after {SCRIPT_TIMEOUT_S:.0f} s")
                elif c.bundle is None and window.message_bar.text:
                    finish()  # the model failed to load; the bar says why
                else:
                    QTimer.singleShot(50, check)
            check()

        def start() -> None:
            c.seed.loaded.connect(lambda _: (c.run.continue_seed(),
                                             when(lambda: c.mode == IDLE and not c.run.generation.running, finish)))
            c.message.connect(lambda text, kind, group: kind == "error" and c.seed.clip is None and finish(text))
            c.seed.load(seed_file)

        QTimer.singleShot(0, lambda: when(lambda: c.bundle is not None, start))  # exit() needs a running loop
        code = app.exec()
    print(json.dumps(result), flush=True)
    return code
