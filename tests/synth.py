"""Real audio made in the tests: tones, chords, a piano-like melody, random tunes, piano chords,
drum loops, and the chord written as a WAV file; and what the tests read back from audio."""

import numpy as np
import soundfile as sf

SR = 22050
C_MAJOR = (261.63, 329.63, 392.0)
SCALE = (261.63, 293.66, 329.63, 392.0, 440.0)  # C major pentatonic


def tone(freq, seconds, sr=SR, amp=0.3):
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def chord(freqs=C_MAJOR, seconds=3.0, sr=SR, amp=0.2):
    return np.sum([tone(f, seconds, sr, amp) for f in freqs], axis=0).astype(np.float32)


def write_chord(path, seconds, channels=1, rate=44100):
    """The C major chord as a WAV file (16-bit) at ``rate``, the same in each of ``channels``."""
    mono = chord(C_MAJOR, seconds, rate)
    sf.write(path, np.repeat(mono[:, None], channels, axis=1), rate)
    return path


def piano_note(freq, n_samples, sr=SR, amp=0.25):
    """A decaying note with a few harmonics."""
    t = np.arange(n_samples) / sr
    env = np.exp(-3.0 * t) * np.minimum(1.0, t * 200)
    wave = sum(np.sin(2 * np.pi * freq * k * t) / k**1.5 for k in (1, 2, 3, 4))
    return (amp * env * wave).astype(np.float32)


def melody(freqs, note_samples, repeats, sr=SR):
    """The notes one after another, the whole pattern repeated: periodic in frames
    when note_samples is a multiple of the hop."""
    pattern = np.concatenate([piano_note(f, note_samples, sr) for f in freqs])
    return np.tile(pattern, repeats)


def tune(seconds, rng_seed, scale=SCALE, note_seconds=0.25):
    """Random notes of the scale, one after another (not aligned with the hop)."""
    rng = np.random.default_rng(rng_seed)
    n = int(note_seconds * SR)
    notes = rng.choice(scale, int(np.ceil(seconds / note_seconds)))
    return np.concatenate([piano_note(f, n) for f in notes])[:int(seconds * SR)]


def piano_chords(seconds):
    """Four-note chords every 1.5 s: stretched harmonics, fast attack, per-harmonic decay."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * SR)) / SR
    out = np.zeros_like(t)
    chords = [(60, 64, 67, 72), (57, 60, 64, 69), (53, 57, 60, 65), (55, 59, 62, 67)]
    for c, start in enumerate(np.arange(0.0, seconds, 1.5)):
        tt = np.maximum(t - start, 0.0)
        onset = (t >= start) * (1 - np.exp(-tt / 0.004))
        for note in chords[c % len(chords)]:
            f0 = 440.0 * 2 ** ((note - 69) / 12)
            for h in range(1, 9):
                f = f0 * h * np.sqrt(1 + 4e-4 * h * h)
                decay = np.exp(-tt * (1.2 + 0.6 * h))
                out += onset * decay * (0.25 / h) * np.sin(2 * np.pi * f * tt + rng.uniform(0, 2 * np.pi))
    return (0.5 * out / np.abs(out).max()).astype(np.float32)


def drum_kit(seconds):
    """120 bpm: kick on 1 and 3 (falling sine), snare on 2 and 4 (noise burst and tone), closed hats
    on eighths; normalised to a peak of 0.5."""
    rng = np.random.default_rng(1)
    n = int(seconds * SR)
    out = np.zeros(n)
    tk = np.arange(int(0.3 * SR)) / SR
    kick = np.sin(2 * np.pi * (50 * tk + 4 * (1 - np.exp(-tk / 0.04)))) * np.exp(-tk / 0.12)
    ts = np.arange(int(0.2 * SR)) / SR
    th = np.arange(int(0.05 * SR)) / SR
    for k in range(int(seconds * 4)):
        i = int(k * 0.25 * SR)
        sounds = [0.15 * np.diff(rng.standard_normal(len(th) + 1)) * np.exp(-th / 0.012)]
        if k % 4 == 0:
            sounds.append(0.8 * kick)
        if k % 4 == 2:
            sounds.append(0.5 * rng.standard_normal(len(ts)) * np.exp(-ts / 0.05))
            sounds.append(0.25 * np.sin(2 * np.pi * 190 * ts) * np.exp(-ts / 0.08))
        for sound in sounds:
            seg = out[i:i + len(sound)]
            seg += sound[: len(seg)]
    return (0.5 * out / np.abs(out).max()).astype(np.float32)


def drum_loop(seconds, bpm=120, sr=SR, seed=0):
    rng = np.random.default_rng(seed)
    out = np.zeros(int(seconds * sr), np.float32)
    beat = int(sr * 60 / bpm)
    kick_t = np.arange(int(0.15 * sr)) / sr
    kick = np.sin(2 * np.pi * (50 + 80 * np.exp(-30 * kick_t)) * kick_t) * np.exp(-20 * kick_t)
    hat = rng.standard_normal(int(0.05 * sr)) * np.exp(-80 * np.arange(int(0.05 * sr)) / sr) * 0.3
    for i, start in enumerate(range(0, len(out), beat // 2)):
        sound = kick if i % 2 == 0 else hat
        end = min(len(out), start + len(sound))
        out[start:end] += sound[: end - start].astype(np.float32)
    return out * 0.5


_t = np.arange(int(0.15 * SR)) / SR
KICK = (np.sin(2 * np.pi * (50 + 80 * np.exp(-30 * _t)) * _t) * np.exp(-20 * _t)).astype(np.float32)
HAT = (np.random.default_rng(0).standard_normal(int(0.05 * SR)) * np.exp(-80 * np.arange(int(0.05 * SR)) / SR)
       * 0.3).astype(np.float32)


def hits(seconds, times, sound, gain=1.0, sr=SR):
    """``sound`` at each of ``times`` (seconds), in ``seconds`` of silence."""
    out = np.zeros(int(seconds * sr), np.float32)
    for t in times:
        a = int(round(t * sr))
        if a < len(out):
            end = min(len(out), a + len(sound))
            out[a:end] += gain * sound[:end - a]
    return out


def groove(seconds, bpm, per_bar):
    """A kick on each bar's first beat, hi-hats on the other beats and softer ones between."""
    times = np.arange(0, seconds, 30.0 / bpm)
    step = np.arange(len(times))
    first, on_beat = step % (2 * per_bar) == 0, step % 2 == 0
    return 0.5 * (hits(seconds, times[first], KICK) + hits(seconds, times[on_beat & ~first], HAT, 0.7)
                  + hits(seconds, times[~on_beat], HAT, 0.25))


def peak_frequency(x, sr):
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.argmax(spectrum) * sr / len(x)


def strongest_frequencies(x, rate, count, spacing_hz=20.0):
    """The ``count`` strongest spectral peaks at least ``spacing_hz`` apart, in Hz, ascending."""
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    found = []
    for i in np.argsort(spectrum)[::-1]:
        if all(abs(freqs[i] - f) > spacing_hz for f in found):
            found.append(freqs[i])
            if len(found) == count:
                return sorted(found)


def rms_db(x):
    return 20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))) + 1e-12)
