"""Screenshots of the real window in each state, for the README.

    python -m musicgen_gui.gui.screenshots [--model piano] [--seed FILE] [--out docs/screenshots]

Runs under its own Xvfb (unless $DISPLAY is set) and a private PulseAudio with
a virtual microphone, records a chord from it, continues it, trains briefly on
synthetic music and opens the export dialog, grabbing the screen after each
step: empty, recording, seed, streaming, training, export.
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

from ..audio.virtual import VirtualSoundServer
from ..core.audio_io import write_wav

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

    from ..core.bundle import bundled_model_names
    from .dialogs import ExportDialog
    from .main_window import IDLE, MainWindow
    from .settings import AppSettings

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
    settings.seconds = 20.0
    settings.lead_in = 1.0
    window = MainWindow(settings, recordings_dir=work / "recordings")
    window.setGeometry(0, 0, *SIZE)
    window.show()
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
        seconds = len(window.seed.samples) / window.seed.sample_rate
        window.waveform.set_region(min(1.0, seconds / 4), seconds)
        after(1500, seed_loaded)

    def seed_loaded():
        shot("seed")
        window.continue_action.trigger()
        after(6000, streaming)

    def streaming():
        shot("streaming")
        window.stop()
        wait(lambda: window.mode == IDLE and window._worker is None, training)

    def training():
        window.open_training()
        dialog = window._training
        dialog.add_folder(str(corpus))
        dialog.epochs.setValue(3)
        dialog.name.setText("screenshot-model")
        dialog.move(420, 120)
        dialog.start_button.click()
        wait(lambda: len(dialog._val_losses) >= 1 and len(dialog._batch_losses) >= 6,
             lambda: (shot("training"), dialog.stop(), wait(lambda: dialog._worker is None, export)))

    def export():
        window._training.close()
        dialog = ExportDialog(window.settings, window.seed.path, window)
        dialog.move(440, 300)
        dialog.show()
        after(500, lambda: (shot("export"), dialog.close(), window.close(), app.quit()))

    wait(lambda: window.bundle is not None, lambda: after(2500, empty))
    app.exec()
    return 0


if __name__ == "__main__":
    sys.exit(main())
