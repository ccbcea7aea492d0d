"""Draws the controller's state on the plots: the seed, a run as it streams, a recording as it comes in.

The controller's timer ticks while something runs; each tick appends what is
new and moves the markers. Everything is on one timeline, the seed clip's
seconds: the seam is where the selected region ends.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject

from ..audio.recorder import PEAK_SECONDS
from .controller import AppController
from .mode import IDLE, PLAYING, RECORDING, STREAMING
from .views import LevelMeter, SpectrogramView, WaveformView

SEED_VIEW_SECONDS = 10.0  # seed shown on the spectrogram before the seam
STREAM_VIEW_SECONDS = 30.0  # the spectrogram scrolls past this while streaming
LIVE_VIEW_SECONDS = 8.0  # the scrolling views while recording


class Display(QObject):
    def __init__(self, controller: AppController, waveform: WaveformView, spectrogram: SpectrogramView,
                 level_meter: LevelMeter, parent=None):
        super().__init__(parent)
        self.c, self.waveform, self.spectrogram, self.level_meter = controller, waveform, spectrogram, level_meter
        self._drawn = 0
        self._seam = 0.0
        self._streaming = False
        self._take = None  # the one streaming
        self._recorder = None
        self._peaks: list[np.ndarray] = []
        controller.seedLoaded.connect(self.show_seed)
        controller.runStarted.connect(self._run_started)
        controller.recordingStarted.connect(self._recording_started)
        controller.tick.connect(self._tick)
        controller.changed.connect(self._changed)

    def show_seed(self) -> None:
        c = self.c
        self.waveform.set_audio(c.seed.samples, c.seed.sample_rate)
        self.show_region()

    def show_region(self) -> None:
        """The end of the selected region, with the seam where the continuation will start."""
        c, cfg = self.c, self.c.features
        if c.seed is None or c.mode != IDLE:
            return
        frames = c.region_frames()[-int(SEED_VIEW_SECONDS * cfg.frames_per_second):]
        seam = c.region[1] / cfg.sample_rate
        self.spectrogram.reset(cfg, origin_s=seam - len(frames) / cfg.frames_per_second + self._first_offset(cfg))
        self.spectrogram.append(frames)
        self.spectrogram.render()
        left = seam - len(frames) / cfg.frames_per_second
        self.spectrogram.set_view(left, seam + min(c.settings.seconds, STREAM_VIEW_SECONDS - SEED_VIEW_SECONDS))
        self.spectrogram.set_markers(seam=seam)

    @staticmethod
    def _first_offset(cfg) -> float:
        """Centre of the first continuation frame after the seam: the seed's frames end on its last sample."""
        return (cfg.hop - cfg.n_fft / 2) / cfg.sample_rate

    def _run_started(self, take, run_start: int) -> None:
        c, cfg = self.c, self.c.features
        self._take = take
        self._seam = take.region_s[1] + run_start / cfg.sample_rate
        if take.parent is None and c.seed is not None and c.seed.path == take.source:
            before = c.region_frames()[-int(SEED_VIEW_SECONDS * cfg.frames_per_second):]
        else:  # an extension: the take it extends, where it was generated in this session
            before = take.frames()[-int(SEED_VIEW_SECONDS * cfg.frames_per_second):]
            before = before if before.shape[1] == cfg.n_bins else before[:0]
        start = self._seam + self._first_offset(cfg) - len(before) / cfg.frames_per_second
        self.spectrogram.reset(cfg, origin_s=start)
        self.spectrogram.append(before)
        self._drawn = take.n_frames
        self._streaming = True
        left = min(start - 0.5 / cfg.frames_per_second, self._seam - 1.0)  # room for the seam's label
        self.spectrogram.set_view(left, max(self._seam + min(take.settings["seconds"], 20.0), left + 5.0))

    def _recording_started(self, recorder) -> None:
        self._recorder, self._peaks = recorder, []
        self.waveform.clear_audio("")
        self.spectrogram.reset(recorder.feature_config, origin_s=0.0, window_s=LIVE_VIEW_SECONDS)
        cfg = self.c.features
        self.spectrogram.set_top(cfg.n_bins * cfg.sample_rate / cfg.n_fft)

    def _changed(self) -> None:
        if self._streaming and self.c.mode != STREAMING:  # the run ended: its last frames, and all of it in view
            self._streaming = False
            self.draw_stream()
            take = self._take  # a take stopped mid-stream: where the listener stopped hearing it
            heard = None if take.heard is None else self._seam + (take.heard - self.c.run_start) / take.sample_rate
            self.spectrogram.set_markers(seam=self._seam, playhead=heard)
            self.spectrogram.fit()
        self.level_meter.setVisible(self.c.mode == RECORDING)
        if self.c.mode == IDLE and self._recorder is not None:  # the recording ended: back to the seed, if any
            self._recorder = None
            self.show_seed() if self.c.seed is not None else self.waveform.clear_audio()
        if self.c.mode != PLAYING:
            self.waveform.set_playhead(None)

    def _tick(self) -> None:
        c = self.c
        if c.mode == RECORDING and self._recorder is not None:
            recorder = self._recorder
            while not recorder.frames.empty():
                self.spectrogram.append(recorder.frames.get_nowait())
            while not recorder.peaks.empty():
                self._peaks.append(recorder.peaks.get_nowait())
            self.spectrogram.render()
            if self._peaks:
                self._peaks = [np.concatenate(self._peaks)]
                self.waveform.show_live(self._peaks[0], PEAK_SECONDS, LIVE_VIEW_SECONDS)
            self.level_meter.set_peak(recorder.level)
        elif c.mode == PLAYING and c.playing is None and c.playback is not None:
            self.waveform.set_playhead((c.play_offset + c.playback.position) / c.features.sample_rate)
        elif c.mode == STREAMING:
            self.draw_stream()

    def draw_stream(self) -> None:
        c, take = self.c, self._take
        new = take.new_frames(self._drawn)
        self._drawn += len(new)
        self.spectrogram.append(new)
        self.spectrogram.render()
        rate = take.sample_rate
        generated = self._seam + (take.n_samples - c.run_start) / rate
        playhead = None
        if c.playback is not None:
            playhead = self._seam + (c.playback.position - c.lead_samples) / rate
        self.spectrogram.set_markers(seam=self._seam, playhead=playhead, generated=generated)
