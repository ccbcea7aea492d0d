"""Atomic file writes: nothing is ever half-written where the user looks."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# mkstemp creates files 0600; finished files get the permissions any other
# program would give them. Read once, at import, before threads exist.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "wb") -> Iterator:
    """Yield a temp file beside ``path``; on success fsync it and rename it onto
    ``path``, on any failure remove it and leave ``path`` as it was."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def output_problem(path: str | os.PathLike) -> str | None:
    """Why a file cannot be written at ``path`` (its folder missing or read-only, or it is a folder),
    found before any work is done; None if it can be."""
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        return f"folder {folder} does not exist"
    if not os.access(folder, os.W_OK):
        return f"folder {folder} is not writable"
    if path.is_dir():
        return "it is a folder"
    return None
