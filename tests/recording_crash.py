"""A recording cut short by kill -9: a child process records the virtual microphone while a tone
plays into it, and is killed with SIGKILL in the middle (no fixtures here; used by the recorder
and the GUI tests)."""

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

_RECORD = """
import sys, time
from pathlib import Path
from musicgen_gui.audio.devices import INPUT, find_device
from musicgen_gui.audio.recorder import Recorder

recorder = Recorder(find_device(INPUT), folder=Path(sys.argv[1]))
print("recording", recorder.start(), flush=True)
while True:
    print("received", recorder.received, recorder.sample_rate, flush=True)
    time.sleep(0.02)
"""


@dataclass
class KilledRecording:
    partial: Path  # the file the child was writing
    received: int  # samples its input callback had taken when last heard of, just before the kill
    sample_rate: int


def record_and_kill(server, folder: Path, freq: float, seconds: float) -> KilledRecording:
    """Record ``freq`` Hz into ``folder`` for about ``seconds`` (counted from when the tone is heard),
    then SIGKILL the recording process."""
    folder.mkdir(parents=True, exist_ok=True)
    rate = 44100
    tone_file = folder.parent / f"tone-{freq:g}.wav"
    t = np.arange(int((seconds + 30) * rate)) / rate
    sf.write(tone_file, 0.5 * np.sin(2 * np.pi * freq * t), rate)
    child = subprocess.Popen([sys.executable, "-c", _RECORD, str(folder)], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, **server.env})
    feeder = None
    try:
        partial = Path(child.stdout.readline().split(maxsplit=1)[1].strip())
        feeder = server.play_into_mic(tone_file)
        received = rate_seen = 0
        heard_at = None  # samples received when the tone first reached the file
        for line in child.stdout:
            _, received, rate_seen = line.split()
            received, rate_seen = int(received), int(rate_seen)
            if heard_at is None and _tone_in(partial):
                heard_at = received
            if heard_at is not None and received - heard_at >= seconds * rate_seen:
                child.send_signal(signal.SIGKILL)
                break
        child.wait(timeout=10)
        return KilledRecording(partial, received, rate_seen)
    finally:
        if child.poll() is None:
            child.kill()
        child.stdout.close()
        if feeder is not None:
            feeder.terminate()
            feeder.wait()


def _tone_in(path: Path) -> bool:
    try:
        with sf.SoundFile(path) as f:
            f.seek(max(0, f.frames - 2048))
            tail = f.read(dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError):
        return False
    return len(tail) > 0 and float(np.abs(tail[:, 0]).max()) > 0.2
