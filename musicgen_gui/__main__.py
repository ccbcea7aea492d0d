"""``python -m musicgen_gui [FILE]`` and the ``musicgen-gui`` command: the desktop app."""

from __future__ import annotations

import argparse
import multiprocessing
import sys


def main(argv: list[str] | None = None) -> int:
    multiprocessing.freeze_support()  # the audio output runs in a child process (audio/engine.py)
    parser = argparse.ArgumentParser(prog="musicgen-gui", description="Continue music with a trained model.")
    parser.add_argument("file", nargs="?", help="an audio file to load as the seed")
    args = parser.parse_args(argv)

    from .gui.app import run

    return run(args.file)


if __name__ == "__main__":
    sys.exit(main())
