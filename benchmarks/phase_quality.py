"""Streaming phase reconstruction against offline Griffin-Lim, on real music.

    python benchmarks/phase_quality.py [--seconds 12] [--offset 30] [--runs 5] [--nexuiz] [AUDIO ...]

Each clip's log-power frames (the feature STFT) are reconstructed from a 2 s seed
on, frame by frame, by ``StreamingPhaseReconstructor`` in a few settings, and
offline by ``librosa.griffinlim`` (32 iterations, its default momentum 0.99,
same n_fft, hop and periodic Hann window) from the same magnitudes. The table
gives the spectral convergence over the frames after the seed (lower is better;
random phase for scale) and the time per push, the median of --runs runs.

Clips: a piano piece written here as MIDI and rendered with FluidSynth (needs
the ``fluidsynth`` and ``fluid-soundfont-gm`` packages), any AUDIO files given
(--offset seconds in), and with --nexuiz two electronic tracks from Debian's
``nexuiz-music`` package (``apt-get download``; the OGGs sit in music.pk3, a zip).
Everything temporary goes to a folder under /tmp.
"""

import argparse
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

from musicgen_gui.core.audio_io import load_audio
from musicgen_gui.core.features import FeatureConfig, align_to_frames, log_power, log_to_magnitude, stft_scale
from musicgen_gui.core.phase import StreamingPhaseReconstructor, spectral_convergence

CFG = FeatureConfig()
SEED_FRAMES = 1 + round(2.0 * CFG.sample_rate / CFG.hop)
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
NEXUIZ_TRACKS = ("brainsukker", "digital-pursuit")
SETTINGS = {  # label: constructor arguments
    "streaming (default)": {},
    "streaming, lookahead 0": {"lookahead": 0},
    "streaming, 3 passes": {"iterations": 3},
    "vocoder only": {"iterations": 0, "lookahead": 0},
}


def write_midi(path: Path) -> None:
    """A 12-bar piano piece: held triads under an eighth-note melody, 120 bpm."""
    tpq, events = 480, []
    chords = [(48, 52, 55), (45, 48, 52), (41, 45, 48), (43, 47, 50)]
    melody = [72, 74, 76, 79, 77, 76, 74, 72, 69, 72, 74, 76, 74, 72, 71, 72]
    for bar in range(12):
        notes = [(bar * 4, 3.8, p, 70) for p in chords[bar % 4]]
        notes += [(bar * 4 + i / 2, 0.45, melody[(bar * 8 + i) % 16], 90) for i in range(8)]
        for start, length, pitch, velocity in notes:
            events += [(int(start * tpq), 0x90, pitch, velocity), (int((start + length) * tpq), 0x80, pitch, 0)]
    track, now = bytearray(b"\x00\xff\x51\x03\x07\xa1\x20\x00\xc0\x00"), 0  # tempo 500000 us, piano
    for tick, status, pitch, velocity in sorted(events, key=lambda e: (e[0], e[1] == 0x90)):
        delta, now = tick - now, tick
        vlq = [delta & 0x7F]
        while delta > 0x7F:
            delta >>= 7
            vlq.insert(0, 0x80 | (delta & 0x7F))
        track += bytes(vlq) + bytes([status, pitch, velocity])
    track += b"\x00\xff\x2f\x00"
    path.write_bytes(b"MThd" + struct.pack(">IHHH", 6, 0, 1, tpq) + b"MTrk" + struct.pack(">I", len(track)) + track)


def render_piano(tmp: Path) -> Path | None:
    if shutil.which("fluidsynth") is None or not SOUNDFONT.exists():
        print("skipping the piano clip: fluidsynth or FluidR3_GM.sf2 missing", file=sys.stderr)
        return None
    midi, wav = tmp / "piano.mid", tmp / "piano.wav"
    write_midi(midi)
    subprocess.run(["fluidsynth", "-ni", "-g", "0.8", "-r", str(CFG.sample_rate), "-F", str(wav),
                    str(SOUNDFONT), str(midi)], check=True, capture_output=True)
    return wav


def fetch_nexuiz(tmp: Path) -> list[Path]:
    subprocess.run(["apt-get", "download", "nexuiz-music"], cwd=tmp, check=True, capture_output=True)
    deb = next(tmp.glob("nexuiz-music_*.deb"))
    subprocess.run(["dpkg", "-x", str(deb), str(tmp / "deb")], check=True)
    pk3 = next((tmp / "deb").rglob("music.pk3"))
    paths = []
    with zipfile.ZipFile(pk3) as z:
        for name in NEXUIZ_TRACKS:
            paths.append(Path(z.extract(f"sound/cdtracks/{name}.ogg", tmp)))
    return paths


def streaming(x: np.ndarray, frames: np.ndarray, kwargs: dict) -> tuple[np.ndarray, float, float]:
    """The reconstruction (seed then continuation), wall and CPU seconds per push."""
    seed = x[: CFG.n_fft + (SEED_FRAMES - 1) * CFG.hop]
    rec = StreamingPhaseReconstructor(CFG, **kwargs)
    rec.prime(seed)
    outs = []
    wall, cpu = time.perf_counter(), time.thread_time()
    for frame in frames[SEED_FRAMES:]:
        outs.append(rec.push(frame))
    n = len(frames) - SEED_FRAMES
    return np.concatenate([seed, *outs]), (time.perf_counter() - wall) / n, (time.thread_time() - cpu) / n


def full_magnitudes(frames: np.ndarray) -> np.ndarray:
    """Unscaled rfft magnitudes (librosa's convention), bins x frames, Nyquist 0."""
    mag = np.zeros((len(frames), CFG.n_fft // 2 + 1), np.float32)
    mag[:, : CFG.n_bins] = log_to_magnitude(frames, CFG) / stft_scale(CFG.n_fft)
    return mag.T


def griffin_lim(frames: np.ndarray) -> np.ndarray:
    import librosa

    return librosa.griffinlim(full_magnitudes(frames), n_iter=32, hop_length=CFG.hop, win_length=CFG.n_fft,
                              n_fft=CFG.n_fft, window="hann", center=False, random_state=0)


def random_phase(frames: np.ndarray) -> np.ndarray:
    import librosa

    mag = full_magnitudes(frames)
    phase = np.random.default_rng(0).uniform(-np.pi, np.pi, mag.shape)
    return librosa.istft(mag * np.exp(1j * phase), hop_length=CFG.hop, win_length=CFG.n_fft,
                         n_fft=CFG.n_fft, window="hann", center=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("audio", nargs="*", type=Path)
    ap.add_argument("--seconds", type=float, default=12.0, help="length of each clip")
    ap.add_argument("--offset", type=float, default=30.0, help="where clips from AUDIO files start")
    ap.add_argument("--runs", type=int, default=5, help="timing runs per setting")
    ap.add_argument("--nexuiz", action="store_true", help="also fetch two electronic tracks (nexuiz-music)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="phase_quality_", dir="/tmp") as tmp:
        sources = []  # (label, path, offset)
        piano = render_piano(Path(tmp))
        if piano is not None:
            sources.append(("piano (FluidSynth)", piano, 0.0))
        extra = list(args.audio) + (fetch_nexuiz(Path(tmp)) if args.nexuiz else [])
        sources += [(p.stem, p, args.offset) for p in extra]
        clips = {}
        for label, path, offset in sources:
            audio = load_audio(path, CFG.sample_rate, max_seconds=offset + args.seconds).samples
            clips[label] = align_to_frames(audio[int(offset * CFG.sample_rate):], CFG)
    if not clips:
        sys.exit("no clips: install fluidsynth and fluid-soundfont-gm, or name audio files")

    rows: dict[str, list[str]] = {label: [] for label in [*SETTINGS, "Griffin-Lim 32 (offline)", "random phase"]}
    wall: dict[str, list[float]] = {label: [] for label in SETTINGS}
    cpu: dict[str, list[float]] = {label: [] for label in SETTINGS}
    for x in clips.values():
        frames = log_power(x, CFG)
        target = frames[SEED_FRAMES:]

        def sc(signal):
            return f"{spectral_convergence(target, signal[SEED_FRAMES * CFG.hop:], CFG):.3f}"

        for label, kwargs in SETTINGS.items():
            runs = [streaming(x, frames, kwargs) for _ in range(args.runs)]
            rows[label].append(sc(runs[0][0]))
            wall[label] += [run[1] for run in runs]
            cpu[label] += [run[2] for run in runs]
        rows["Griffin-Lim 32 (offline)"].append(sc(griffin_lim(frames)))
        rows["random phase"].append(sc(random_phase(frames)))

    names = [label[:20] for label in clips]
    print(f"spectral convergence over the frames after a {SEED_FRAMES}-frame seed; "
          f"{args.seconds:g} s clips; n_fft {CFG.n_fft}, hop {CFG.hop}")
    print("us/push: median over runs and clips, wall clock and this thread's CPU time")
    print(f"{'method':26s}" + "".join(f"{n:>22s}" for n in names) + f"{'us/push wall':>14s}{'cpu':>6s}  latency")
    for label, cells in rows.items():
        line = f"{label:26s}" + "".join(f"{c:>22s}" for c in cells)
        if label in SETTINGS:
            lat = StreamingPhaseReconstructor(CFG, **SETTINGS[label]).latency_frames
            line += f"{statistics.median(wall[label]) * 1e6:14.0f}{statistics.median(cpu[label]) * 1e6:6.0f}  {lat} frames"
        print(line)


if __name__ == "__main__":
    main()
