"""Smoke test of the frozen app (the PyInstaller bundle), offscreen, on a private sound server.

Skipped until the bundle is built: `bash packaging/setup.sh build`, then
`bash packaging/setup.sh test tests/test_frozen_app.py`. MUSICGEN_FROZEN_APP
points it at a bundle elsewhere.
"""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import soundfile as sf
from synth import SR, melody
from testmodels import PATTERN_FREQS, PATTERN_NOTE_SAMPLES

APP = Path(os.environ.get("MUSICGEN_FROZEN_APP", Path(__file__).parents[1] / "dist" / "musicgen-gui" / "musicgen-gui"))

pytestmark = pytest.mark.skipif(not APP.is_file(), reason=f"no frozen app at {APP}: bash packaging/setup.sh build")


def test_the_bundle_holds_the_models_and_portaudio_but_no_tensorflow():
    internal = APP.parent / "_internal"
    assert sorted(p.name for p in (internal / "resources" / "models").glob("*.musicgen")) == [
        "electronic.musicgen", "piano.musicgen"]
    assert (internal / "resources" / "models" / "onsets.npz").is_file()  # the tempo readout needs it
    assert (internal / "libportaudio.so.2").is_file()
    assert not [name for name in ("tensorflow", "keras", "tensorboard", "librosa", "numba") if (internal / name).exists()]
    share = APP.parent / "share"
    assert (share / "applications" / "io.github.musicgen_gui.MusicgenGui.desktop").is_file()
    assert (share / "icons" / "hicolor" / "256x256" / "apps" / "io.github.musicgen_gui.MusicgenGui.png").is_file()


def test_the_frozen_app_continues_a_seed_and_plays_it(sound_server, tmp_path):
    seed = tmp_path / "seed.wav"
    sf.write(seed, melody(PATTERN_FREQS, PATTERN_NOTE_SAMPLES, repeats=2), SR)
    # LD_DEBUG=files: the dynamic loader names every library it loads, so the test sees which PortAudio.
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "LD_DEBUG": "files"}
    run = subprocess.run([str(APP), str(seed), "--continue-for", "2"], env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert summary["generated_s"] >= 2.0 and summary["message"] is None
    assert summary["int8_unavailable"] is None  # it generated on 8-bit weights, as installed copies do
    # The audio engine's child process (the frozen executable again) played the continuation.
    assert summary["audio"].startswith("Audio:") and summary["first_sound"] > 0
    loaded = set(re.findall(r"file=(\S*libportaudio\S*)", run.stderr))
    assert loaded and all(path.startswith(str(APP.parent / "_internal")) for path in loaded), loaded
    assert summary["training"].startswith("This copy of musicgen cannot train: training needs TensorFlow and Keras")
