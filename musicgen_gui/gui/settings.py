"""Persistent settings (QSettings, INI format) with typed accessors.

INI everywhere, so a test or a screenshot run can point the app at its own file,
and a user can read and edit the file by hand.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from ..core.params import DEFAULT_ADAPT_SECONDS
from ..core.params import DEFAULT_FOLLOW, ContinuationParams

VERSION = 1  # stored so that a later version can migrate keys whose meaning changes
MAX_RECENT = 10


def user_models_dir() -> Path:
    """Where models trained in the app are written; the model picker lists them."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("musicgen-gui", appauthor=False)) / "models"


def _boolean(value) -> bool:
    return value is True or str(value).lower() == "true"


class _Key:
    """One typed setting; a value that does not parse (a hand-edited file) reads as the default."""

    def __init__(self, key: str, default, kind=str):
        self.key, self.default, self.kind = key, default, kind

    def __get__(self, settings, owner=None):
        value = settings._q.value(self.key)
        if value is None:
            return self.default
        try:
            return self.kind(value)
        except (TypeError, ValueError):
            return self.default

    def __set__(self, settings, value) -> None:
        if value is None:
            settings._q.remove(self.key)
        else:
            settings._q.setValue(self.key, value)


class AppSettings:
    def __init__(self, path: str | Path | None = None):
        if path is None:
            self._q = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "musicgen-gui", "musicgen-gui")
        else:
            self._q = QSettings(str(path), QSettings.Format.IniFormat)
        if self._q.value("version") is None:
            self._q.setValue("version", VERSION)

    def sync(self) -> None:
        self._q.sync()

    @property
    def path(self) -> str:
        """The INI file."""
        return self._q.fileName()

    # Devices are saved by name: PortAudio's indices change between runs.
    input_device = _Key("audio/input", "")
    output_device = _Key("audio/output", "")
    model = _Key("model/last", "")  # a bundled model's name or a bundle's path
    _seconds = _Key("continue/seconds", 20.0, float)
    _temperature = _Key("continue/temperature", 0.5, float)
    _follow = _Key("continue/follow", DEFAULT_FOLLOW, float)  # 1: stay close to the seed, 0: wander
    _rng_seed = _Key("continue/rng_seed", None, int)  # None: a new random seed each time
    _anchor = _Key("continue/anchor", True, _boolean)
    lead_in = _Key("continue/lead_in", 2.0, float)  # seconds of seed played before the continuation
    adapt = _Key("continue/adapt", False, _boolean)
    adapt_seconds = _Key("continue/adapt_seconds", DEFAULT_ADAPT_SECONDS, float)
    export_bits = _Key("export/bits", "16")
    export_with_seed = _Key("export/with_seed", False, _boolean)
    export_folder = _Key("export/folder", "")
    training_epochs = _Key("training/epochs", 20, int)
    training_name = _Key("training/name", "my-model")
    training_preset = _Key("training/preset", "default")
    geometry = _Key("window/geometry", None, QByteArray)
    window_state = _Key("window/state", None, QByteArray)

    @property
    def params(self) -> ContinuationParams:
        """The generation settings last used (adapting to the seed only while ``adapt`` is on)."""
        return ContinuationParams(seconds=self._seconds, temperature=self._temperature, rng_seed=self._rng_seed,
                                  anchor=self._anchor, adapt_seconds=self.adapt_seconds if self.adapt else 0.0,
                                  follow=self._follow)

    @params.setter
    def params(self, p: ContinuationParams) -> None:
        self._seconds, self._temperature, self._rng_seed = p.seconds, p.temperature, p.rng_seed
        self._anchor, self._follow = p.anchor, p.follow

    def _list(self, key: str) -> list[str]:
        value = self._q.value(key)
        if isinstance(value, str):  # INI files hand back a one-element list as a plain string
            value = [value]
        return [str(v) for v in value or []]

    @property
    def recent_files(self) -> list[str]:
        return self._list("files/recent")

    def add_recent_file(self, path: str) -> None:
        files = [path] + [f for f in self.recent_files if f != path]
        self._q.setValue("files/recent", files[:MAX_RECENT])

    @property
    def training_folders(self) -> list[str]:
        return self._list("training/folders")

    @training_folders.setter
    def training_folders(self, folders: list[str]) -> None:
        self._q.setValue("training/folders", list(folders))

    @property
    def extra_models(self) -> list[str]:
        """Bundles loaded from disk, offered in the model picker again."""
        return self._list("model/extra")

    def add_extra_model(self, path: str) -> None:
        if path not in self.extra_models:
            self._q.setValue("model/extra", self.extra_models + [path])
