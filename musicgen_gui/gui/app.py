"""Creating the QApplication and showing the main window."""

from __future__ import annotations

import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from .main_window import MainWindow


def run(seed_file: str | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("musicgen-gui")
    app.setOrganizationName("musicgen-gui")
    window = MainWindow()
    window.show()
    if seed_file:
        QTimer.singleShot(0, lambda: window.load_seed(seed_file))
    return app.exec()
