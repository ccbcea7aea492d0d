"""The device side: playback from a ring buffer, recording to disk, device listing.

No Qt here: the GUI polls these objects' counters from its own timers.
"""
