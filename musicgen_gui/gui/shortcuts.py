"""The window's shortcuts work wherever focus is, except over what is typed into a field."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (QAbstractSpinBox, QApplication, QComboBox, QLineEdit, QMainWindow, QPlainTextEdit,
                               QTextEdit)

_EDITING = (QLineEdit, QTextEdit, QPlainTextEdit, QAbstractSpinBox)  # a take's rename editor is a QLineEdit
_PLAIN = Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier


def _typing_into(widget) -> bool:
    return isinstance(widget, _EDITING) or (isinstance(widget, QComboBox) and widget.isEditable())


class ShortcutsWin(QObject):
    """An application event filter: the window's shortcuts win over a focused widget's own keys (Space on
    a button, B in the take list, Ctrl+E in a number box), but a plain key (no Ctrl, Alt or Meta) typed
    into a text field, a spin box or an item's editor goes to that field when the field takes it: typing
    "r" or Delete there never records or deletes a take. Keys a field does not take (Esc in a number
    box) still reach the shortcuts."""

    def __init__(self, window: QMainWindow):
        super().__init__(window)
        self.window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.ShortcutOverride or not self.window.isActiveWindow():
            return False
        if _typing_into(QApplication.focusWidget()) and not event.modifiers() & ~_PLAIN:
            return False  # Qt asks the field, which accepts the keys it edits with
        pressed = QKeySequence(event.keyCombination())
        # Not overridden (True: the widget never sees it): the shortcut fires.
        return any(s.matches(pressed) == QKeySequence.SequenceMatch.ExactMatch
                   for action in self.window.actions() for s in action.shortcuts())
