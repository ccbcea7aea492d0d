"""The shared-memory ring and the callback, driven by hand in one process (no device)."""

import multiprocessing
from types import SimpleNamespace

import numpy as np
import pytest

from musicgen_gui.audio import engine
from musicgen_gui.audio.player import Playback
from musicgen_gui.core.features import fade_in

RATE = 22050
BLOCK = 100


def setup(capacity=1000):
    shared = engine.Shared.create(capacity, multiprocessing.get_context("spawn"))
    callback = engine.Callback(shared)
    callback.rate = RATE
    return shared, callback, None


def start(shared, _player, ident):
    """A new playback announced as Player.play does: start first, then wanted."""
    playback = Playback(shared, ident, int(shared.control["written"]), RATE, RATE, latency_s=0.0)
    shared.control["start"] = playback.start
    shared.control["wanted"] = ident
    return playback


def pull(callback, blocks):
    time_info = SimpleNamespace(outputBufferDacTime=0.0, currentTime=0.0)
    status = SimpleNamespace(output_underflow=False)
    out = []
    for _ in range(blocks):
        outdata = np.full((BLOCK, 1), np.nan, np.float32)
        callback(outdata, BLOCK, time_info, status)
        out.append(outdata[:, 0].copy())
    return np.concatenate(out)


def test_the_ring_wraps_and_keeps_order_with_a_fade_in():
    shared, callback, player = setup(capacity=1000)
    playback = start(shared, player, 1)
    source = np.linspace(-1, 1, 3000, dtype=np.float32)
    heard = []
    for chunk in np.split(source, 10):  # 3x the ring, written as the callback makes room
        assert playback.put(chunk) == len(chunk)
        heard.append(pull(callback, 3))
    playback.finish()
    heard.append(pull(callback, 1))
    heard = np.concatenate(heard)[:len(source)]
    assert np.array_equal(heard[engine.RAMP:-engine.RAMP], source[engine.RAMP:-engine.RAMP])
    # A raised-cosine fade in: silent at the start, rising smoothly to the signal.
    assert np.allclose(heard[:engine.RAMP], source[:engine.RAMP] * fade_in(engine.RAMP), atol=1e-6)
    assert heard[0] == 0 and abs(heard[engine.RAMP // 2]) == pytest.approx(0.5 * abs(source[engine.RAMP // 2]), rel=0.02)
    assert playback.underruns == 0 and playback.done


@pytest.mark.parametrize("finished_after", [0, 480])
def test_the_end_fades_out_as_a_stop_does_whichever_block_it_falls_in(finished_after):
    """Finished before the callback reached the end (told when, or after some was played):
    its last RAMP samples fade to silence, spanning blocks, and nothing before them changes."""
    shared, callback, player = setup(capacity=2000)
    playback = start(shared, player, 1)
    source = np.full(1234, 0.5, np.float32)
    playback.put(source)
    heard = [pull(callback, finished_after // BLOCK)] if finished_after else []
    playback.finish()
    heard = np.concatenate(heard + [pull(callback, 15)])
    end = len(source)
    assert np.all(heard[engine.RAMP:end - engine.RAMP] == 0.5)
    assert np.allclose(heard[end - engine.RAMP:end], 0.5 * fade_in(engine.RAMP)[::-1], atol=1e-7)
    assert heard[end - 1] == 0.0 and np.all(heard[end:] == 0.0)
    assert playback.underruns == 0 and playback.done


def test_running_dry_mid_stream_is_an_underrun_but_the_end_is_not():
    shared, callback, player = setup()
    playback = start(shared, player, 1)
    playback.put(np.ones(150, np.float32))
    heard = pull(callback, 3)
    assert playback.underruns == 2 and np.all(heard[150:] == 0)
    playback.finish()
    pull(callback, 3)
    assert playback.underruns == 2 and playback.done


def test_a_new_playback_starts_only_after_the_old_one_has_faded_out():
    shared, callback, player = setup()
    first = start(shared, player, 1)
    first.put(np.ones(800, np.float32))
    pull(callback, 3)  # past the fade-in
    first.stop()
    second = start(shared, player, 2)
    second.put(np.full(100, 0.5, np.float32))
    heard = pull(callback, 4)
    fade = heard[:engine.RAMP]
    assert np.all(np.diff(fade) <= 0) and fade[0] > 0.99 and fade[-1] < 0.01
    assert first.done and not second.done
    assert np.all(heard[engine.RAMP:BLOCK * 3] == 0)  # the rest of the fading block, then the switch
    assert np.any(heard[BLOCK * 3:] > 0)  # the second one plays from the next block


def test_the_callback_never_raises_and_always_fills_the_buffer_whatever_the_producer_does():
    """Random interleavings of writes, stops, new playbacks, ends and odd block sizes."""
    rng = np.random.default_rng(0)
    shared, callback, player = setup(capacity=997)
    playback = start(shared, player, 1)
    ident = 1
    time_info = SimpleNamespace(outputBufferDacTime=0.0, currentTime=0.0)
    for step in range(3000):
        action = rng.integers(6)
        if action == 0:
            playback.put(rng.uniform(-1, 1, int(rng.integers(0, 400))).astype(np.float32))
        elif action == 1 and rng.random() < 0.1:
            playback.stop()
        elif action == 2 and rng.random() < 0.05:
            ident += 1
            playback = start(shared, player, ident)
        elif action == 3 and rng.random() < 0.05:
            playback.finish()
        frames = int(rng.integers(1, 600))
        outdata = np.full((frames, int(rng.integers(1, 3))), np.nan, np.float32)
        callback(outdata, frames, time_info, SimpleNamespace(output_underflow=bool(rng.random() < 0.01)))
        assert np.isfinite(outdata).all() and np.abs(outdata).max() <= 1.0, step
        assert np.array_equal(outdata[:, 0], outdata[:, -1])
    assert shared.control["calls"] == 3000
    assert shared.control["underruns"].sum() > 0


def test_past_the_lead_in_writing_stays_within_the_look_ahead_of_what_is_read():
    shared, callback, player = setup(capacity=1000)
    playback = start(shared, player, 1)
    assert playback.put(np.ones(300, np.float32)) == 300  # the lead-in, whole
    playback.limit_ahead(200)
    assert playback.put(np.ones(500, np.float32)) == 200  # then at most 200 beyond what is read
    pull(callback, 2)  # 200 read: still inside the lead-in
    assert playback.put(np.ones(500, np.float32)) == 0
    pull(callback, 3)  # 500 read: the lead-in and the first 200 after it
    assert playback.put(np.ones(500, np.float32)) == 200
