"""Over a hundred malformed or odd seed files through `musicgen continue`.

Each is either continued (valid but odd: downmixed, resampled, cropped) or
refused with exit code 2 and one `error:` line, never a traceback, and never a
partial output file. A hypothesis fuzzer then throws random bytes at the loader.
"""

import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from synth import SR, chord

from musicgen_gui.cli import main
from musicgen_gui.core.audio_io import load_audio
from musicgen_gui.core.errors import AudioLoadError

TIMINGS: dict[str, float] = {}


def wav_header(channels, rate, bits=16, data_bytes=1000):
    block = channels * bits // 8
    return (b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE" + b"fmt " +
            struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * block, block, bits) +
            b"data" + struct.pack("<I", data_bytes))


def build_corpus(folder):
    """name -> (path, expected): 'ok' continues, 'refused' exits 2."""
    rng = np.random.default_rng(0)
    cases = {}
    music = chord(seconds=2.0)

    def add(name, expected, writer):
        path = folder / name
        writer(path)
        cases[name] = (path, expected)

    formats = {"wav": {}, "flac": {}, "ogg": {"format": "OGG", "subtype": "VORBIS"},
               "mp3": {"format": "MP3", "subtype": "MPEG_LAYER_III"}, "aiff": {}}
    good = {}
    for ext, kw in formats.items():
        add(f"good.{ext}", "ok", lambda p, kw=kw: sf.write(p, music, SR, **kw))
        good[ext] = (folder / f"good.{ext}").read_bytes()
    # Truncated at random offsets: the first few hundred bytes are a header at most.
    for ext, data in good.items():
        for i, cut in enumerate(sorted(rng.integers(1, len(data), size=12))):
            add(f"truncated_{i:02d}_at_{cut}.{ext}", "either", lambda p, d=data[:cut]: p.write_bytes(d))
    for ext in ("wav", "flac", "ogg", "mp3", "aiff"):
        add(f"empty.{ext}", "refused", lambda p: p.write_bytes(b""))
        for size in (10, 4000, 100_000):
            add(f"random_{size}.{ext}", "refused", lambda p, n=size: p.write_bytes(rng.bytes(n)))
    add("header_over_garbage.wav", "either", lambda p: p.write_bytes(wav_header(1, SR, data_bytes=200_000)
                                                                       + rng.bytes(200_000)))
    add("zero_channels.wav", "refused", lambda p: p.write_bytes(wav_header(0, SR) + bytes(1000)))
    add("zero_rate.wav", "refused", lambda p: p.write_bytes(wav_header(1, 0) + bytes(1000)))
    add("text.wav", "refused", lambda p: p.write_text("RIFF? no, just some text\n" * 50))
    add("text.mp3", "refused", lambda p: p.write_text("ID3 is not enough\n" * 50))
    png = b"\x89PNG\r\n\x1a\n" + rng.bytes(3000)
    for ext in ("wav", "flac", "mp3"):
        add(f"image.{ext}", "refused", lambda p: p.write_bytes(png))
    for kind, value in (("nan", np.nan), ("inf", np.inf)):
        add(f"all_{kind}.wav", "refused", lambda p, v=value: sf.write(p, np.full(SR, v, np.float32), SR,
                                                                     subtype="FLOAT"))
        add(f"some_{kind}.wav", "refused", lambda p, v=value: sf.write(
            p, np.where(np.arange(2 * SR) % 777 == 0, v, music).astype(np.float32), SR, subtype="FLOAT"))
    add("too_short.wav", "refused", lambda p: sf.write(p, music[:2000], SR))
    add("one_sample.wav", "refused", lambda p: sf.write(p, music[:1], SR))
    add("eight_channels.wav", "ok", lambda p: sf.write(p, np.stack([music] * 8, axis=1), SR))
    for rate in (8000, 192000):
        add(f"rate_{rate}.wav", "ok", lambda p, r=rate: sf.write(p, chord(seconds=1.0, sr=r), r))
    add("pcm24.wav", "ok", lambda p: sf.write(p, music, SR, subtype="PCM_24"))
    add("float32.wav", "ok", lambda p: sf.write(p, music, SR, subtype="FLOAT"))
    add("silence.wav", "refused", lambda p: sf.write(p, np.zeros(SR, np.float32), SR))  # nothing to continue
    add("hour_long.wav", "ok", lambda p: _write_hour(p))
    add("folder.wav", "refused", lambda p: p.mkdir())
    add("dangling.wav", "refused", lambda p: os.symlink(folder / "nowhere.wav", p))
    add("loop.wav", "refused", lambda p: (os.symlink(folder / "loop_b.wav", p),
                                          os.symlink(p, folder / "loop_b.wav")))
    add("missing.wav", "refused", lambda p: None)
    add("mélodie ünïcode 音楽.wav", "ok", lambda p: sf.write(p, music, SR))
    return cases


def _write_hour(path):
    """An hour at 8 kHz, written in chunks (58 MB on disk, not in memory)."""
    with sf.SoundFile(path, "w", samplerate=8000, channels=1, subtype="PCM_16") as f:
        block = (0.1 * np.sin(2 * np.pi * 220 * np.arange(8000 * 60) / 8000)).astype(np.float32)
        for _ in range(60):
            f.write(block)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return build_corpus(tmp_path_factory.mktemp("hostile"))


def test_the_corpus_has_over_a_hundred_cases(corpus):
    assert len(corpus) >= 100


@pytest.mark.slow
def test_every_case_works_or_is_refused_cleanly(corpus, tmp_path, capsys, tiny_bundle_path):
    outcomes = {}
    for name, (path, expected) in corpus.items():
        out = tmp_path / f"{len(outcomes)}.wav"
        start = time.perf_counter()
        code = main(["continue", str(path), "-o", str(out), "--model", str(tiny_bundle_path), "--seconds", "0.5"])
        TIMINGS[name] = time.perf_counter() - start
        _, err = capsys.readouterr()
        lines = [line for line in err.strip().splitlines() if not line.startswith(("note:", "wrote "))]
        if code == 0:
            assert expected in ("ok", "either"), (name, err)
            assert sf.info(out).frames == SR // 2
        else:
            assert code == 2 and expected in ("refused", "either"), (name, code, err)
            assert len(lines) == 1 and lines[0].startswith("error: "), (name, err)
            assert "Traceback" not in err
            assert not out.exists()
        outcomes[name] = code
    assert not list(tmp_path.glob("*.part"))
    # The truncated files must not all go one way: both outcomes are exercised.
    truncated = [c for n, c in outcomes.items() if n.startswith("truncated")]
    assert 0 in truncated and 2 in truncated
    slowest = max(TIMINGS, key=TIMINGS.get)
    print(f"\n{len(outcomes)} cases: {sum(c == 0 for c in outcomes.values())} continued, "
          f"{sum(c == 2 for c in outcomes.values())} refused; slowest {slowest} {TIMINGS[slowest]:.2f} s")


@pytest.mark.slow
def test_decoder_noise_never_reaches_the_terminal(corpus, tmp_path, tiny_bundle_path):
    """The C decoders write to file descriptor 2 directly: check it from outside."""
    names = [n for n in corpus if n.startswith("truncated") and n.endswith(".mp3")][:4]
    names += ["random_4000.mp3", "image.mp3", "zero_channels.wav"]
    script = Path(sys.executable).parent / "musicgen"
    for name in names:
        result = subprocess.run([script, "continue", corpus[name][0], "-o", tmp_path / "o.wav", "--model",
                                 tiny_bundle_path, "--seconds", "0.2"], capture_output=True, text=True, timeout=120)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, (name, result.stderr)
        assert lines[0].startswith("error: " if result.returncode else "wrote "), (name, result.stderr)


@pytest.mark.slow
def test_an_hour_long_seed_is_cropped_with_a_note(corpus, tmp_path, capsys, tiny_bundle_path):
    path, _ = corpus["hour_long.wav"]
    code = main(["continue", str(path), "-o", str(tmp_path / "o.wav"), "--model", str(tiny_bundle_path),
                 "--seconds", "0.2"])
    assert code == 0
    assert "cropped to its first 600 s" in capsys.readouterr().err


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=4096), header=st.sampled_from([b"", b"RIFF", b"fLaC", b"OggS", b"ID3", b"FORM"]))
def test_fuzzed_bytes_never_escape_as_anything_but_a_clear_error(tmp_path, data, header):
    path = tmp_path / "fuzz.wav"
    path.write_bytes(header + data)
    try:
        audio = load_audio(path, SR)
    except AudioLoadError as exc:
        assert str(exc).startswith("fuzz.wav: ")
    else:
        assert audio.samples.dtype == np.float32 and np.isfinite(audio.samples).all()
