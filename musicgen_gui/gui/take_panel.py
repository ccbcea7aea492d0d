"""The take list: the current seed's takes (or every seed's, one click away), to play, compare A/B,
rename, delete and export."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QHBoxLayout, QLabel, QListView, QToolButton,
                               QVBoxLayout, QWidget)

from .takes import TakeListModel


class _SeedFilter(QSortFilterProxyModel):
    """Only the takes of the seed file loaded; or, when none is or when asked, all of them, grouped by seed,
    each line naming its seed."""

    def __init__(self, model: TakeListModel, parent=None):
        super().__init__(parent)
        self.setSourceModel(model)
        self.source = ""  # the seed file shown
        self.show_all = False

    def set(self, source: str, show_all: bool) -> None:
        self.source, self.show_all = source, show_all or not source
        self.invalidate()
        self.sort(0 if show_all else -1)

    def filterAcceptsRow(self, row: int, parent) -> bool:
        return self.show_all or self.sourceModel().take(row).source == self.source

    def lessThan(self, left, right) -> bool:
        takes = self.sourceModel()
        a, b = takes.take(left.row()), takes.take(right.row())
        return (a.source, left.row()) < (b.source, right.row())

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        value = super().data(index, role)
        if role == Qt.ItemDataRole.DisplayRole and self.show_all and value:
            source = self.sourceModel().take(self.mapToSource(index).row()).source
            return f"{Path(source).name if source else 'recording'}: {value}"
        return value


class TakePanel(QWidget):
    selected = Signal(object)  # the Take, or None

    def __init__(self, model: TakeListModel, actions, parent=None):
        """actions: the window's QActions for the buttons under the list (play, A/B, export, delete)."""
        super().__init__(parent)
        self.model = model
        self.shown = _SeedFilter(model, self)
        self.heading = QLabel()
        self.all_seeds = QCheckBox("All seeds")
        self.all_seeds.setToolTip("List the takes of every seed, grouped by seed, not only the current seed's")
        self.all_seeds.toggled.connect(lambda on: self._show(self.shown.source, on))
        self.view = QListView()
        self.view.setModel(self.shown)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                  | QAbstractItemView.EditTrigger.EditKeyPressed)
        # Long lines are cut short (the tooltip has all of it): a horizontal scroll bar would hide a row.
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.view.setToolTip("Double-click or F2 to rename a take")
        self.view.selectionModel().currentChanged.connect(
            lambda index, _: self.selected.emit(self.model.take(self.shown.mapToSource(index).row())))
        top = QHBoxLayout()
        top.addWidget(self.heading, 1)
        top.addWidget(self.all_seeds)
        buttons = QHBoxLayout()
        for action in actions:
            button = QToolButton()
            button.setDefaultAction(action)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons)
        self._show("", False)

    def set_seed(self, source: str) -> None:
        """The seed file now loaded: its takes are the ones listed (unless all are)."""
        self._show(source, self.all_seeds.isChecked())

    def _show(self, source: str, show_all: bool) -> None:
        current = self.model.take(self.shown.mapToSource(self.view.currentIndex()).row())
        self.shown.set(source, show_all)
        self.heading.setText("Takes of every seed" if self.shown.show_all else f"Takes of {Path(source).name}")
        self.heading.setToolTip(source)
        if current is not None and self.index_of(current).isValid():
            self.view.setCurrentIndex(self.index_of(current))
        elif current is not None:
            # Its seed's takes are no longer listed: nothing the user cannot see stays selected (to be
            # played, exported or deleted). Refiltering clears the view's current row without a signal.
            self.selected.emit(None)

    def index_of(self, take) -> QModelIndex:
        """Where ``take`` is in the view (invalid if it is not listed)."""
        return self.shown.mapFromSource(self.model.index(self.model.row_of(take)))

    def show_take(self, take) -> None:
        """Select ``take`` in the list (the controller chose it), listing every seed's takes if it is
        another seed's."""
        if take is not None and not self.index_of(take).isValid() and self.model.row_of(take) >= 0:
            self.all_seeds.setChecked(True)
        index = self.index_of(take) if take is not None else QModelIndex()
        if index != self.view.currentIndex():
            self.view.setCurrentIndex(index)

    def rename_current(self) -> None:
        if self.view.currentIndex().isValid():
            self.view.edit(self.view.currentIndex())
