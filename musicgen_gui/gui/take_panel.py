"""The take list: every continuation made, to play, compare A/B, rename, delete and export."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Signal
from PySide6.QtWidgets import QAbstractItemView, QHBoxLayout, QListView, QToolButton, QVBoxLayout, QWidget

from .takes import TakeListModel


class TakePanel(QWidget):
    selected = Signal(object)  # the Take, or None

    def __init__(self, model: TakeListModel, actions, parent=None):
        """actions: the window's QActions for the buttons under the list (play, A/B, export, delete)."""
        super().__init__(parent)
        self.model = model
        self.view = QListView()
        self.view.setModel(model)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                  | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.view.setToolTip("Double-click or F2 to rename a take")
        self.view.selectionModel().currentChanged.connect(lambda index, _: self.selected.emit(model.take(index.row())))
        buttons = QHBoxLayout()
        for action in actions:
            button = QToolButton()
            button.setDefaultAction(action)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons)

    def show_take(self, take) -> None:
        """Select ``take`` in the list (the controller chose it)."""
        row = self.model.row_of(take) if take is not None else -1
        if row != self.view.currentIndex().row():
            self.view.setCurrentIndex(self.model.index(row) if row >= 0 else self.model.index(-1))

    def index_of(self, take) -> QModelIndex:
        return self.model.index(self.model.row_of(take))

    def rename_current(self) -> None:
        if self.view.currentIndex().isValid():
            self.view.edit(self.view.currentIndex())
