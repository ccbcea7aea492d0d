"""Real audio made in the tests: tones, chords, a piano-like melody, a drum loop."""

import numpy as np

SR = 22050


def tone(freq, seconds, sr=SR, amp=0.3):
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def chord(freqs=(261.63, 329.63, 392.0), seconds=3.0, sr=SR, amp=0.2):
    return np.sum([tone(f, seconds, sr, amp) for f in freqs], axis=0).astype(np.float32)


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


def rms_db(x):
    return 20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))) + 1e-12)
