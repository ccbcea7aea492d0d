"""The one exception family the CLI and the GUI turn into a clear message."""


class MusicgenError(Exception):
    """A problem the user can act on: a bad file, a bad model, a full disk.

    The message is shown as is (CLI: ``error: <message>``, GUI: a message bar),
    so it must read as a sentence without a traceback.
    """


class AudioLoadError(MusicgenError):
    pass


class ModelError(MusicgenError):
    pass


class ExportError(MusicgenError):
    pass
