"""Screenshots of the real window in each state, for the README.

    python benchmarks/screenshots.py [--model piano] [--seed FILE] [--out docs/screenshots]

Runs under its own Xvfb (unless $DISPLAY is set) and a private PulseAudio with
a virtual microphone, records the seed from it, continues it into three takes,
trains briefly on synthetic music and opens the export dialog, grabbing the
screen after each step: empty, recording (the live waveform), seed (with its
tempo and key), streaming, takes (the last one shown, on a log-frequency
axis), training, export.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the sound-server fixture
from virtual_sound import VirtualSoundServer  # noqa: E402

from musicgen_gui.core.audio_io import write_wav  # noqa: E402

SIZE = (1280, 800)  # the virtual screen
SHOT_WIDTH = 1000  # PNGs are scaled down to this width, to stay small


def start_xvfb() -> subprocess.Popen | None:
    """A virtual X screen for the duration of the run, unless there is a display already."""
    if os.environ.get("DISPLAY"):
        return None
    if not shutil.which("Xvfb"):
        sys.exit("Xvfb is not installed (apt-get install xvfb), and there is no $DISPLAY")
    for number in range(90, 120):
        if not Path(f"/tmp/.X11-unix/X{number}").exists():
            break
    xvfb = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", f"{SIZE[0]}x{SIZE[1]}x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        if xvfb.poll() is not None or time.monotonic() > deadline:
            sys.exit("Xvfb did not start")
        time.sleep(0.05)
    os.environ["DISPLAY"] = f":{number}"
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    return xvfb


def melody(path: Path, seconds: float, seed: int, rate: int = 22050) -> Path:
    """Plucked notes of a pentatonic scale: something to train on and to continue."""
    rng = np.random.default_rng(seed)
    note = int(0.25 * rate)
    t = np.arange(note) / rate
    scale = 220.0 * 2 ** (np.array([0, 2, 4, 7, 9, 12, 14, 16]) / 12)
    notes = [np.sin(2 * np.pi * f * t) * np.exp(-6 * t) * 0.4 for f in rng.choice(scale, int(seconds * 4))]
    return write_wav(path, np.concatenate(notes).astype(np.float32), rate, "float")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a bundled model's name or a .musicgen file (default: piano)")
    parser.add_argument("--seed", type=Path, help="play this into the virtual microphone (default: a melody)")
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    xvfb = start_xvfb()
    server = VirtualSoundServer().start()
    work = Path(tempfile.mkdtemp(prefix="musicgen-shots-"))
    # The app's data (recordings, trained models, settings) stays out of the user's folders.
    os.environ["XDG_DATA_HOME"] = str(work / "data")
    try:
        return _run(args, work, server)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait()


def _run(args, work: Path, server: VirtualSoundServer) -> int:
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QApplication

    from musicgen_gui.core.bundle import bundled_model_names
    from musicgen_gui.core.session import ContinuationParams
    from musicgen_gui.gui.dialogs import ExportDialog
    from musicgen_gui.gui.main_window import MainWindow
    from musicgen_gui.gui.mode import IDLE
    from musicgen_gui.gui.settings import AppSettings

    bundled = bundled_model_names()
    model = args.model or ("piano" if "piano" in bundled else (bundled or [None])[0])
    if model is None:
        sys.exit("no bundled model: pass --model FILE")
    seed = args.seed or melody(work / "melody.wav", 12.0, seed=3)
    corpus = work / "corpus"
    corpus.mkdir()
    for i in range(4):  # a few batches per epoch for the default preset, one file held out
        melody(corpus / f"tune{i}.wav", 80.0, seed=10 + i)

    app = QApplication.instance() or QApplication([])
    settings = AppSettings(work / "settings.ini")
    settings.model = model
    settings.params = ContinuationParams(seconds=20.0)
    settings.lead_in = 1.0
    window = MainWindow(settings, recordings_dir=work / "recordings", takes_dir=work / "takes")
    window.setGeometry(0, 0, *SIZE)
    window.show()
    c = window.controller
    feeder = None

    def shot(name: str) -> None:
        image = app.primaryScreen().grabWindow(0).toImage()
        image = image.scaledToWidth(SHOT_WIDTH, Qt.TransformationMode.SmoothTransformation)
        image = image.convertToFormat(QImage.Format.Format_Indexed8)  # 256 colours: a third of the size
        image.save(str(args.out / f"{name}.png"))
        print(f"wrote {args.out / name}.png")

    def after(ms, fn):
        QTimer.singleShot(ms, fn)

    def wait(condition, then):
        if condition():
            then()
        else:
            after(50, lambda: wait(condition, then))

    def empty():
        shot("empty")
        nonlocal feeder
        window.record_action.trigger()
        feeder = server.play_into_mic(seed)
        after(6000, recording)

    def recording():
        shot("recording")
        window.record_action.trigger()
        feeder.terminate()
        feeder.wait()
        wait(lambda: c.seed.clip is not None, recorded)

    def recorded():
        seconds = len(c.seed.clip.samples) / c.seed.clip.sample_rate
        window.waveform.set_region(min(1.0, seconds / 4), seconds)
        after(1500, seed_loaded)

    def seed_loaded():
        shot("seed")
        window.continue_action.trigger()
        after(6000, streaming)

    def idle():
        return c.mode == IDLE and not c.run.generation.running and not c.busy

    def streaming():
        shot("streaming")
        window.stop_action.trigger()  # Take 1 ends where it was heard
        wait(idle, lambda: (window.panel.seconds.setValue(6.0), window.regenerate_action.trigger(),
                            wait(idle, lambda: (window.extend_action.trigger(), wait(idle, takes)))))

    def takes():
        window.log_frequency.setChecked(True)  # the take list's shot also shows the log-frequency view
        after(500, lambda: (shot("takes"), training()))

    def training():
        window.open_training()
        dialog = window.training
        dialog.add_folder(str(corpus))
        dialog.epochs.setValue(3)
        dialog.name.setText("screenshot-model")
        dialog.move(420, 120)
        dialog.start_button.click()
        wait(lambda: len(dialog.losses()[1]) >= 1 and len(dialog.losses()[0]) >= 6,
             lambda: (shot("training"), dialog.stop(), wait(lambda: not dialog.running, export)))

    def export():
        window.training.close()
        if c.takes.current is None:  # the continuation did not run: the status bar says why
            print(f"no take to export; the status bar said: {window.stream_status.text()}", file=sys.stderr)
            window.close()
            app.exit(1)
            return
        dialog = ExportDialog(window.settings, c.takes.current, window)
        dialog.move(440, 300)
        dialog.show()
        after(500, lambda: (shot("export"), dialog.close(), window.close(), app.quit()))

    wait(lambda: c.bundle is not None, lambda: after(2500, empty))
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
