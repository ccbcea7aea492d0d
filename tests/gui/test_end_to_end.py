"""Through a real sound server: chord into the virtual mic, record, continue, listen at the speaker monitor."""

import numpy as np
import pytest
import scipy.ndimage
import soundfile as sf
from gui_driver import load
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtWidgets import QApplication
from synth import C_MAJOR

from musicgen_gui.core.features import FADE_SAMPLES
from musicgen_gui.gui.mode import IDLE, PLAYING, RECORDING, STREAMING

RATE = 22050


def lowpass(x, cutoff=3000.0, taps=101):
    """Below ``cutoff`` only: the sound server resamples 22.05 -> 44.1 -> 22.05 kHz at its
    default (low) quality and stores 16-bit, which blurs the top of the untrained test
    model's noisy, clipped output. A short FIR, so nothing leaks between seed and continuation."""
    n = np.arange(taps) - taps // 2
    kernel = np.sinc(2 * cutoff / RATE * n) * np.hamming(taps)
    return np.convolve(x, kernel / kernel.sum(), mode="same").astype(np.float32)


def best_alignment(haystack, needle):
    """(lag, normalised correlation) of ``needle`` inside ``haystack``, by FFT cross-correlation."""
    n = len(haystack) + len(needle)
    corr = np.fft.irfft(np.fft.rfft(haystack, n) * np.conj(np.fft.rfft(needle, n)), n)[: len(haystack) - len(needle)]
    lag = int(np.argmax(corr))
    window = haystack[lag:lag + len(needle)]
    return lag, float(np.dot(window, needle) / (np.linalg.norm(window) * np.linalg.norm(needle)))


def largest_step_from(x, i, radius):
    """The largest sample-to-sample step from the one into sample i to ``radius`` samples after it:
    the seam and what the continuation starts with, not the seed's own last samples (a recording
    stopped mid-chord ends where it was cut)."""
    return float(np.abs(np.diff(x[i - 1:i + radius])).max())


def steps_around(x, i, gap, span):
    """The largest sample-to-sample step in the ``span`` samples either side of i, leaving out ``gap``."""
    return max(np.abs(np.diff(x[i - span:i - gap])).max(), np.abs(np.diff(x[i + gap:i + span])).max())


@pytest.mark.slow
def test_record_a_chord_continue_it_and_hear_it(qtbot, sound_server, make_window, write_chord, tmp_path):
    chord_file = write_chord("long-chord.wav", 8.0)
    window = make_window()
    c = window.controller
    assert window.record_action.isEnabled() and "No" not in window.audio_status.text()
    window.panel.seconds.setValue(3.0)
    window.panel.lead_in.setValue(30.0)  # play the whole seed, then the continuation
    window.panel.fixed_seed.setChecked(True)
    window.panel.rng_seed.setValue(1)

    window.record_action.trigger()
    assert c.mode == RECORDING
    feeder = sound_server.play_into_mic(chord_file)
    qtbot.waitUntil(lambda: window.spectrogram.frame_count > 0 and window.level_meter.value() > 0, timeout=10000)
    assert window.waveform.width() == window.spectrogram.width()  # the meter beside both: one time axis
    recorder = c.audio.recorder
    qtbot.waitUntil(lambda: recorder.samples_written > 3.5 * recorder.sample_rate, timeout=15000)
    # The live waveform: the chord's envelope (0.2 per note, three notes) is drawn as it comes in.
    times, envelope = window.waveform.shown()
    assert times[-1] > 3.0 and np.abs(envelope).max() > 0.3
    assert window.stream_status.text().startswith("● Recording ")
    window.record_action.trigger()  # stop while the chord still sounds: the seed ends mid-chord
    feeder.terminate()
    feeder.wait()
    qtbot.waitUntil(lambda: c.seed.clip is not None)
    assert c.mode == IDLE and not window.stream_status.text().startswith("●")
    assert c.seed.clip.path.startswith(str(tmp_path / "recordings"))
    seconds = len(c.seed.clip.samples) / RATE
    window.waveform.set_region(1.0, seconds)  # skip the silence before the chord arrived

    speaker = sound_server.record_speaker(RATE)
    window.continue_action.trigger()
    assert c.mode == STREAMING
    qtbot.waitUntil(lambda: " s ahead · dropouts " in window.stream_status.text(), timeout=20000)
    qtbot.waitUntil(lambda: c.mode == IDLE, timeout=60000)
    heard = speaker.stop()
    assert c.run.stats["underruns"] == 0 and c.run.stats["xruns"] == 0  # the ring and the device never ran dry
    assert "dropout" not in window.audio_status.text()
    assert window.message_bar.text == ""

    take = c.takes.current
    out = tmp_path / "take.wav"
    c.takes.export(take, str(out), with_seed=True, bits="float")
    qtbot.waitUntil(out.exists)
    recorded = sf.info(c.seed.clip.path)
    info = sf.info(out)  # the recording's own rate and channels, the continuation brought to them
    assert (info.samplerate, info.channels) == (recorded.samplerate, recorded.channels)
    start, end = (round(t * recorded.samplerate) for t in take.region_s)  # the seed, as it is in the recording
    assert info.frames == min(end, recorded.frames) - start + 3 * recorded.samplerate
    seed, continuation = take.seed, take.continuation()
    exported = np.concatenate([seed, continuation])

    # What the speaker played is the take: the seed, then the continuation.
    lag, similarity = best_alignment(lowpass(heard), lowpass(exported))
    assert similarity > 0.95
    played = lowpass(heard[lag:lag + len(exported)])
    assert best_alignment(np.pad(played[:len(seed)], (0, 8)), lowpass(seed))[1] > 0.95
    assert np.sqrt(np.mean(played[len(seed):] ** 2)) > 0.05  # the continuation is not silent
    assert best_alignment(np.pad(played[len(seed):], (0, 8)), lowpass(continuation))[1] > 0.95
    # The seed is a chord: its strongest partials are the three notes.
    spectrum = np.abs(np.fft.rfft(seed * np.hanning(len(seed))))
    peaks = np.fft.rfftfreq(len(seed), 1 / RATE)[np.argsort(spectrum)[-200:]]
    for note in C_MAJOR:
        assert np.min(np.abs(peaks - note)) < 3.0

    # No click at the seam: the step there is no bigger than the signal's own steps around it.
    generated = np.concatenate([seed, continuation])
    assert largest_step_from(generated, len(seed), 3) <= 1.5 * steps_around(generated, len(seed), 3, 1100)
    seam = lag + len(seed)
    assert largest_step_from(heard, seam, 3) <= 1.5 * steps_around(heard, seam, 3, 1100)


@pytest.mark.slow
def test_space_plays_the_selected_part_of_the_seed_even_from_a_checkbox(qtbot, sound_server, make_window,
                                                                       write_chord):
    window = make_window()
    c = window.controller
    assert load(qtbot, window, write_chord("short-chord.wav", 3.0))
    window.waveform.set_region(1.0, 2.0)
    speaker = sound_server.record_speaker(RATE)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    anchor = window.panel.anchor.isChecked()
    window.panel.anchor.setFocus()  # a checkbox takes Space for itself unless the window's shortcut wins
    qtbot.keyClick(window.panel.anchor, Qt.Key.Key_Space)
    assert c.mode == PLAYING and window.panel.anchor.isChecked() == anchor
    qtbot.waitUntil(lambda: c.mode == IDLE, timeout=10000)
    heard = speaker.stop()
    # Exactly the region: it is found in what was heard, and nothing else was played.
    region = c.seed.region_samples()
    assert len(region) == RATE and best_alignment(lowpass(heard), lowpass(region))[1] > 0.95
    # Timed from the sound itself, not from the alignment: the chord repeats every 337 samples,
    # so a block the loaded server drops or repeats moves the best alignment by whole periods.
    sounding = np.flatnonzero(scipy.ndimage.maximum_filter1d(np.abs(heard), 400) > 0.02)
    assert abs(len(sounding) - len(region)) < 0.03 * RATE
    assert sounding[-1] - sounding[0] < len(region) + 0.06 * RATE
    spectrum = np.abs(np.fft.rfft(heard * np.hanning(len(heard))))
    peaks = np.fft.rfftfreq(len(heard), 1 / RATE)[np.argsort(spectrum)[-200:]]
    for note in C_MAJOR:
        assert np.min(np.abs(peaks - note)) < 3.0


@pytest.mark.slow
def test_the_chosen_devices_are_remembered(qtbot, sound_server, make_window, tmp_path):
    from musicgen_gui.gui.settings import AppSettings

    first = make_window()
    box = first.panel.output_device
    other = next(i for i in range(box.count()) if i != box.currentIndex())
    box.setCurrentIndex(other)
    box.activated.emit(other)
    chosen = box.currentData()
    first.close()
    second = make_window(AppSettings(tmp_path / "settings.ini"), model=False)
    assert second.panel.output_device.currentData() == chosen
    assert second.audio_status.text().startswith(f"Audio: {chosen}")


@pytest.mark.slow
def test_the_speaker_picker_lists_the_servers_sinks_and_plays_on_the_one_picked(qtbot, sound_server, make_window,
                                                                               write_chord):
    window = make_window()
    c = window.controller
    box = window.panel.output_device
    labels = [box.itemText(i) for i in range(box.count())]
    assert {"vsink (sound server)", "micfeed (sound server)"} <= set(labels)
    inputs = [window.panel.input_device.itemText(i) for i in range(window.panel.input_device.count())]
    assert {"vmic (sound server)", "silence (sound server)"} <= set(inputs)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    box.setFocus()
    while box.currentText() != "micfeed (sound server)":  # picked with the keyboard, as a user can
        qtbot.keyClick(box, Qt.Key.Key_Down if box.currentIndex() < labels.index("micfeed (sound server)")
                       else Qt.Key.Key_Up)
    assert c.audio.output.name == "micfeed" and window.audio_status.text().startswith("Audio: micfeed (sound server)")
    assert load(qtbot, window, write_chord("chord.wav", 1.0))
    default, chosen = sound_server.record_speaker(RATE), sound_server.record_speaker(RATE, sink="micfeed")
    window.play_action.trigger()
    qtbot.waitUntil(lambda: c.mode == IDLE, timeout=20000)
    at_default, at_chosen = default.stop(), chosen.stop()
    assert np.abs(at_chosen).max() > 0.3 and np.abs(at_default).max() < 0.01


def test_stop_ends_the_take_where_it_was_heard_and_keeps_the_rest_apart(qtbot, sound_server, make_window,
                                                                       write_chord, tmp_path):
    window = make_window()
    c = window.controller
    assert load(qtbot, window, write_chord("chord.wav", 4.0))
    window.panel.seconds.setValue(60.0)
    window.panel.lead_in.setValue(0.0)
    window.continue_action.trigger()
    qtbot.waitUntil(lambda: c.run.playback is not None and c.run.playback.position > RATE, timeout=20000)
    qtbot.waitUntil(lambda: c.run.take.n_samples > c.run.playback.position + RATE // 2)  # generation is ahead
    window.stop_action.trigger()
    take = c.takes.current
    qtbot.waitUntil(lambda: not c.run.generation.running)
    assert RATE <= take.kept < take.n_samples and take.unheard >= RATE // 2
    assert "generated after Stop" in window.stream_status.text()
    out = tmp_path / "heard.wav"
    c.takes.export(take, str(out), with_seed=False, bits="float")
    qtbot.waitUntil(out.exists)
    exported, generated = sf.read(out, dtype="float32")[0], take.continuation()
    assert len(exported) == take.kept
    # It ends as it was heard: faded out where Stop faded the playback out, not cut mid-wave.
    np.testing.assert_array_equal(exported[:-FADE_SAMPLES], generated[:-FADE_SAMPLES])
    assert exported[-1] == 0.0 and np.abs(generated[-FADE_SAMPLES // 4:]).max() > 0.01
    assert np.all(np.abs(exported[-FADE_SAMPLES:]) <= np.abs(generated[-FADE_SAMPLES:]))
    # Through the export dialog, as a user asks for it: the box ticked, Save pressed.
    def tick_and_save():
        dialog = QApplication.activeModalWidget()
        assert dialog.unheard_box.isVisibleTo(dialog) and "generated after Stop" in dialog.unheard_box.text()
        dialog.continuation_only.setChecked(True)
        dialog.path_edit.setText(str(tmp_path / "all.wav"))
        qtbot.mouseClick(dialog.unheard_box, Qt.MouseButton.LeftButton, pos=QPoint(5, dialog.unheard_box.height() // 2))
        assert dialog.unheard_box.isChecked()
        dialog.accept()

    QTimer.singleShot(100, tick_and_save)
    window.export_action.trigger()
    qtbot.waitUntil((tmp_path / "all.wav").exists)
    # Runs on past Stop, to where generation stopped, and fades out there (16-bit, the dialog's default).
    everything = sf.read(tmp_path / "all.wav", dtype="float32")[0]
    generated = take.continuation(unheard=True)
    np.testing.assert_allclose(everything[:-FADE_SAMPLES], generated[:-FADE_SAMPLES], rtol=0, atol=2.0 ** -15)
    assert len(everything) == len(generated) and everything[-1] == 0.0


@pytest.mark.slow
def test_a_b_switches_between_two_takes_at_the_same_point(qtbot, sound_server, make_window, write_chord):
    window = make_window()
    c = window.controller
    assert load(qtbot, window, write_chord("chord.wav", 3.0))
    window.panel.seconds.setValue(4.0)
    window.panel.lead_in.setValue(0.0)
    for _ in range(2):
        window.continue_action.trigger()
        qtbot.waitUntil(lambda: c.mode == IDLE and not c.run.generation.running, timeout=30000)
    first, second = c.takes.model.takes()
    assert c.takes.current is second and window.compare_action.isEnabled()
    window.play_take_action.trigger()
    assert c.mode == PLAYING and c.takes.played is second
    qtbot.waitUntil(lambda: c.takes.playback.position > RATE, timeout=10000)
    window.compare_action.trigger()  # B: the other take, from where the first had got to
    assert c.takes.played is first and c.takes.offset > RATE
    qtbot.waitUntil(lambda: c.takes.playback.position > RATE // 2, timeout=10000)
    window.compare_action.trigger()
    assert c.takes.played is second and c.takes.offset > 1.5 * RATE
    window.stop_action.trigger()
    assert c.mode == IDLE


@pytest.mark.slow
def test_a_change_of_variation_applies_within_2_s_of_what_is_heard(qtbot, sound_server, make_window, write_chord):
    window = make_window()
    c = window.controller
    assert load(qtbot, window, write_chord("chord.wav", 4.0))
    window.panel.seconds.setValue(30.0)
    window.panel.lead_in.setValue(0.0)
    window.continue_action.trigger()
    # Long enough in for generation, 10x faster than real time here, to have run far ahead if it may.
    qtbot.waitUntil(lambda: c.run.playback is not None and c.run.playback.position > 3 * RATE, timeout=30000)
    take, hop = c.run.take, c.features.hop
    window.panel.temperature.setFocus()
    before = window.panel.temperature_value
    heard = c.run.playback.position  # the lead-in is empty: the continuation's samples
    qtbot.keyClick(window.panel.temperature, Qt.Key.Key_PageUp)
    assert window.panel.temperature_value > before
    qtbot.waitUntil(lambda: bool(take.temperature_changes), timeout=10000)
    # Every frame made from here on has the new variation, and no frame made so far lies more
    # than about 2 s (of audio) past what was heard when the key was pressed.
    assert take.n_frames * hop - heard <= 2.2 * RATE
    assert take.temperature_changes[0][0] - heard <= RATE  # the samples: before phase and loudness look-ahead
    window.stop_action.trigger()
