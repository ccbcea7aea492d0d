"""The take list: the current seed's takes, named by their seed, each saying what was set otherwise than
for the take before; every seed's one click away; one stored copy of each seed."""

import json

import numpy as np
import pytest
import soundfile as sf
from gui_driver import assert_shows, click_take, load, run_to_end
from PySide6.QtCore import Qt

from musicgen_gui.gui.settings import AppSettings

RATE = 22050


def rows(window) -> list[str]:
    view = window.takes.view
    return [view.model().index(row, 0).data() for row in range(view.model().rowCount())]


@pytest.mark.slow
def test_the_list_shows_the_seeds_takes_and_what_changed_and_all_seeds_one_click_away(qtbot, window, write_chord):
    c = window.controller
    assert load(qtbot, window, write_chord("chord.wav", 4.0))
    window.panel.seconds.setValue(1.0)
    run_to_end(qtbot, window)
    window.panel.follow.setValue(80)
    run_to_end(qtbot, window)
    window.panel.set_temperature(0.7)
    run_to_end(qtbot, window)
    assert window.takes.heading.text() == "Takes of chord.wav"
    first, second, third = rows(window)
    assert first.startswith("Take 1 · 1.0 s · ") and "variation 0.50 · follow 0.50" in first
    assert second.endswith("· follow 0.80") and "variation" not in second
    assert third.endswith("· variation 0.70") and "follow" not in third

    assert load(qtbot, window, write_chord("other.wav", 3.0))
    assert rows(window) == [] and window.takes.heading.text() == "Takes of other.wav"
    other = run_to_end(qtbot, window)
    assert rows(window) == [other.summary()] and other.summary().startswith("Take 4 · ")
    qtbot.mouseClick(window.takes.all_seeds, Qt.MouseButton.LeftButton)
    assert window.takes.heading.text() == "Takes of every seed"
    assert [r.split(": ", 1)[0] for r in rows(window)] == ["chord.wav"] * 3 + ["other.wav"]

    # Regenerating a take of the other seed: a take of that seed, drawn with it.
    take_1 = c.takes.model.take(0)
    click_take(qtbot, window, take_1)
    again = run_to_end(qtbot, window, window.regenerate_action)
    assert again.source.endswith("chord.wav") and np.array_equal(again.seed, take_1.seed)
    assert_shows(window, again)
    assert [r.split(": ", 1)[0] for r in rows(window)] == ["chord.wav"] * 4 + ["other.wav"]
    assert window.takes.view.currentIndex() == window.takes.index_of(again)


def test_a_long_name_never_brings_a_horizontal_scroll_bar(qtbot, window, chord_file):
    assert load(qtbot, window, chord_file)
    window.panel.seconds.setValue(1.0)
    take = run_to_end(qtbot, window)
    window.controller.takes.model.setData(window.takes.index_of(take), "a very long name " * 20)
    qtbot.wait(50)
    assert not window.takes.view.horizontalScrollBar().isVisible()


@pytest.mark.slow
def test_takes_share_one_stored_copy_of_their_seed_and_older_takes_still_load(qtbot, no_audio, make_window,
                                                                             chord_file, tmp_path):
    window = make_window()
    assert load(qtbot, window, chord_file)
    window.panel.seconds.setValue(1.0)
    takes = [run_to_end(qtbot, window) for _ in range(3)]
    window.close()
    folder = tmp_path / "takes"
    assert [p.name for p in (folder / "seeds").iterdir()] == [f"{takes[0].seed_id}.wav"]
    assert not list(folder.glob("*/seed.wav"))
    # A take saved by an older version: its own seed.wav, and no seed hash in its JSON.
    old = folder / "20200101-000000-000000000"
    old.mkdir()
    seed = takes[0].seed[:RATE]
    sf.write(old / "seed.wav", seed, RATE, subtype="FLOAT")
    sf.write(old / "continuation.wav", takes[0].continuation(), RATE, subtype="FLOAT")
    meta = json.loads((folder / takes[0].ident / "take.json").read_text())
    meta.update(version=1, ident=old.name, name="Old take")
    del meta["seed"]
    (old / "take.json").write_text(json.dumps(meta))
    again = make_window(AppSettings(window.settings.path))
    loaded = again.controller.takes.model.takes()
    assert [t.name for t in loaded] == ["Old take", "Take 1", "Take 2", "Take 3"]
    assert np.array_equal(loaded[0].seed, seed) and loaded[1].seed is loaded[3].seed  # read once
    assert np.array_equal(loaded[1].seed, takes[0].seed)
    again.close()
    assert (folder / "seeds" / f"{takes[0].seed_id}.wav").is_file()  # still in use: kept
