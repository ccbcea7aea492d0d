"""A test fixture: a private PulseAudio server with null sinks, a sound card for machines without one.

Used by the audio tests, the end-to-end test, the screenshot script and the
latency measurements (benchmarks/measure.py); packaging/setup.sh test installs PulseAudio:

* ``vsink`` is the default speaker; ``vsink.monitor`` is what was played;
* ``vmic`` is the default microphone; whatever is played into ``micfeed`` comes out of it;
* a null source looped into both sinks keeps them ticking, otherwise an idle
  null sink delivers audio in 2 s lumps and recordings start late.

The server runs as our own child process with its own HOME and XDG_RUNTIME_DIR,
and ``stop()`` ends exactly that process.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from musicgen_gui.audio.devices import rescan

_CONFIG = """\
load-module module-native-protocol-unix auth-anonymous=1 socket={socket}
load-module module-null-sink sink_name=vsink
load-module module-null-sink sink_name=micfeed
load-module module-remap-source master=micfeed.monitor source_name=vmic
load-module module-null-source source_name=silence
load-module module-loopback source=silence sink=vsink latency_msec=20
load-module module-loopback source=silence sink=micfeed latency_msec=20
set-default-sink vsink
set-default-source vmic
"""


def available() -> bool:
    return all(shutil.which(tool) for tool in ("pulseaudio", "pactl", "paplay", "parec"))


class VirtualSoundServer:
    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="musicgen-pulse-"))
        self.socket = self.root / "run" / "native"
        self._process: subprocess.Popen | None = None
        self._saved_env: dict[str, str | None] = {}

    @property
    def env(self) -> dict[str, str]:
        return {"HOME": str(self.root / "home"), "XDG_RUNTIME_DIR": str(self.root / "run"),
                "PULSE_SERVER": f"unix:{self.socket}"}

    def start(self, timeout: float = 10.0) -> "VirtualSoundServer":
        """Start the server, point this process at it and rescan PortAudio's devices."""
        for sub in ("home", "run"):
            (self.root / sub).mkdir(mode=0o700, exist_ok=True)
        config = self.root / "pulse.pa"
        config.write_text(_CONFIG.format(socket=self.socket))
        env = {**os.environ, **self.env}
        self._process = subprocess.Popen(
            ["pulseaudio", "--daemonize=no", "-n", "-F", str(config), "--exit-idle-time=-1",
             "--disallow-exit", "--use-pid-file=no", "--log-target=stderr"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode != 0:
            if self._process.poll() is not None or time.monotonic() > deadline:
                log = self._process.stderr.read().decode(errors="replace") if self._process.poll() is not None else ""
                self.stop()
                raise RuntimeError(f"PulseAudio did not start: {log[-500:]}")
            time.sleep(0.05)
        for key, value in self.env.items():
            self._saved_env[key] = os.environ.get(key)
            os.environ[key] = value
        rescan()
        return self

    def stop(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGCONT)  # a frozen server cannot act on SIGTERM
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process.stderr.close()
            self._process = None
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()
        rescan()
        shutil.rmtree(self.root, ignore_errors=True)

    def kill(self) -> None:
        """The server dies at once (SIGKILL), as when a sound card is pulled: its streams fail."""
        self._process.kill()
        self._process.wait()

    def freeze(self) -> None:
        """Stop the server (SIGSTOP) until thaw(), kill() or stop(): its streams hang, as a wedged device's do."""
        self._process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """A frozen server goes on (SIGCONT) and answers what was asked of it meanwhile."""
        self._process.send_signal(signal.SIGCONT)

    def play_into_mic(self, wav_path: str | os.PathLike) -> subprocess.Popen:
        """Play a file into the virtual microphone (asynchronously; wait() on the result)."""
        return subprocess.Popen(["paplay", "-d", "micfeed", str(wav_path)], env={**os.environ, **self.env})

    def record_speaker(self, sample_rate: int, sink: str = "vsink") -> "MonitorRecording":
        """What is played on ``sink`` (the default speaker, or ``micfeed``) from now on."""
        return MonitorRecording(self, sample_rate, f"{sink}.monitor")


class MonitorRecording:
    """Everything played on the speaker from now until ``stop()``, as mono float32."""

    def __init__(self, server: VirtualSoundServer, sample_rate: int, source: str):
        self.sample_rate = sample_rate
        self._out = tempfile.TemporaryFile()
        self._process = subprocess.Popen(
            ["parec", "-d", source, "--format=float32le", f"--rate={sample_rate}", "--channels=1",
             "--raw", "--latency-msec=20"],
            env={**os.environ, **server.env}, stdout=self._out)
        deadline = time.monotonic() + 10.0
        while os.fstat(self._out.fileno()).st_size == 0:  # connected and receiving (silence) from now on
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("parec did not start recording the speaker monitor")
            time.sleep(0.01)

    def stop(self) -> np.ndarray:
        self._process.terminate()
        self._process.wait()
        self._out.seek(0)
        raw = self._out.read()
        data = np.frombuffer(raw[: len(raw) // 4 * 4], np.float32).copy()
        self._out.close()
        return data


def wait_until(predicate, timeout: float = 15.0) -> None:
    """Poll ``predicate`` until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
