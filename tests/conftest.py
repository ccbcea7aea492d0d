import os
import sys
import tempfile
from pathlib import Path

# Keras, librosa and Qt write under $HOME and the XDG dirs: keep them in a temp dir,
# before anything imports them.
_home = tempfile.mkdtemp(prefix="musicgen-test-home-")
for var, sub in (("HOME", ""), ("XDG_CONFIG_HOME", ".config"), ("XDG_DATA_HOME", ".local/share"),
                 ("XDG_CACHE_HOME", ".cache")):
    os.environ[var] = os.path.join(_home, sub)
    os.makedirs(os.environ[var], exist_ok=True)
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from synth import SR, melody  # noqa: E402
from testmodels import PATTERN_FREQS, PATTERN_NOTE_SAMPLES, random_bundle  # noqa: E402

from musicgen_gui.core.bundle import save_bundle  # noqa: E402

@pytest.fixture
def tiny_bundle_path(tmp_path):
    return save_bundle(random_bundle(), tmp_path / "tiny.musicgen")


@pytest.fixture(scope="session")
def pattern_folder(tmp_path_factory):
    """Three files of the same periodic melody, each starting on another note."""
    folder = tmp_path_factory.mktemp("pattern")
    one = melody(PATTERN_FREQS, PATTERN_NOTE_SAMPLES, repeats=14)
    period = len(PATTERN_FREQS) * PATTERN_NOTE_SAMPLES
    for i in range(3):
        sf.write(folder / f"take{i}.wav", np.roll(one, -i * period // 4), SR)
    return folder


@pytest.fixture(scope="session")
def trained_model(pattern_folder, tmp_path_factory):
    """A small default-preset model really trained (seconds) on the periodic pattern."""
    from musicgen_gui.core.training import train

    out = tmp_path_factory.mktemp("model") / "pattern.musicgen"
    train([pattern_folder], out, preset="default", epochs=25, units=[64], batch_size=8, sequence_length=20, seed=1)
    return out


def _start_sound_server():
    import virtual_sound as virtual

    if not virtual.available():
        pytest.skip("pulseaudio and pulseaudio-utils are not installed (apt-get install pulseaudio pulseaudio-utils)")
    return virtual.VirtualSoundServer().start()


@pytest.fixture(scope="session")
def sound_server():
    """A private PulseAudio with a virtual speaker and microphone: no sound card needed."""
    server = _start_sound_server()
    yield server
    server.stop()


@pytest.fixture
def doomed_sound_server():
    """A sound server of this test's own, to kill or freeze; on teardown the session's is current again."""
    server = _start_sound_server()
    yield server
    server.stop()
