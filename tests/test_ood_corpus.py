"""The out-of-domain evaluation set shares no source with the training corpora (checked from both scripts' data)."""

import ast
import sys
from pathlib import Path

import pytest

MODELS = Path(__file__).resolve().parent.parent / "resources" / "models"
pytest.importorskip("soxr")  # corpus.py needs it at import
sys.path.insert(0, str(MODELS))
import corpus  # noqa: E402
import ood_corpus  # noqa: E402


def training_packages():
    """The Debian packages corpus.py downloads: the literal names it passes to fetch_deb(), and
    the soundtracks of its 'varied' corpus (passed by name from SOUNDTRACKS)."""
    tree = ast.parse((MODELS / "corpus.py").read_text())
    return {node.args[0].value for node in ast.walk(tree)
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "fetch_deb"
            and isinstance(node.args[0], ast.Constant)} | set(corpus.SOUNDTRACKS)


def ood_scores():
    return [rel for works in (ood_corpus.PIANO, ood_corpus.INSTRUMENTS) for w in works for rel in w[1]]


def test_no_training_package_is_an_ood_source():
    assert training_packages() == {"nexuiz-music", "warzone2100-music", "supertux-data", "hedgewars-data",
                                   "freedroidrpg-data", "lincity-ng-data"}
    assert not training_packages() & (set(ood_corpus.ELECTRONIC) | set(ood_corpus.ORCHESTRAL))


def test_no_training_score_is_an_ood_source():
    scores = ood_scores()
    assert len(scores) == len(set(scores)), "a score is used twice"
    solo_works = {ood_corpus.work(rel) for rel in corpus.PIANO_SOLO}
    for rel in scores:
        assert not rel.startswith("bach/"), rel  # corpus.py takes every Bach chorale
        assert ood_corpus.work(rel) not in solo_works, rel
        assert ood_corpus.training_overlap(rel) is None, rel
    assert ood_corpus.training_overlap("mozart/k545/movement2.mxl")  # another movement of a training work
    assert ood_corpus.training_overlap("bach/bwv269.mxl")


def test_the_onset_detector_trains_on_chorales_that_no_set_uses_and_on_the_other_soundfont():
    pytest.importorskip("music21")
    import onsets  # resources/models/onsets.py

    chorales = onsets.chorales()
    assert len(chorales) > 300 and all(rel.startswith("bach/") for rel in chorales)
    assert not set(chorales) & set(ood_scores())
    assert corpus.SOUNDFONT.name == "FluidR3_GM.sf2" != ood_corpus.SOUNDFONT.name  # render_score's default


def test_no_work_is_in_two_sets_and_the_soundfont_is_another():
    piano = {ood_corpus.work(rel) for w in ood_corpus.PIANO for rel in w[1]}
    instruments = {ood_corpus.work(rel) for w in ood_corpus.INSTRUMENTS for rel in w[1]}
    assert not piano & instruments
    assert ood_corpus.SOUNDFONT.name != corpus.SOUNDFONT.name


def test_each_set_is_large_and_varied_enough():
    assert len(ood_corpus.PIANO) >= 10 and len(ood_corpus.INSTRUMENTS) >= 10
    assert len({w[3] for w in ood_corpus.INSTRUMENTS}) >= 5
    assert min(w[3] for w in ood_corpus.INSTRUMENTS) > 7  # General MIDI programs 0-7 are pianos
    tracks = [t for spec in ood_corpus.ELECTRONIC.values() for t in spec["tracks"]]
    assert len(tracks) >= 10
    packages = {**ood_corpus.ELECTRONIC, **ood_corpus.ORCHESTRAL}
    assert max(len(spec["tracks"]) for spec in packages.values()) <= 3


def test_labels_move_with_the_audio_and_keep_what_holds_at_its_start():
    labels = {"tempo": [[0.0, 120.0], [10.0, 90.0]], "meter": [[0.0, "3/4"]], "key": [[0.0, 2, False], [4.0, -1, False]]}
    assert ood_corpus.shifted(labels, -5.0) == {"tempo": [[0.0, 120.0], [5.0, 90.0]], "meter": [[0.0, "3/4"]],
                                                "key": [[0.0, -1, False]]}
    assert ood_corpus.shifted(labels, 2.5)["tempo"] == [[2.5, 120.0], [12.5, 90.0]]


def test_labels_are_read_from_the_midi_file_that_is_played():
    music21 = pytest.importorskip("music21")
    from music21 import key, meter, note, stream, tempo

    part = stream.Part()
    part.append([tempo.MetronomeMark(number=90), meter.TimeSignature("3/4"), key.KeySignature(2)])
    part.append([note.Note("D4", quarterLength=1.0) for _ in range(6)])  # two bars of 3/4 at 90: 4 s
    part.append([tempo.MetronomeMark(number=60), key.KeySignature(-1)])
    part.append([note.Note("F4", quarterLength=1.0) for _ in range(3)])
    labels = ood_corpus.midi_labels(music21.midi.translate.streamToMidiFile(stream.Score([part])))
    assert labels["tempo"] == [[0.0, 90.0], [4.0, 60.0]]
    assert labels["meter"] == [[0.0, "3/4"]]
    assert [k[:2] for k in labels["key"]] == [[0.0, 2], [4.0, -1]]
