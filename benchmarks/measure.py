"""Measure the app's real-time figures in its own event loop, on a private sound server.

    python benchmarks/measure.py --model piano [--seed FILE] [--runs 3]

For each run it presses Continue on a 10 s seed (no lead-in, so the first sound
is the continuation's) and reports: the first audible sample after the press
(from PortAudio's DAC timestamps), ring-buffer underruns and device underflows
while streaming, the spectrogram redraw rate, and how long Stop takes to silence;
then the peak RSS of the app's process and of its audio process. Cold start to a
shown window is measured separately by ``--startup``, in fresh processes, with
TensorFlow's absence checked: the window with a seed (--seed, else a 10 s chord)
and, alternating with it in the same run, a bare PySide6 window, as medians and
their ratio. ``musicgen bench`` runs both.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the sound-server fixture
from virtual_sound import VirtualSoundServer  # noqa: E402

from musicgen_gui.audio import player as player_module  # noqa: E402
from bench import chord_music, proc_status_mb, startup_seconds  # noqa: E402
from musicgen_gui.core.audio_io import write_wav  # noqa: E402

SEED_SECONDS = 10.0
STREAM_SETTLE_MS = 3000


# A bare PySide6 window, timed as bench.startup_seconds times the app's: from the interpreter's
# start (the script's first line) to the window shown and drawn.
_BARE_WINDOW = """
import time
t = time.perf_counter()
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication([])
w = QMainWindow()
w.resize(1200, 800)
w.show()
app.processEvents()
print(time.perf_counter() - t)
"""


def bare_window_seconds() -> dict:
    wall = time.perf_counter()
    env = {**os.environ}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as startup_seconds runs the app
    out = subprocess.run([sys.executable, "-c", _BARE_WINDOW], capture_output=True, text=True, check=True, env=env)
    return {"window_shown_s": float(out.stdout.split()[-1]), "process_to_shown_s": time.perf_counter() - wall}


def startup_against_bare(seed: Path, runs: int) -> dict:
    """Medians of ``runs`` starts of each, alternated so that both see the same machine, after one
    start of each that writes their bytecode (as a user's first start does; its time is reported)."""
    bare_window_seconds()
    first = startup_seconds(seed)
    app, bare = [], []
    for _ in range(runs):
        bare.append(bare_window_seconds())
        app.append(startup_seconds(seed))
    result = {"runs": runs, "seed_seconds": app[0]["seed_seconds"], "app_first_start_s": first["process_to_shown_s"],
              "tensorflow_imported": any(r["tensorflow_imported"] for r in app)}
    for key in ("window_shown_s", "process_to_shown_s"):
        result[f"app_{key}"] = round(statistics.median(r[key] for r in app), 3)
        result[f"bare_{key}"] = round(statistics.median(r[key] for r in bare), 3)
        result[f"ratio_{key}"] = round(result[f"app_{key}"] / result[f"bare_{key}"], 2)
    return result


def chord_seed(path: Path, rate: int = 44100) -> Path:
    return write_wav(path, chord_music(SEED_SECONDS, rate), rate, "float")


def measure(model: str, seed: Path, runs: int, seconds: float, primed: bool = True,
            stop_test: bool = True) -> list[dict]:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from musicgen_gui.core.session import ContinuationParams
    from musicgen_gui.gui.main_window import MainWindow
    from musicgen_gui.gui.mode import IDLE
    from musicgen_gui.gui.settings import AppSettings

    app = QApplication.instance() or QApplication([])
    settings_dir = tempfile.mkdtemp(prefix="musicgen-measure-")
    settings = AppSettings(Path(settings_dir) / "settings.ini")
    settings.model = model
    settings.lead_in = 0.0
    settings.params = ContinuationParams(seconds=seconds)
    window = MainWindow(settings, recordings_dir=Path(settings_dir), takes_dir=Path(settings_dir) / "takes")
    window.show()
    c = window.controller
    results: list[dict] = []
    steps = iter(["load"] + ["run"] * runs + ["stop-test"] * stop_test + ["done"])

    def wait(condition, then, poll_ms=20):
        def check():
            if condition():
                then()
            else:
                QTimer.singleShot(poll_ms, check)
        check()

    def step():
        action = next(steps)
        if action == "load":
            # The model, then a few seconds for PortAudio: a new stream's first callbacks can be late.
            def loaded():
                window.waveform.set_region(0.0, SEED_SECONDS)  # the first 10 s of a longer file
                QTimer.singleShot(STREAM_SETTLE_MS, step)

            wait(lambda: c.bundle is not None, lambda: c.seed.load(seed, then=loaded))
        elif action == "run":
            def press():
                window.continue_action.trigger()
                wait(lambda: c.mode == IDLE, finish_run)

            if primed:  # as a user would: the next continuation is primed a moment after the last one ends
                wait(lambda: c.run.generation.primed, press)
            else:  # as if Continue came right after a change of settings
                wait(lambda: c.run.generation.primed, lambda: (c.run.generation.drop_primer(), press()))
        elif action == "stop-test":
            window.panel.seconds.setValue(600.0)
            window.continue_action.trigger()
            QTimer.singleShot(3000, stop_now)
        else:
            # The audio process is this process's one multiprocessing child.
            audio = [proc_status_mb("VmHWM", p.pid) for p in multiprocessing.active_children()]
            results.append({"app_peak_rss_mb": round(proc_status_mb("VmHWM"), 1),
                            "audio_process_peak_rss_mb": round(sum(audio), 1)})
            window.close()
            app.quit()

    def finish_run():
        s = c.run.stats
        results.append({"primed": s.get("primed"), "first_sound_ms": round(1000 * s.get("first_sound", float("nan")), 1),
                        "underruns": s.get("underruns"), "device_underflows": s.get("xruns"),
                        "spectrogram_fps": round(s.get("fps", 0.0), 1)})
        step()

    def stop_now():
        pressed = time.perf_counter()
        playback = c.run.playback
        window.stop_action.trigger()
        returned = time.perf_counter()

        def report():
            results.append({"stop_returned_ms": round(1000 * (returned - pressed), 1),
                            "stop_to_silence_ms": round(1000 * (playback.silent_time - pressed), 1),
                            "underruns_before_stop": c.run.stats.get("underruns"),
                            "device_underflows_before_stop": c.run.stats.get("xruns")})
            step()

        wait(lambda: not c.run.generation.running and playback.silent_time is not None, report)

    QTimer.singleShot(0, step)
    app.exec()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a bundled model's name or a .musicgen file")
    parser.add_argument("--seed", type=Path,
                        help=f"seed audio, of which the first {SEED_SECONDS:.0f} s are used (default: a moving chord)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each measurement")
    parser.add_argument("--seconds", type=float, default=20.0, help="continuation length per run")
    parser.add_argument("--latency", type=float, help="override the output buffer (seconds)")
    parser.add_argument("--unprimed", action="store_true", help="press Continue before the session is primed")
    parser.add_argument("--no-stop-test", action="store_true", help="leave out the 600 s continuation stopped after 3 s")
    parser.add_argument("--startup", action="store_true",
                        help="measure cold start only: to the window shown with the seed (--seed) loaded")
    args = parser.parse_args(argv)
    if args.startup:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(startup_against_bare(args.seed or chord_seed(Path(tmp) / "seed.wav"), args.runs)))
        return 0
    if not args.model:
        parser.error("--model is required")
    if args.latency is not None:
        player_module.LATENCY_S = args.latency
    server = VirtualSoundServer().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            seed = args.seed or chord_seed(Path(tmp) / "seed.wav")
            for result in measure(args.model, seed, args.runs, args.seconds, primed=not args.unprimed,
                                  stop_test=not args.no_stop_test):
                print(json.dumps(result))
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
