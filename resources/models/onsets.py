#!/usr/bin/env python3
"""Train the onset detector (musicgen_gui/core/onsets.py) from nothing.

    python resources/models/onsets.py [--renders N] [--out DIR] [--epochs E]

Renders N Bach chorales from music21's corpus with FluidSynth + FluidR3_GM,
each wholly on one of 31 General MIDI programs (strings, choirs, organs, winds,
guitars, keyboards, synths) at a random tempo of 50-190 BPM, and labels every
frame by whether a note of the score starts there. The chorales are works the
piano model trained on; none is in the out-of-domain sets, which are rendered
with another soundfont (TimGM6mb). Every tenth render is held out and its loss
reported. Writes resources/models/onsets.npz (about 0.6 MB). Renders are kept
in OUT/onsets/ (default ~/.cache/musicgen-corpus), so a second run only trains.
Needs TensorFlow (Keras), as training does.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))
import corpus as C  # noqa: E402  (exits with a hint if numpy, soundfile or soxr are missing)

from musicgen_gui.core.features import FeatureConfig, log_power  # noqa: E402
from musicgen_gui.core.onsets import FILE_NAME, onset_inputs  # noqa: E402

PROGRAMS = [0, 4, 6, 11, 19, 21, 24, 25, 32, 40, 41, 42, 46, 48, 49, 52, 53, 56, 57, 60, 61, 65, 68, 70, 71, 73,
            74, 80, 81, 88, 89]
MIN_BPM, MAX_BPM = 50.0, 190.0
CONTEXT = 8  # frames either side: 0.2 s, a legato change's fade and swell
HIDDEN = (64, 32)
BATCH = 512
# FluidSynth renders a few of these MIDI files for hours (a note that never ends): such a render
# is stopped, or left out where its audio runs on far past the last note.
RENDER_TIMEOUT, MAX_TAIL_SECONDS = 60, 30.0
# A note's onset is labelled on the frame whose window is centred nearest after it and the next
# (their flux shares the attack), half on the frames either side.
TARGET = ((-1, 0.5), (0, 1.0), (1, 1.0), (2, 0.5))


def chorales() -> list[str]:
    from music21 import corpus

    found = {}
    for p in sorted(corpus.getComposer("bach"), key=lambda p: (p.suffix != ".mxl", str(p))):
        if p.name.startswith("bwv") and p.suffix in (".mxl", ".xml", ".krn") and p.stem != "bwv846":
            found.setdefault(p.stem, f"bach/{p.name}")
    return sorted(found.values())


def render(i: int, rel: str, target: Path) -> None:
    """Render i: the chorale on a random program at a random tempo, and its note onsets (s)."""
    from music21 import instrument, tempo

    rng = random.Random(i)
    program = rng.choice(PROGRAMS)
    bpm = round(float(np.exp(rng.uniform(np.log(MIN_BPM), np.log(MAX_BPM)))), 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score = C.piano_score(rel, lambda: instrument.instrumentFromMidiProgram(program))
        for mark in list(score.recurse().getElementsByClass(tempo.MetronomeMark)):
            mark.activeSite.remove(mark)
        score.insert(0, tempo.MetronomeMark(number=bpm))
        onsets = sorted({float(n.offset) * 60.0 / bpm for n in score.flatten().notes
                         if n.duration.quarterLength > 0 and (n.tie is None or n.tie.type == "start")})
        with tempfile.TemporaryDirectory() as tmp:
            audio = C.render_score(score, rel, tmp, timeout=RENDER_TIMEOUT)
    if len(audio) > (onsets[-1] + MAX_TAIL_SECONDS) * C.SR:
        C.log(f"  render {i} ({rel}): {len(audio) / C.SR:.0f} s of audio for {onsets[-1]:.0f} s of notes, left out")
        return
    part = target.with_suffix(".part.npz")
    np.savez(part, audio=audio.astype(np.float32), onsets=np.array(onsets), program=program, bpm=bpm, rel=rel)
    part.replace(target)


def _render_job(job):
    i, rel, target = job
    if target.is_file():
        return
    try:
        render(i, rel, target)
    except subprocess.TimeoutExpired:
        C.log(f"  render {i} ({rel}): FluidSynth did not finish in {RENDER_TIMEOUT} s, left out")


def targets(onsets: np.ndarray, n_frames: int, cfg: FeatureConfig) -> np.ndarray:
    t = np.zeros(n_frames, np.float32)
    for sample in onsets * cfg.sample_rate:
        m = int(round(sample / cfg.hop - 1))  # frame m's window is centred at m*hop + n_fft/2
        for d, value in TARGET:
            if 0 <= m + d < n_frames:
                t[m + d] = max(t[m + d], value)
    return t


def provenance(renders: int, held_out_loss: float) -> str:
    """What the detector was trained on, with the sources' licences: stored in its file."""
    import music21

    return (f"resources/models/onsets.py: {renders} renders of Bach chorales from the music21 {music21.__version__} "
            f"corpus ({C.MUSIC21_LICENCE}), each on one General MIDI program at {MIN_BPM:g}-{MAX_BPM:g} BPM, "
            f"rendered with FluidR3_GM.sf2 ({C.SOUNDFONT_LICENCE}); held-out cross-entropy {held_out_loss:.4f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--renders", type=int, default=330)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--out", type=Path, default=Path("~/.cache/musicgen-corpus"))
    args = ap.parse_args()
    C.need_tool("fluidsynth", "install it with: apt-get install fluidsynth")
    folder = args.out.expanduser() / "onsets"
    folder.mkdir(parents=True, exist_ok=True)
    rels = chorales()
    jobs = [(i, rels[(i * 7) % len(rels)], folder / f"{i:04d}.npz") for i in range(args.renders)]
    from multiprocessing import Pool

    with Pool(2) as pool:
        pool.map(_render_job, jobs, chunksize=1)

    cfg = FeatureConfig()
    # Each render's inputs with CONTEXT frames of its edges repeated, one after another; a frame's
    # window is gathered per batch (all windows at once would take some 6 GB).
    inputs, centres, ys, held, start = [], [], [], [], 0
    for i, _, path in jobs:
        if not path.is_file():
            continue
        with np.load(path) as f:
            x = onset_inputs(log_power(f["audio"], cfg), cfg)
            ys.append(targets(f["onsets"], len(x), cfg))
        inputs.append(np.pad(x, ((CONTEXT, CONTEXT), (0, 0)), mode="edge"))
        centres.append(start + CONTEXT + np.arange(len(x)))
        held.append(np.full(len(x), i % 10 == 0))
        start += len(x) + 2 * CONTEXT
    frames, centres, y, held = np.concatenate(inputs), np.concatenate(centres), np.concatenate(ys), np.concatenate(held)
    C.log(f"onsets: {len(inputs)} renders, {len(y)} frames, {np.mean(y > 0):.1%} near an onset")

    import keras

    class Windows(keras.utils.PyDataset):
        def __init__(self, which, shuffle):
            super().__init__()
            self.centres, self.y, self.shuffle = centres[which], y[which], shuffle
            self.order = np.arange(len(self.y))
            self.on_epoch_end()

        def __len__(self):
            return -(-len(self.y) // BATCH)

        def __getitem__(self, k):
            pick = self.order[k * BATCH:(k + 1) * BATCH]
            window = self.centres[pick][:, None] + np.arange(-CONTEXT, CONTEXT + 1)[None, :]
            return frames[window].reshape(len(pick), -1), self.y[pick]

        def on_epoch_end(self):
            if self.shuffle:
                np.random.shuffle(self.order)

    keras.utils.set_random_seed(C.SEED)
    width = (2 * CONTEXT + 1) * frames.shape[1]
    model = keras.Sequential([keras.Input((width,))] + [keras.layers.Dense(n, activation="relu") for n in HIDDEN]
                             + [keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
    fit = model.fit(Windows(~held, True), validation_data=Windows(held, False), epochs=args.epochs, verbose=2)
    C.log(f"onsets: held-out cross-entropy {fit.history['val_loss'][-1]:.4f}")
    weights = [np.asarray(w, np.float32) for w in model.get_weights()]
    arrays = {f"{kind}{i // 2}": w for i, (kind, w) in enumerate(zip(("w", "b") * len(weights), weights))}
    out = HERE / FILE_NAME
    part = out.with_suffix(".part.npz")
    np.savez(part, context=np.int32(CONTEXT), sample_rate=np.int32(cfg.sample_rate), n_fft=np.int32(cfg.n_fft),
             hop=np.int32(cfg.hop), provenance=np.array(provenance(len(inputs), fit.history["val_loss"][-1])),
             **arrays)
    part.replace(out)
    C.log(f"onsets: wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
