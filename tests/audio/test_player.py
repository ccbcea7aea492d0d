import os
import signal
import time

import numpy as np
import pytest
import scipy.ndimage
import synth
from virtual_sound import wait_until

from musicgen_gui.audio.devices import OUTPUT, find_device
from musicgen_gui.audio.player import Player

RATE = 22050


def tone(seconds, freq=440.0, amp=0.5):
    return synth.tone(freq, seconds, RATE, amp)


def play_and_capture(server, samples, stop_after=None):
    """Play ``samples`` (stopping once ``stop_after`` samples were heard) and record the speaker."""
    player = Player(find_device(OUTPUT))
    player.open(RATE)
    capture = server.record_speaker(RATE)
    playback = player.play(RATE)
    playback.write(samples)
    playback.finish()
    if stop_after is not None:
        wait_until(lambda: playback.position >= stop_after)
        playback.stop()
    wait_until(lambda: playback.finished, timeout=len(samples) / RATE + 10)
    time.sleep(0.1)
    heard = capture.stop()
    player.close()
    return playback, heard


def test_an_audio_process_that_cannot_start_is_a_clear_error_and_the_player_closes(sound_server, monkeypatch):
    """The system refusing a new process (here made to) is said in one line; nothing half-started is
    left for close() to trip on, and the next open starts the process."""
    import multiprocessing.process

    from musicgen_gui.audio.devices import AudioDeviceError

    def refuse(process):
        raise OSError(11, "Resource temporarily unavailable")

    player = Player(find_device(OUTPUT))
    with monkeypatch.context() as patched:
        patched.setattr(multiprocessing.process.BaseProcess, "start", refuse)
        with pytest.raises(AudioDeviceError, match="^cannot start the audio process: .*Resource temporarily"):
            player.open(RATE)
    assert player.lost_reason() is None and player.pid is None
    player.close()
    player.open(RATE)
    assert player.pid is not None
    player.close()


@pytest.mark.slow
def test_tone_arrives_at_the_speaker_monitor(sound_server):
    playback, heard = play_and_capture(sound_server, tone(1.5))
    spectrum = np.abs(np.fft.rfft(heard))
    peak = np.fft.rfftfreq(len(heard), 1 / RATE)[np.argmax(spectrum)]
    assert abs(peak - 440.0) < 2.0
    assert np.abs(heard).max() > 0.4
    assert playback.underruns == 0 and playback.xruns == 0
    assert playback.first_sound_time is not None


@pytest.mark.slow
def test_a_device_underflow_is_counted_and_the_position_follows_what_is_heard(sound_server):
    """The audio process is held (SIGSTOP) for 0.3 s mid-tone, as a busy machine holds it: the
    device runs dry, which is counted, and the position still says what has been heard."""
    player = Player(find_device(OUTPUT))
    player.open(RATE)
    capture = sound_server.record_speaker(RATE)
    playback = player.play(RATE)
    playback.write(tone(10.0))
    playback.finish()
    wait_until(lambda: playback.position > RATE // 2)
    os.kill(player.pid, signal.SIGSTOP)
    time.sleep(0.3)
    os.kill(player.pid, signal.SIGCONT)
    wait_until(lambda: playback.position >= 2 * RATE)
    heard_then = playback.position
    playback.stop()
    wait_until(lambda: playback.finished)
    time.sleep(0.1)
    heard = capture.stop()
    player.close()
    assert playback.xruns >= 1 and player.underflows == playback.xruns
    sounding = int((scipy.ndimage.maximum_filter1d(np.abs(heard), 60) > 0.01).sum())  # the gap left out
    # Everything the position counted was heard, and after Stop only what the device still held
    # (its latency) and the fade-out.
    assert heard_then <= sounding <= heard_then + (player.latency + 0.1) * RATE


def test_stop_fades_out_without_a_click(sound_server):
    playback, heard = play_and_capture(sound_server, tone(10.0), stop_after=RATE // 2)
    loud = np.flatnonzero(np.abs(heard) > 0.01)
    # Heard until the stop (its position counts what reached the speaker), and not to the tone's end.
    assert RATE // 4 <= loud[-1] - loud[0] < 9 * RATE
    assert playback.silent_time is not None
    # A sine's largest step between samples is amp*2*pi*f/rate (about 0.063);
    # cutting it off mid-wave would step by up to 0.5. Only the stop is judged: the
    # server's capture can glitch once as the sound starts.
    steps = np.abs(np.diff(heard[loud[0] + RATE // 10:]))
    where = int(steps.argmax())
    assert playback.xruns == 0
    assert steps.max() < 0.1, (f"a step of {steps.max():.3f} at sample {where}; sound from {loud[0]} to {loud[-1]}, "
                               f"{playback.xruns} device underflows")


def test_a_playback_played_to_its_end_fades_out_without_a_click(sound_server):
    source = tone(22063 / RATE)  # 440.25 cycles: it ends at the top of a wave
    assert abs(source[-1]) > 0.45
    playback, heard = play_and_capture(sound_server, source)
    loud = np.flatnonzero(np.abs(heard) > 0.01)
    assert 0.9 * len(source) < loud[-1] - loud[0] < 1.1 * len(source)
    steps = np.abs(np.diff(heard[loud[0] + RATE // 10:]))  # the capture can glitch as the sound starts
    assert playback.xruns == 0 and playback.underruns == 0
    assert steps.max() < 0.1, f"a step of {steps.max():.3f} at sample {int(steps.argmax())}"


@pytest.mark.slow
def test_a_new_playback_waits_for_the_old_one_to_fade(sound_server):
    player = Player(find_device(OUTPUT))
    player.open(RATE)
    capture = sound_server.record_speaker(RATE)
    first = player.play(RATE)
    first.write(tone(2.0, freq=440.0))
    wait_until(lambda: first.position > RATE // 2)  # long enough for the capture to have started
    second = player.play(RATE)
    second.write(tone(0.5, freq=660.0))
    second.finish()
    wait_until(lambda: second.finished)
    time.sleep(0.1)
    heard = capture.stop()
    player.close()
    assert first.done and first.silent_time is not None  # faded out, not cut off
    # What the speaker played: the first tone ends (faded) before the second begins; they never overlap.
    frames = heard[:len(heard) // 2205 * 2205].reshape(-1, 2205) * np.hanning(2205)  # 100 ms: bins of 10 Hz
    spectrum = np.abs(np.fft.rfft(frames, axis=1))
    first_on = np.flatnonzero(spectrum[:, 44] > 0.1 * spectrum.max())  # 440 Hz
    second_on = np.flatnonzero(spectrum[:, 66] > 0.1 * spectrum.max())  # 660 Hz
    assert len(first_on) and len(second_on)
    assert first_on[-1] <= second_on[0]


@pytest.mark.slow
@pytest.mark.parametrize("failure", ["server killed", "server frozen", "audio process killed"])
def test_a_speaker_that_goes_away_or_hangs_is_reported(doomed_sound_server, failure):
    player = Player(find_device(OUTPUT))
    playback = player.play(RATE)
    playback.write(tone(2.0))
    wait_until(lambda: playback.position > 0)
    assert player.lost_reason() is None
    if failure == "server killed":
        doomed_sound_server.kill()
    elif failure == "server frozen":
        doomed_sound_server.freeze()
    else:
        os.kill(player.pid, signal.SIGKILL)
    wait_until(lambda: player.lost_reason() is not None)
    assert {"server killed": "stopped working", "server frozen": "played nothing for 3 s",
            "audio process killed": "the audio process ended"}[failure] in player.lost_reason()
    playback.stop()
    assert playback.write(tone(60.0)) is False  # a producer is not left waiting for a dead device
    player.close()
    assert player.lost_reason() is None


@pytest.mark.skipif(os.geteuid() != 0, reason="real-time scheduling needs privileges (root, or RLIMIT_RTPRIO)")
def test_the_audio_process_and_its_callback_thread_run_real_time(sound_server):
    player = Player(find_device(OUTPUT))
    playback = player.play(RATE)
    playback.write(tone(0.5))
    wait_until(lambda: playback.position > 0)  # PortAudio's callback thread is running
    pid = player.pid
    policies = [os.sched_getscheduler(int(tid)) for tid in os.listdir(f"/proc/{pid}/task")]
    main = os.sched_getscheduler(pid)  # a process's first thread has its pid
    player.close()
    # The main thread, and the threads made after it switched: PortAudio's callback thread and the
    # sound server client's among them.
    assert main == os.SCHED_RR and policies.count(os.SCHED_RR) >= 3
