"""The window's shortcuts work wherever focus is."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QAbstractSpinBox, QLineEdit, QMainWindow, QTextEdit


class ShortcutsWin(QObject):
    """An application event filter: the window's shortcuts win over a focused field's own keys (Space or
    R in the Length box), except plain keys typed into text (renaming a take) and deleting in a number box."""

    def __init__(self, window: QMainWindow):
        super().__init__(window)
        self.window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.ShortcutOverride or not self.window.isActiveWindow():
            return False
        typing = isinstance(watched, (QLineEdit, QTextEdit)) and not isinstance(watched.parent(), QAbstractSpinBox)
        plain = not event.modifiers() & ~Qt.KeyboardModifier.ShiftModifier & ~Qt.KeyboardModifier.KeypadModifier
        editing = isinstance(watched, QAbstractSpinBox) and event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace)
        if (typing and plain) or editing:
            return False
        pressed = QKeySequence(event.keyCombination())
        # Not overridden (True: the field never sees it): the shortcut fires.
        return any(s.matches(pressed) == QKeySequence.SequenceMatch.ExactMatch
                   for action in self.window.actions() for s in action.shortcuts())
