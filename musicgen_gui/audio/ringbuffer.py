"""A preallocated single-producer, single-consumer ring of float32 samples.

The producer (a worker thread) only advances ``_written`` and the consumer
(the audio callback) only advances ``_read``; each index is written by one
thread alone, so neither side takes a lock. Under the GIL an int assignment is
atomic, and the data is copied before the index that publishes it moves.
"""

from __future__ import annotations

import numpy as np


class RingBuffer:
    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._data = np.zeros(capacity, np.float32)
        self._written = 0  # total samples ever written (producer only)
        self._read = 0  # total samples ever read (consumer only)

    @property
    def capacity(self) -> int:
        return len(self._data)

    @property
    def available(self) -> int:
        """Samples written but not yet read."""
        return self._written - self._read

    @property
    def free(self) -> int:
        return len(self._data) - self.available

    @property
    def total_read(self) -> int:
        return self._read

    @property
    def total_written(self) -> int:
        return self._written

    def write(self, samples: np.ndarray) -> int:
        """Copy as many samples as fit; returns how many were taken."""
        n = min(len(samples), self.free)
        if n:
            self._copy_in(samples[:n], self._written % len(self._data))
            self._written += n
        return n

    def read_into(self, out: np.ndarray) -> int:
        """Fill the start of ``out`` with up to len(out) samples; no allocation.

        Returns how many were copied; the caller zeroes the rest.
        """
        n = min(len(out), self.available)
        if n:
            start = self._read % len(self._data)
            first = min(n, len(self._data) - start)
            out[:first] = self._data[start:start + first]
            if first < n:
                out[first:n] = self._data[:n - first]
            self._read += n
        return n

    def _copy_in(self, samples: np.ndarray, start: int) -> None:
        first = min(len(samples), len(self._data) - start)
        self._data[start:start + first] = samples[:first]
        if first < len(samples):
            self._data[:len(samples) - first] = samples[first:]
