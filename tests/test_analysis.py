"""Tempo, beat, bar and key readouts on real signals, and on rendered scores whose labels are known."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from synth import HAT, KICK, SR, chord, drum_loop, groove, hits, piano_note

from musicgen_gui.core.analysis import ANALYSIS_SECONDS, BEAT_NONE, BEAT_SURE, analyse
from musicgen_gui.core.key import Key, estimate_key
from musicgen_gui.core.features import FeatureConfig
from musicgen_gui.core.labels import half, key_agrees, label_at, read_labels, tempo_agrees

CFG = FeatureConfig()
SCORES = Path(__file__).parent / "data" / "scores"
A_MINOR = (220.0, 261.63, 329.63, 293.66, 246.94, 220.0, 349.23, 329.63)  # A C E D B A F E


def melody(notes, repeats=3, bpm=120):
    return np.tile(np.concatenate([piano_note(f, int(SR * 60 / bpm)) for f in notes]), repeats)


@pytest.mark.parametrize("bpm", [90, 104, 120, 140])
def test_tempo_of_a_drum_loop(bpm):
    a = analyse(drum_loop(10.0, bpm=bpm), CFG)
    assert a.beat is not None and a.beat.sure and a.beat.quarter_bpm == pytest.approx(bpm, rel=0.01)


@pytest.mark.parametrize("bpm,figure", [(104, 0.75), (96, 0.75), (120, 1.5)])
def test_a_figure_at_four_thirds_or_two_thirds_of_the_beat_does_not_take_the_tempo(bpm, figure):
    """The metrical traps a single autocorrelation peak falls into: hats every dotted eighth over
    a kick on each beat (read as 4:3 of the beat), or every dotted quarter (2:3)."""
    beat = 60.0 / bpm
    x = 0.5 * (hits(12, np.arange(0, 12, beat), KICK, 0.6) + hits(12, np.arange(0, 12, beat * figure), HAT, 1.0)
               + hits(12, np.arange(0, 12, beat / 2), HAT, 0.3))
    a = analyse(x, CFG)
    assert tempo_agrees(a.beat.quarter_bpm, bpm), a.describe()


@pytest.mark.parametrize("per_bar", [3, 4])
def test_the_bar_is_found_where_the_kick_marks_it(per_bar):
    a = analyse(groove(12.0, 100, per_bar), CFG)
    beat = a.beat
    assert beat.beats_per_bar == per_bar
    kicks = np.arange(0, 14.0, per_bar * 0.6) * CFG.frames_per_second  # frames of each bar's kick
    downbeats = beat.downbeat_frames(int(12.0 * CFG.frames_per_second))
    assert len(downbeats) >= 4
    assert np.abs(downbeats[:, None] - kicks[None, :]).min(axis=1).max() < 2.5


def test_a_compound_beat_reads_in_quarter_notes():
    """6/8 at 80 dotted quarters: three eighths a beat, counted as 120 quarter notes a minute."""
    step = 60.0 / 80 / 3
    times = np.arange(0, 12, step)
    first = np.arange(len(times)) % 3 == 0
    x = 0.5 * (hits(12, times[first], KICK) + hits(12, times[~first], HAT, 0.5))
    a = analyse(x, CFG)
    assert a.beat.quarter_bpm == pytest.approx(120, rel=0.02), a.describe()


def test_key_of_a_melody_in_a_minor_and_in_e_flat_major():
    e_flat = (311.13, 392.0, 466.16, 349.23, 293.66, 311.13, 466.16, 622.25)
    for notes, name in ((A_MINOR, "A minor"), (e_flat, "Eb major")):
        assert analyse(melody(notes), CFG).key.name == name


def test_keys_are_spelled_as_their_signature_is_written():
    names = {(8, True): ("G# minor", 5), (11, False): ("B major", 5), (1, False): ("Db major", -5),
             (6, False): ("F# major", 6), (3, True): ("Eb minor", -6), (10, True): ("Bb minor", -5),
             (1, True): ("C# minor", 4), (9, True): ("A minor", 0), (5, False): ("F major", -1)}
    for (tonic, minor), (name, sharps) in names.items():
        key = Key(tonic, minor, 1.0)
        assert (key.name, key.sharps) == (name, sharps)
    assert key_agrees(Key(8, True, 1.0), 5) and key_agrees(Key(11, False, 1.0), 5)  # relatives
    assert not key_agrees(Key(4, False, 1.0), 5)


@pytest.mark.parametrize("seconds", [5, 10])
def test_white_noise_has_no_key_whatever_its_chance_peaks(seconds):
    # Before the tonal share was required, 7 of these 24 noises spelled a key.
    for seed in range(12):
        noise = (0.1 * np.random.default_rng(seed).standard_normal(seconds * SR)).astype(np.float32)
        assert estimate_key(noise, SR) is None, seed


@pytest.mark.parametrize("what", ["silence", "click", "noise", "short", "drums"])
def test_what_has_no_key_or_no_tempo_says_none_without_an_error(what):
    rng = np.random.default_rng(3)
    x = {"silence": np.zeros(5 * SR, np.float32),
         "click": np.pad(np.ones(8, np.float32), (SR, 4 * SR)),
         "noise": (0.1 * rng.standard_normal(10 * SR)).astype(np.float32),
         "short": melody(A_MINOR)[:int(0.1 * SR)],
         "drums": drum_loop(10.0, bpm=120)}[what]
    a = analyse(x, CFG)
    assert a.key is None
    if what == "silence":
        assert a.silent
    if what != "drums":
        assert a.beat is None
        assert a.describe() in ("tempo none · key none",) or a.silent


def test_no_key_for_a_selection_shorter_than_three_seconds():
    x = melody(A_MINOR)
    assert analyse(x[:int(3.2 * SR)], CFG).key is not None
    assert analyse(x[:int(2.5 * SR)], CFG).key is None


def test_the_readout_says_how_sure_it_is():
    sure = analyse(drum_loop(8.0, bpm=120) + melody(A_MINOR, 2)[:8 * SR], CFG)
    assert sure.describe() == "120 BPM · A minor"
    # Drowned by a held A minor triad (which lies in three keys), it is less sure.
    assert analyse(drum_loop(8.0, bpm=120) + melody(A_MINOR, 2)[:8 * SR] + chord((220.0, 261.63, 329.63), seconds=8.0),
                   CFG).describe() == "120 BPM · A minor?"
    # A lone triad lies in three keys: named, with a question mark.
    assert analyse(chord(seconds=8.0), CFG).describe() == "tempo none · C major?"


@pytest.mark.slow
def test_the_readout_does_not_move_with_framing_or_a_few_frames_of_selection():
    x = groove(14.0, 104, 4) + melody(A_MINOR, 4, bpm=104)[:14 * SR]
    readouts = {analyse(x[o:o + 10 * SR + d], CFG).describe()
                for o in np.linspace(0, 511, 10).astype(int) for d in (-3 * CFG.hop, 0, 3 * CFG.hop)}
    assert readouts == {"104 BPM · A minor"}


def test_the_grid_sits_on_the_same_music_whatever_sample_the_clip_starts_on():
    x = groove(12.0, 104, 4)
    grids = []
    for start in (0, 100, 300, 511, 3 * CFG.hop + 200):
        beat = analyse(x[start:], CFG).beat
        assert beat is not None and round(beat.quarter_bpm) == 104
        grids.append(((beat.first_frame * CFG.hop + start) % (beat.period_frames * CFG.hop), beat.period_frames))
    phases, periods = np.array(grids).T
    cycle = periods[0] * CFG.hop
    apart = (phases - phases[0] + cycle / 2) % cycle - cycle / 2
    # The beats fall on the same samples of the whole clip: to within a twentieth of a frame (a start
    # that cuts off the loudest kick frames the clip on the next one, a few samples off the grid).
    assert np.ptp(periods) < 0.01 and np.abs(apart).max() < 0.05 * CFG.hop


def test_a_continuation_reads_as_its_seed_where_it_nearly_agrees():
    seed = melody(A_MINOR, 4)[:10 * SR] + groove(10.0, 100, 4)
    # The continuation leans on the relative major's tonic: alone it could read as C major.
    c_lean = (261.63, 329.63, 392.0, 293.66, 261.63, 220.0, 329.63, 523.25)
    continuation = melody(c_lean, 4)[:10 * SR] + groove(10.0, 100, 4)
    seed_reading = analyse(seed, CFG)
    assert seed_reading.key.name == "A minor"
    assert analyse(continuation, CFG, like=seed_reading).describe() == seed_reading.describe()
    # Music that does not agree still reads as itself.
    e_flat = melody((311.13, 392.0, 466.16, 349.23, 293.66, 311.13, 466.16, 622.25), 4)[:10 * SR]
    assert analyse(e_flat, CFG, like=seed_reading).key.name == "Eb major"


def test_an_unsure_tempo_shows_the_nearest_metronome_mark_and_a_sure_one_its_own_bpm():
    sure = analyse(groove(10.0, 121, 4), CFG)
    assert sure.beat.sure and sure.describe().startswith("121 BPM")
    for bpm, shown in ((118.6, 120), (121.4, 120), (123.6, 126), (181.0, 184), (61.6, 63), (238.0, 240)):
        period = 60.0 * CFG.frames_per_second / bpm
        unsure = replace(sure, beat=replace(sure.beat, period_frames=period, strength=0.5 * (BEAT_NONE + BEAT_SURE)))
        assert unsure.describe().startswith(f"≈ {shown} BPM"), bpm


def test_a_continuation_a_little_off_its_seeds_tempo_shows_the_seeds_tempo():
    seed_reading = analyse(groove(10.0, 100, 4), CFG)
    assert seed_reading.describe().startswith("100 BPM")
    # Alone, a groove 1.5 % faster reads a BPM or two faster; beside its seed it is the seed's beat.
    assert not analyse(groove(10.0, 101.5, 4), CFG).describe().startswith("100 BPM")
    assert analyse(groove(10.0, 101.5, 4), CFG, like=seed_reading).describe().startswith("100 BPM")
    # A tempo 8 % off is a different tempo.
    assert analyse(groove(10.0, 108, 4), CFG, like=seed_reading).describe().startswith("108 BPM")
    # Kept, it is exactly as sure as the seed: no surer where the seed's beat was unsure.
    unsure = replace(seed_reading, beat=replace(seed_reading.beat, strength=0.5 * (BEAT_NONE + BEAT_SURE)))
    assert analyse(groove(10.0, 101.5, 4), CFG, like=unsure).describe().startswith("≈ 100 BPM")


def test_a_long_seed_is_read_on_its_end_and_its_grid_counts_from_its_start():
    x = drum_loop(ANALYSIS_SECONDS + 25.0, bpm=120)
    a = analyse(x, CFG)
    assert a.excerpt_seconds == ANALYSIS_SECONDS and a.describe().endswith(f"(last {ANALYSIS_SECONDS:.0f} s)")
    kicks = np.arange(0, len(x) / SR, 0.5) * CFG.frames_per_second
    grid = a.beat.beat_frames(int(len(x) / SR * CFG.frames_per_second))
    grid = grid[grid < kicks[-1]]
    assert np.abs(grid[:, None] - kicks[None, :]).min(axis=1).max() < 2.5  # an onset shows a frame or two early


def test_labels_hold_only_where_the_score_does_not_change():
    labels = {"tempo": [[0.0, 120.0], [24.0, 60.0]], "meter": [[0.0, "4/4"]], "key": [[0.0, 3, False], [30.0, 2, False]]}
    assert label_at(labels, 2.0, 10.0).bpm == 120.0 and label_at(labels, 2.0, 10.0).sharps == 3
    assert label_at(labels, 20.0, 28.0).bpm is None and label_at(labels, 20.0, 28.0).sharps == 3
    assert label_at(labels, 25.0, 33.0).bpm == 60.0 and label_at(labels, 25.0, 33.0).sharps is None
    assert tempo_agrees(61.0, 120.0) and tempo_agrees(236.0, 120.0) and not tempo_agrees(80.0, 120.0)
    assert {half(f"track{i}") for i in range(20)} == {"tune", "report"}


def rendered_scores():
    labels = read_labels(SCORES)
    return [(name, labels[name]) for name in sorted(labels)]


@pytest.mark.parametrize("name,labels", rendered_scores())
def test_rendered_scores_read_as_their_scores_say(name, labels):
    """Excerpts of music21 scores rendered by resources/models/ood_corpus.py (tests/data/scores),
    from the tune half of its files (tuning saw them; the report half stays unseen), with the tempo and key signature their MIDI files carried."""
    audio, sr = sf.read(SCORES / name, dtype="float32")
    assert sr == CFG.sample_rate
    label = label_at(labels, 0.0, len(audio) / sr)
    a = analyse(audio, CFG)
    assert tempo_agrees(a.beat and a.beat.quarter_bpm, label.bpm), a.describe()
    assert key_agrees(a.key, label.sharps), a.describe()


def test_the_score_excerpts_are_labelled_and_from_the_tune_half():
    manifest = json.loads((SCORES / "manifest.json").read_text())
    assert len(rendered_scores()) == len(manifest["tracks"]) >= 4
    assert all(half(t["from"]) == "tune" for t in manifest["tracks"])
