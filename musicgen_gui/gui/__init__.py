"""The desktop app: PySide6 widgets and pyqtgraph views wired to the core engine."""
