"""Recording to disk: the take is on disk while recording, survives kill -9, and a microphone
that dies or hangs mid-take ends the recording with what was recorded so far."""

import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import soundfile as sf
from mounts import tmpfs
from recording_crash import record_and_kill
from synth import C_MAJOR, peak_frequency, strongest_frequencies, write_chord
from virtual_sound import wait_until

from musicgen_gui.audio import recorder as recordings
from musicgen_gui.audio.devices import INPUT, find_device
from musicgen_gui.audio.recorder import PARTIAL, InputRing, Recorder


def test_records_a_chord_to_disk_while_recording(sound_server, tmp_path):
    write_chord(tmp_path / "chord.wav", 2.5)
    recorder = Recorder(find_device(INPUT), folder=tmp_path / "rec")
    partial = recorder.start()
    assert partial.name.endswith(PARTIAL)
    assert recordings.orphans(tmp_path / "rec") == []  # locked while recording: not an orphan
    feeder = sound_server.play_into_mic(tmp_path / "chord.wav")
    wait_until(lambda: sf.info(partial).frames > 0)  # the take reaches the disk before the recording ends
    loudest = 0.0
    while feeder.poll() is None:
        loudest = max(loudest, recorder.level)
        time.sleep(0.02)
    path = recorder.stop()
    assert path == partial.with_name(partial.name.replace(PARTIAL, ".wav")) and not partial.exists()
    audio, file_rate = sf.read(path, dtype="float32", always_2d=True)
    mono = audio[:, 0]
    assert file_rate == recorder.sample_rate
    assert len(mono) == recorder.samples_written == recorder.received
    assert np.allclose(strongest_frequencies(mono, file_rate, 3), C_MAJOR, atol=2.0)
    assert loudest > 0.3
    assert not recorder.frames.empty()
    assert recorder.error is None and recorder.dropped == 0
    assert not [t for t in threading.enumerate() if t.name == "recorder-writer"]


@pytest.mark.slow
def test_a_recording_killed_with_sigkill_is_recovered_up_to_its_last_second(sound_server, tmp_path):
    folder = tmp_path / "rec"
    killed = record_and_kill(sound_server, folder, freq=660.0, seconds=3.0)
    assert killed.partial.exists()
    found = recordings.orphans(folder)
    assert [path for path, _ in found] == [killed.partial]
    on_disk = (killed.partial.stat().st_size - 44) // 4  # whole mono float frames the killed writer left
    path = recordings.recover(killed.partial)
    assert not killed.partial.exists() and path.suffix == ".wav"
    audio, rate = sf.read(path, dtype="float32", always_2d=True)
    assert rate == killed.sample_rate
    print(f"\nrecorded {killed.received / rate:.3f} s before SIGKILL, recovered {len(audio) / rate:.3f} s")
    assert len(audio) == on_disk  # recovery keeps every whole frame that reached the disk
    assert np.abs(audio[:, 0]).max() > 0.3 and len(audio) > 2 * rate  # the tone, which played 3 s before the kill
    assert found[0][1] == pytest.approx(len(audio) / rate)
    last_second = audio[-rate:, 0]
    assert peak_frequency(last_second, rate) == pytest.approx(660.0, abs=2.0)
    assert np.abs(last_second).max() > 0.3
    header_frames = int.from_bytes(path.read_bytes()[4:8], "little")  # RIFF size: the header was rewritten
    assert header_frames == path.stat().st_size - 8
    assert recordings.orphans(folder) == []


def test_orphans_without_audio_are_deleted_and_prune_keeps_the_newest(tmp_path):
    (tmp_path / f"recording-20260101-000000{PARTIAL}").write_bytes(b"")  # killed before the header
    assert recordings.orphans(tmp_path) == []
    assert list(tmp_path.iterdir()) == []
    for i in range(14):
        path = tmp_path / f"recording-20260101-0000{i:02d}.wav"
        sf.write(path, np.zeros(100, np.float32), 22050)
        mtime = 1_700_000_000 + i
        os.utime(path, (mtime, mtime))
    in_use = tmp_path / "recording-20260101-000000.wav"
    deleted = recordings.prune(tmp_path, in_use=[str(in_use)], keep=10)
    assert sorted(p.name for p in deleted) == [f"recording-20260101-0000{i:02d}.wav" for i in (1, 2, 3)]
    assert len(list(tmp_path.iterdir())) == 11 and in_use.exists()


def test_the_ring_hands_blocks_over_in_order_and_drops_when_the_writer_is_far_behind():
    ring = InputRing(1000, 2)
    blocks = [np.full((300, 2), i, np.float32) for i in range(4)]
    for block in blocks[:3]:
        ring.put(block, len(block))
    assert np.array_equal(ring.take(), np.concatenate(blocks[:3])) and ring.take() is None
    for block in (blocks[3], blocks[0], blocks[1]):  # wraps around the ring's end
        ring.put(block, len(block))
    ring.put(blocks[2], 300)  # a whole ring unread: dropped, not overwritten
    assert ring.received == 1800 and ring.dropped == 300
    assert np.array_equal(ring.take(), np.concatenate([blocks[3], blocks[0], blocks[1]]))


def _assert_tone_kept(path, received, written, folder):
    audio, rate = sf.read(path, dtype="float32", always_2d=True)
    assert len(audio) == received == written
    assert peak_frequency(audio[-rate // 2:, 0], rate) == pytest.approx(440.0, abs=2.0)
    assert recordings.orphans(folder) == []


# Records the virtual microphone; once told the server is gone or frozen, waits for the recorder to see
# it, stops, reports, and exits (with the stream's close still blocked where the server hangs).
_RECORD_UNTIL_LOST = """
import json, sys, time
from pathlib import Path
from musicgen_gui.audio.devices import INPUT, find_device
from musicgen_gui.audio.recorder import Recorder

def wait_until(condition):  # exits rather than keep the test waiting on a line that never comes
    deadline = time.monotonic() + 60
    while not condition():
        if time.monotonic() > deadline:
            sys.exit("timed out")
        time.sleep(0.02)

recorder = Recorder(find_device(INPUT), folder=Path(sys.argv[1]))
recorder.start()
print("recording", flush=True)
wait_until(lambda: recorder.level > 0.3 and recorder.samples_written > recorder.sample_rate)
print("heard" if recorder.lost_reason() is None else "lost before the fault", flush=True)
sys.stdin.readline()
wait_until(lambda: recorder.lost_reason() is not None)
reason, received = recorder.lost_reason(), recorder.received
path = recorder.stop()  # does not wait for a hung device
print(json.dumps({"reason": reason, "received": received, "written": recorder.samples_written,
                  "path": str(path)}), flush=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["killed", "hung"])
def test_a_microphone_that_goes_away_or_hangs_ends_the_take_keeps_it_and_the_app_still_exits(
        doomed_sound_server, tmp_path, fault):
    """The sound server killed, or hung (SIGSTOP): the take ends and is kept, and the process still
    exits, though a hung stream's close stays blocked in PortAudio (PortAudio's own exit would block
    with it). In a child process: a close blocked here would hold PortAudio for every later test."""
    server = doomed_sound_server
    rate = 44100
    t = np.arange(30 * rate) / rate
    sf.write(tmp_path / "tone.wav", 0.5 * np.sin(2 * np.pi * 440 * t), rate)
    child = subprocess.Popen([sys.executable, "-c", _RECORD_UNTIL_LOST, str(tmp_path / "rec")], text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ, **server.env})
    feeder = None
    try:
        assert child.stdout.readline().startswith("recording")
        feeder = server.play_into_mic(tmp_path / "tone.wav")
        assert child.stdout.readline().startswith("heard")
        if fault == "killed":
            server.kill()
        else:
            server.freeze()
        out, _ = child.communicate("go\n", timeout=60)  # it stops, reports and exits
        report = json.loads(out)
        # A killed server ends the stream; on a busy machine PortAudio may notice only after the
        # stall has been seen, which is as true. A hung one only stalls.
        reasons = ("stopped working", "delivered no sound") if fault == "killed" else ("delivered no sound",)
        assert any(words in report["reason"] for words in reasons)
        _assert_tone_kept(report["path"], report["received"], report["written"], tmp_path / "rec")
    finally:
        if child.poll() is None:
            child.kill()
        if feeder is not None:
            feeder.kill()
            feeder.wait()
        server.kill()


@pytest.mark.slow
def test_a_full_disk_ends_the_take_with_a_message_and_keeps_what_fit(sound_server, tmp_path):
    with tmpfs(tmp_path / "disk", size="256k") as disk:
        recorder = Recorder(find_device(INPUT), folder=disk)
        recorder.start()
        wait_until(lambda: recorder.error is not None)
        path = recorder.stop()
        assert "No space left on device" in recorder.error
        audio, rate = sf.read(path, dtype="float32", always_2d=True)
        assert 0 < len(audio) == recorder.samples_written and rate == recorder.sample_rate
        assert [p.name for p in disk.iterdir()] == [path.name]
