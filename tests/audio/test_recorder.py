import time

import numpy as np
import soundfile as sf

from musicgen_gui.audio.devices import INPUT, find_device
from musicgen_gui.audio.recorder import Recorder

CHORD = (261.63, 329.63, 392.0)  # C major


def strongest_frequencies(x, rate, count, spacing_hz=20.0):
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    found = []
    for i in np.argsort(spectrum)[::-1]:
        if all(abs(freqs[i] - f) > spacing_hz for f in found):
            found.append(freqs[i])
            if len(found) == count:
                return sorted(found)


def test_records_a_chord_to_disk_while_recording(sound_server, tmp_path):
    rate = 44100
    t = np.arange(int(2.5 * rate)) / rate
    sf.write(tmp_path / "chord.wav", sum(0.2 * np.sin(2 * np.pi * f * t) for f in CHORD), rate)
    recorder = Recorder(find_device(INPUT), folder=tmp_path / "rec")
    path = recorder.start()
    feeder = sound_server.play_into_mic(tmp_path / "chord.wav")
    deadline = time.monotonic() + 10
    while sf.info(path).frames == 0:  # the take reaches the disk before the recording ends
        assert time.monotonic() < deadline, "nothing was written while recording"
        time.sleep(0.05)
    loudest = 0.0
    while feeder.poll() is None:
        loudest = max(loudest, recorder.level)
        time.sleep(0.02)
    assert recorder.stop() == path
    audio, file_rate = sf.read(path, dtype="float32", always_2d=True)
    mono = audio[:, 0]
    assert file_rate == recorder.sample_rate
    assert np.allclose(strongest_frequencies(mono, file_rate, 3), CHORD, atol=2.0)
    assert loudest > 0.3
    assert not recorder.frames.empty()
    assert recorder.error is None
