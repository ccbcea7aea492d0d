"""Draws on the plots what the controller's parts report: the seed, a take, a run as it streams, a
recording as it comes in, and the playhead.

The waveform and the spectrogram share one time axis (their x is linked). Two
things can be shown on it: the seed clip, in its own seconds, with the selected
region and the seam where a continuation would start; or a take, its seed from
0 s and its continuation after the seam. Selecting, playing or generating a take
shows it; loading, selecting or playing the seed shows the seed. Everything
comes in through the parts' signals; nothing here reads their state.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from ..audio.recorder import PEAK_SECONDS
from ..core.features import align_to_frames, log_power
from .spectrogram import Picture, SpectrogramView, picture
from .views import LevelMeter
from .waveform import WaveformView

SEED_VIEW_SECONDS = 10.0  # seed shown before the seam while a take streams
STREAM_VIEW_SECONDS = 20.0  # and continuation, before the view scrolls
STREAM_SEED_SECONDS = 60.0  # the most of the seed drawn on the spectrogram while streaming (it costs time)
LIVE_VIEW_SECONDS = 8.0  # the scrolling views while recording
WAVEFORM_EVERY_TICKS = 10  # a streaming take's waveform is redrawn this rarely: it is all of it each time
PEAK_STEP = 256  # samples per point of a streaming take's waveform (its envelope; sample for sample once done)
LONG_TAKE_SECONDS = 60.0  # a longer take's spectrogram is made in the background (0.5-1 s for 10 minutes)


def take_title(take) -> str:
    source = Path(take.source).name if take.source else "a recording"
    return (f"{take.name}: seed {source} {take.region_s[0]:.2f}–{take.region_s[1]:.2f} s "
            f"+ {take.kept / take.sample_rate:.1f} s continuation")


class Display(QObject):
    shownChanged = Signal(object)  # what the views show: None for the seed, else the take

    def __init__(self, controller, waveform: WaveformView, spectrogram: SpectrogramView, level_meter: LevelMeter,
                 parent=None):
        super().__init__(parent)
        self.c, self.waveform, self.spectrogram, self.level_meter = controller, waveform, spectrogram, level_meter
        self._clip = None
        self._frames = None  # the seed clip's log-power frames (None: still being made)
        self._region = (0, 0)
        self._selected = None  # the take selected in the list
        self._shown = None  # the take the views show (None: the seed, if any)
        self._streaming = None  # the take being generated
        self._seam = 0.0
        self._run_start = 0  # the sample of the streaming take where its run started
        self._run_frames = 0  # the take's frames before it (an extension's, drawn from its audio)
        self._drawn = 0  # the streaming take's frames handled so far
        self._ticks = 0
        self._recorder = None
        self._peaks: list[np.ndarray] = []
        c = controller
        c.seed.loaded.connect(self.seed_loaded)
        c.seed.framesReady.connect(self._seed_frames)
        c.seed.regionChanged.connect(self._region_changed)
        c.seed.recordingStarted.connect(self._recording_started)
        c.seed.recordingEnded.connect(self._recording_ended)
        c.run.started.connect(self._run_started)
        c.run.progress.connect(self._run_progress)
        c.run.ended.connect(self._run_ended)
        c.takes.selected.connect(self._take_selected)
        c.takes.playing.connect(self._playing)
        c.takes.position.connect(self._position)
        c.takes.stopped.connect(lambda: self._set_playhead(None))
        c.tick.connect(self._tick)

    def _cfg(self, rate: int):
        cfg = self.c.features
        return cfg if cfg.sample_rate == rate else dataclasses.replace(cfg, sample_rate=rate)

    # -------------------------------------------------------------- the seed
    def seed_loaded(self, clip) -> None:
        """A new seed clip, whole, selected end to end (the window also passes the one loaded before
        the plots were built)."""
        self._clip, self._frames, self._region = clip, None, (0, len(clip.samples))
        self.show_seed()

    def _seed_frames(self, clip, frames) -> None:
        """The seed's spectrogram, made after its waveform was shown."""
        if clip is not self._clip:
            return
        self._frames = frames
        if self._shown is None and self._streaming is None and self._recorder is None:  # the seed is in view
            self._draw_seed_frames()

    def _draw_seed_frames(self) -> None:
        clip = self._clip
        cfg = self._cfg(clip.sample_rate)
        self.spectrogram.reset(cfg, origin_s=cfg.n_fft / 2 / cfg.sample_rate)
        if self._frames is None:
            self.spectrogram.show_hint("computing spectrogram…")
        else:
            self.spectrogram.append(self._frames)
            self.spectrogram.render()
        self.spectrogram.set_markers(seam=self._region[1] / clip.sample_rate)

    def _region_changed(self, start: int, end: int) -> None:
        self._region = (start, end)
        if self._shown is None and self._clip is not None:
            self.spectrogram.set_markers(seam=end / self._clip.sample_rate)

    def show_seed(self) -> None:
        """The seed clip, whole, with the selected region and the seam at its end."""
        clip = self._clip
        if clip is None or self._streaming is not None:
            return
        self._shown = None
        self.waveform.set_audio(clip.samples, clip.sample_rate, self._region)
        self.waveform.setXRange(0, len(clip.samples) / clip.sample_rate, padding=0.01)
        self._draw_seed_frames()
        self.shownChanged.emit(None)

    # ------------------------------------------------------------- a take
    def _take_selected(self, take) -> None:
        """Show the take selected; while one streams, it stays in view (the selection shows when it ends)."""
        self._selected = take
        if self._streaming is not None:
            return
        if take is not None:
            self.show_take(take)
        elif self._shown is not None:  # the take shown was deleted
            self.show_seed() if self._clip is not None else self._clear()

    def _clear(self) -> None:
        self._shown = None
        self.waveform.clear_audio()
        self.spectrogram.reset(self.c.features, origin_s=0.0)
        self.shownChanged.emit(None)

    def show_take(self, take=None) -> None:
        """A take, whole (the one selected if none is given): seed, continuation, and where it was stopped."""
        take = take or self._selected
        if take is None or self._streaming is not None:
            return
        cfg, rate = self._cfg(take.sample_rate), take.sample_rate
        self._shown = take
        continuation = take.continuation()  # what was generated after Stop is only offered on export
        self.waveform.show_take(take_title(take), take.seed, continuation, rate)
        audio = np.concatenate([take.seed, continuation])
        self._seam = len(take.seed) / rate
        self.waveform.set_playhead(None)
        self.waveform.setXRange(0, len(audio) / rate, padding=0.01)
        log = self.spectrogram.log_frequency
        if len(audio) <= LONG_TAKE_SECONDS * rate:
            self._draw_take_frames(take, picture(log_power(audio, cfg), cfg, log))
        else:  # seconds of work, image and all: in the background, as a loaded seed's frames
            self.spectrogram.reset(cfg, origin_s=cfg.n_fft / 2 / rate)
            self.spectrogram.show_hint("computing spectrogram…")
            self.c.jobs.run(lambda: picture(log_power(audio, cfg), cfg, log),
                            lambda ready: self._draw_take_frames(take, ready),
                            lambda text: self._take_frames_failed(take, text))
        self.shownChanged.emit(take)

    def _in_view(self, take) -> bool:
        return take is self._shown and self._streaming is None

    def _draw_take_frames(self, take, ready: Picture) -> None:
        if not self._in_view(take):
            return  # another take, or a run, is in view now
        cfg, rate = self._cfg(take.sample_rate), take.sample_rate
        self.spectrogram.reset(cfg, origin_s=cfg.n_fft / 2 / rate)
        self.spectrogram.show_picture(ready)
        stopped = None if take.heard is None else self._seam + take.kept / rate
        self.spectrogram.set_markers(seam=self._seam, playhead=stopped)

    def _take_frames_failed(self, take, text: str) -> None:
        """Said where the spectrogram would be, and why in the message bar; the take and its waveform
        stay as they are (showing the take again tries again)."""
        if not self._in_view(take):
            return  # not asked for any more
        self.spectrogram.show_hint("no spectrogram: it could not be made")
        self.c.error(f"The spectrogram of {take.name} could not be made: {text}")

    # ---------------------------------------------------------------- a run
    def _run_started(self, take, run_start: int, first_frame: int, lead: int) -> None:
        rate = take.sample_rate
        cfg = self._cfg(rate)
        self._streaming = self._shown = take
        self._peaks, self._enveloped = [], 0
        before = np.concatenate([take.seed, take.continuation(unheard=True)[:run_start]])
        drawn = align_to_frames(before[-int(STREAM_SEED_SECONDS * rate):], cfg)
        self.spectrogram.reset(cfg, origin_s=(len(before) - len(drawn) + cfg.n_fft / 2) / rate)
        self.spectrogram.append(log_power(drawn, cfg))
        self.spectrogram.render()
        self.waveform.show_take(take_title(take), take.seed, before[len(take.seed):], rate)
        self._seam = len(take.seed) / rate  # where the continuation starts (an extension's run starts later)
        self._run_start, self._run_frames = run_start, first_frame
        self._drawn = first_frame
        start_s = len(before) / rate
        left = max(0.0, start_s - SEED_VIEW_SECONDS)
        self.spectrogram.set_view(left, start_s + min(take.params.seconds, STREAM_VIEW_SECONDS))
        self.spectrogram.set_markers(seam=self._seam)
        self.shownChanged.emit(take)

    def _run_progress(self, take, heard: int | None) -> None:
        generated = take.n_samples  # read once: the worker goes on adding
        cfg = self._cfg(take.sample_rate)
        # A frame is made a second or so before the samples it sounds as (phase reconstruction and
        # the leveller look ahead): only the frames whose columns end by the last sample made are
        # drawn, so that the image ends where the "generated" marker is.
        ready = self._run_frames + (generated - self._run_start + (cfg.n_fft - cfg.hop) // 2) // cfg.hop
        new = take.new_frames(self._drawn)[:max(0, ready - self._drawn)]
        self._drawn += len(new)
        self.spectrogram.append(new)
        self.spectrogram.render()
        rate = take.sample_rate
        self._ticks += 1
        if self._ticks % WAVEFORM_EVERY_TICKS == 0:
            self._draw_peaks(take)
            self.waveform.setTitle(take_title(take))
        seed_s = len(take.seed) / rate
        playhead = None if heard is None else seed_s + heard / rate
        self.spectrogram.set_markers(seam=self._seam, playhead=playhead, generated=seed_s + generated / rate)
        self.waveform.set_playhead(playhead)

    def _draw_peaks(self, take) -> None:
        """Only the samples new since the last time are reduced to peaks."""
        samples = take.continuation(unheard=True)
        whole = (len(samples) - self._enveloped) // PEAK_STEP * PEAK_STEP
        new = samples[self._enveloped:self._enveloped + whole]
        self._enveloped += whole
        self._peaks = [np.concatenate(self._peaks + [np.abs(new).reshape(-1, PEAK_STEP).max(axis=1)])]
        self.waveform.set_continuation_peaks(self._peaks[0], PEAK_STEP / take.sample_rate)

    def _run_ended(self, take) -> None:
        """The take selected, drawn again from its audio (the frames streamed run ahead of the samples made
        from them); the seed if none is (a run stopped before it made anything leaves no take)."""
        self._streaming = None
        if self._selected is not None:
            self.show_take(self._selected)
        else:
            self.show_seed()

    # ------------------------------------------------------------ playback
    def _playing(self, take, offset: int) -> None:
        if take is None and self._shown is not None:
            self.show_seed()
        elif take is not None and take is not self._shown:
            self.show_take(take)

    def _position(self, take, seconds: float) -> None:
        self._set_playhead(seconds if take is None else len(take.seed) / take.sample_rate + seconds)

    def _set_playhead(self, x: float | None) -> None:
        self.waveform.set_playhead(x)
        if self._shown is not None:
            self.spectrogram.set_markers(seam=self._seam, playhead=x)
        elif self._clip is not None:
            self.spectrogram.set_markers(seam=self._region[1] / self._clip.sample_rate, playhead=x)

    # ----------------------------------------------------------- recording
    def _recording_started(self, recorder) -> None:
        self._recorder, self._peaks = recorder, []
        self.level_meter.show()
        self.waveform.clear_audio("")
        self.spectrogram.reset(recorder.feature_config, origin_s=0.0, window_s=LIVE_VIEW_SECONDS)
        cfg = self.c.features
        self.spectrogram.set_top(cfg.n_bins * cfg.sample_rate / cfg.n_fft)

    def _recording_ended(self) -> None:
        self._recorder = None
        self.level_meter.hide()
        self.spectrogram.set_window(None)
        if self._shown is not None:
            self.show_take(self._shown)
        elif self._clip is not None:
            self.show_seed()
        else:
            self.waveform.clear_audio()

    def _tick(self) -> None:
        recorder = self._recorder
        if recorder is None:
            return
        while not recorder.frames.empty():
            self.spectrogram.append(recorder.frames.get_nowait())
        while not recorder.peaks.empty():
            self._peaks.append(recorder.peaks.get_nowait())
        self.spectrogram.render()
        if self._peaks:
            self._peaks = [np.concatenate(self._peaks)]
            self.waveform.show_live(self._peaks[0], PEAK_SECONDS, LIVE_VIEW_SECONDS)
        self.level_meter.set_peak(recorder.level)
