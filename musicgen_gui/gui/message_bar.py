"""A dismissable bar above the plots for errors and notices: never a crash, never a modal box."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton

_STYLES = {
    "error": "background: #5c1f1f; color: #ffdede; border-radius: 4px;",
    "info": "background: #1f3b5c; color: #deebff; border-radius: 4px;",
}


class MessageBar(QFrame):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(8, 4, 4, 4)
        self.label = QLabel()
        self.label.setWordWrap(True)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        self._layout.addWidget(self.label, 1)
        self._layout.addWidget(close)
        self.buttons: list[QPushButton] = []  # the current message's actions
        self._group: str | None = None
        self.hide()

    def show_message(self, text: str, kind: str = "error",
                     actions: Sequence[tuple[str, Callable[[], object]]] = (), group: str | None = None) -> None:
        """Show ``text``; each action is a button that hides the bar and then calls its function.

        A message of the same ``group`` as the one shown goes under it instead of replacing it: one
        cause (a sound server that dies) can end several things, and each has something to say."""
        if group is not None and group == self.group:
            text = f"{self.label.text()}\n{text}"
        self._group = group
        for button in self.buttons:
            button.deleteLater()
        self.buttons = []
        for label, fn in actions:
            button = QPushButton(label)
            button.clicked.connect(lambda _=False, fn=fn: (self.hide(), fn()))
            self._layout.insertWidget(self._layout.count() - 1, button)
            self.buttons.append(button)
        self.setStyleSheet(_STYLES[kind])
        self.label.setText(text)
        self.show()

    def hide_unless(self, group: str) -> None:
        """Hide the message shown, unless it is of ``group`` (one still true)."""
        if self.group != group:
            self.hide()

    @property
    def group(self) -> str | None:
        """The group of the message shown (None if none is shown, or it has no group)."""
        return None if self.isHidden() else self._group

    @property
    def text(self) -> str:
        return "" if self.isHidden() else self.label.text()
