import numpy as np

from musicgen_gui.audio.ringbuffer import RingBuffer


def test_wraps_around_and_keeps_order():
    ring = RingBuffer(8)
    out = np.zeros(5, np.float32)
    source = np.arange(40, dtype=np.float32)
    got = []
    pos = 0
    while pos < len(source) or ring.available:
        pos += ring.write(source[pos:pos + 3])
        n = ring.read_into(out)
        got.extend(out[:n])
    assert np.array_equal(got, source)
    assert ring.total_read == ring.total_written == 40


def test_write_takes_only_what_fits():
    ring = RingBuffer(4)
    assert ring.write(np.ones(10, np.float32)) == 4
    assert ring.free == 0
    assert ring.write(np.ones(1, np.float32)) == 0


def test_read_from_empty_ring_copies_nothing():
    ring = RingBuffer(4)
    out = np.full(3, 7.0, np.float32)
    assert ring.read_into(out) == 0
    assert (out == 7.0).all()
