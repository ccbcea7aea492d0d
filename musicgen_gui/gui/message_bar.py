"""A dismissable bar above the plots for errors and notices: never a crash, never a modal box."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton

_STYLES = {
    "error": "background: #5c1f1f; color: #ffdede; border-radius: 4px;",
    "info": "background: #1f3b5c; color: #deebff; border-radius: 4px;",
}


class MessageBar(QFrame):
    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        self.label = QLabel()
        self.label.setWordWrap(True)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self.hide()

    def show_message(self, text: str, kind: str = "error") -> None:
        self.setStyleSheet(_STYLES[kind])
        self.label.setText(text)
        self.show()

    @property
    def text(self) -> str:
        return "" if self.isHidden() else self.label.text()
