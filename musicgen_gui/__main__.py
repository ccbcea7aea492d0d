"""``python -m musicgen_gui [FILE]`` and the ``musicgen-gui`` command: the desktop app.

Also the frozen app's entry script (PyInstaller runs it as a plain script, so
imports are absolute).
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import sys


def main(argv: list[str] | None = None) -> int:
    # The audio output runs in a spawned child process (audio/engine.py); in the frozen
    # app that child is this executable again, and this call turns it into the child.
    multiprocessing.freeze_support()
    parser = argparse.ArgumentParser(prog="musicgen-gui", description="Continue music with a trained model.")
    parser.add_argument("files", nargs="*", metavar="FILE",
                        help="audio files: the first is loaded as the seed, the others listed in Open recent")
    parser.add_argument("--continue-for", type=float, metavar="SECONDS",
                        help="load FILE, continue it for SECONDS, print a JSON summary and quit "
                             "(exit code 0 if it all ran: a check of an installation or build)")
    args = parser.parse_args(argv)
    if args.continue_for is not None and (len(args.files) != 1 or not 0 < args.continue_for < math.inf):
        parser.error("--continue-for needs one seed FILE and a number of seconds above 0")

    from musicgen_gui.gui.app import run, run_script

    return run(args.files) if args.continue_for is None else run_script(args.files[0], args.continue_for)


if __name__ == "__main__":
    sys.exit(main())
