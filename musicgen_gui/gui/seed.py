"""The seed: loading a file or recording one, the selected region, and its tempo and key.

``SeedController`` owns the clip and the region and says what changed through
signals; slow work (decoding, analysing) runs as the app's background jobs. A file
is decoded and shown first; its spectrogram, tempo and key are worked out once the
window has drawn it (``AppController.when_drawn``), each said by its own signal.
Recording lives here because a finished recording becomes the seed; a cancelled
one (Esc) is kept on disk and listed in Open recent, and the seed stays as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Signal

from ..audio import recorder as recordings
from ..core.audio_io import load_audio
from ..core.errors import MusicgenError
from ..core.features import FeatureConfig, log_power
from ..core.params import MAX_SEED_SECONDS, MIN_SEED_LUFS
from .mode import IDLE, RECORDING

if TYPE_CHECKING:
    from ..core.analysis import MusicAnalysis

DEVICE_LOST = "device lost"  # the message group of a microphone or speaker that went away
UNREAD = "tempo and key unknown"  # the readout where the analysis failed (the message bar says why)


@dataclass(frozen=True)
class SeedClip:
    path: str
    samples: np.ndarray  # mono float32 at the model's rate
    sample_rate: int


def describe(samples: np.ndarray, cfg: FeatureConfig, like: MusicAnalysis | None = None) -> str:
    """The readout of a clip: tempo and key, or "silent"; of a continuation, read as continuing its
    seed, whose analysis is ``like`` (analysis.analyse's)."""
    if len(samples) < cfg.n_fft:
        return ""
    from ..core.analysis import analyse  # here, in the background job: not needed to draw the window

    result = analyse(samples, cfg, like=like)
    return "silent" if result.silent else result.describe()


def _reading(region: np.ndarray, cfg: FeatureConfig) -> tuple[str, float]:
    """A region's readout, and its loudness as the session measures it."""
    from ..core.loudness import seed_loudness  # here, in the background job: not needed to draw the window

    return describe(region, cfg), seed_loudness(region, cfg.sample_rate)


class SeedController(QObject):
    loaded = Signal(object)  # the new SeedClip, shown before its spectrogram is made
    framesReady = Signal(object, object)  # a SeedClip and the log-power frames of all of it
    regionChanged = Signal(int, int)  # the selected part, in samples
    analysed = Signal(str)  # the region's tempo and key ("" while unknown)
    recordingStarted = Signal(object)  # the Recorder
    recordingEnded = Signal()

    def __init__(self, app):
        """``app``: the AppController (mode, features, settings, audio, jobs, messages)."""
        super().__init__(app)
        self.app = app
        self.clip: SeedClip | None = None
        self.region = (0, 0)
        self.analysis = ""
        self.loudness: float | None = None  # of the region's end, as the session measures it; None: not yet
        self.pending = False  # a loaded clip waits for the window to be drawn before it is analysed
        self._features = None  # the FeatureConfig the clip was decoded with
        self._reading = False  # a region's readout is being worked out

    # ----------------------------------------------------------- loading
    def load(self, path: str | Path, remember: bool = True, then=None) -> bool:
        """Decode and analyse ``path`` in the background; ``loaded`` (or a message) when done.
        False if it cannot start now (something is running)."""
        app = self.app
        if app.mode != IDLE:
            return False
        cfg = app.features

        def done(loaded):
            if app.mode != IDLE:
                return
            if cfg != app.features:  # a model with other features came in meanwhile
                self.load(path, remember, then)
                return
            self.clip = clip = SeedClip(str(path), loaded.samples, cfg.sample_rate)
            self._features = cfg
            self.region = (0, len(loaded.samples))
            app.clearMessages.emit()
            if loaded.truncated:
                app.info(f"Only the first {MAX_SEED_SECONDS / 60:.0f} minutes of {Path(path).name} are used.")
            if remember:
                app.app_settings.add_recent_file(str(path))
            self.loaded.emit(clip)
            self.loudness = None
            self._set_analysis("")
            self.pending = True
            app.when_drawn(lambda: self._fill_in(clip))
            app.seed_changed()
            if then is not None:
                then()

        app.jobs.run(lambda: load_audio(path, cfg.sample_rate, max_seconds=MAX_SEED_SECONDS), done, app.error)
        return True

    def _fill_in(self, clip: SeedClip) -> None:
        """The clip is on screen: its spectrogram, then its tempo and key, in the background."""
        self.pending = False
        if clip is not self.clip:
            return
        cfg = self._features

        def done(frames):
            if clip is self.clip:
                self.framesReady.emit(clip, frames)

        self.app.jobs.run(lambda: log_power(clip.samples, cfg), done, self.app.error)
        self._analyse()

    def reload(self) -> None:
        """The model's features changed (its rate, its frames): decode the same file again for them."""
        if self.clip is not None and self._features != self.app.features:
            self.load(self.clip.path, remember=False)

    def set_region(self, start: int, end: int) -> None:
        if self.clip is None or (start, end) == self.region:
            return
        self.region = (start, end)
        self.regionChanged.emit(start, end)
        self._analyse(new_clip=False)
        self.app.seed_changed()

    def region_samples(self) -> np.ndarray:
        return self.clip.samples[self.region[0]:self.region[1]]

    def key(self) -> tuple:
        """What a continuation of the region is made from (a primed run must match it)."""
        return ("seed", self.clip.path, len(self.clip.samples), self.region)

    def blocker(self) -> str | None:
        """Why the region cannot be continued, if it cannot."""
        cfg = self.app.features
        length = self.region[1] - self.region[0]
        if length < cfg.min_seed_samples:
            return (f"the seed is too short ({length / cfg.sample_rate:.2f} s); "
                    f"it must be at least {cfg.min_seed_samples / cfg.sample_rate:.2f} s long")
        if self.loudness is not None and not self.loudness >= MIN_SEED_LUFS:  # the session would refuse it
            level = "no sound at all" if self.loudness == -np.inf else f"{self.loudness:.0f} LUFS"
            return f"the selected part of the seed is silent ({level}); select or record music"
        return None

    def _analyse(self, new_clip: bool = True) -> None:
        """Read the region's tempo, key and loudness in the background. One reading at a time: while
        a selection is dragged, the region as it is when the last reading ends is read next, and
        the readout keeps the last region's text until then rather than blinking empty."""
        self.loudness = None
        if new_clip:
            self._set_analysis("")  # another clip's readout is not this one's
        if self._reading:
            return
        samples, cfg, wanted = self.region_samples().copy(), self.app.features, (self.clip, self.region)
        self._reading = True

        def current() -> bool:
            self._reading = False
            if (self.clip, self.region) == wanted:
                return True
            if self.clip is not None:
                self._analyse(new_clip=False)  # the region moved on while this one was read
            return False

        def done(result):
            if current():
                self.loudness = result[1]
                self._set_analysis(result[0])
                self.app.changed.emit()  # Continue, if it is silent

        def failed(message):
            if current():
                self._set_analysis(UNREAD)
                self.app.error(f"The tempo and key could not be read: {message}")

        self.app.jobs.run(lambda: _reading(samples, cfg), done, failed)

    def _set_analysis(self, text: str) -> None:
        self.analysis = text
        self.analysed.emit(text)

    # --------------------------------------------------------- recording
    def toggle_recording(self) -> None:
        """R: start recording, or stop and make the recording the seed."""
        app = self.app
        if app.mode == RECORDING:
            self.finish_recording()
        elif app.enabled("record") and app.mode == IDLE:
            try:
                recorder = app.audio.start_recording()
            except MusicgenError as exc:
                app.error(str(exc))
                app.changed.emit()
                return
            app.set_mode(RECORDING)
            self.recordingStarted.emit(recorder)

    def status(self) -> str:
        rec = self.app.audio.recorder
        return f"● Recording {rec.samples_written / rec.sample_rate:.1f} s" if rec and rec.sample_rate else ""

    def cancel_recording(self) -> None:
        """Esc: stop recording and keep the file (in Open recent), but leave the seed as it was."""
        if self.app.mode != RECORDING:
            return
        recorder = self._stop_recording(lost=False)
        if recorder.path is None:
            self.app.info("Recording cancelled; nothing was recorded.")
            return
        self.app.app_settings.add_recent_file(str(recorder.path))
        self.app.info(f"Recording cancelled; the {recorder.samples_written / recorder.sample_rate:.1f} s recorded "
                      f"are kept as {recorder.path} (File ▸ Open recent). The seed is unchanged.")

    def finish_recording(self, lost: str | None = None) -> None:
        """Stop recording and make it the seed; ``lost``: why the microphone stopped on its own."""
        app = self.app
        if app.mode != RECORDING:
            return
        recorder = self._stop_recording(lost=lost is not None)
        path = recorder.path
        if path is None:
            app.error(f"Recording stopped: {lost}. Nothing was recorded." if lost else "Nothing was recorded.",
                      DEVICE_LOST if lost else None)
            return
        seconds = recorder.samples_written / recorder.sample_rate

        def loaded():
            if lost is not None:
                app.error(f"Recording stopped: {lost}. The {seconds:.1f} s recorded so far are the seed "
                          f"(saved as {path}).", DEVICE_LOST)
            elif recorder.error:
                app.error(recorder.error)
            elif recorder.overflows or recorder.dropped:
                app.info("The recording has short gaps: the computer was too busy.")
            else:
                app.info(f"Recorded {seconds:.1f} s to {path}")

        self.load(path, then=loaded)

    def _stop_recording(self, lost: bool):
        recorder = self.app.audio.stop_recording(lost=lost)
        self.app.set_mode(IDLE)
        self.recordingEnded.emit()
        return recorder

    def recover(self, path: Path) -> None:
        if self.app.mode != IDLE:
            return
        try:
            finished = recordings.recover(path)
        except MusicgenError as exc:
            self.app.error(str(exc))
            return
        self.load(finished, then=lambda: self.app.info(
            f"Recovered the interrupted recording as the seed (saved as {finished})."))

    def tick(self) -> None:
        recorder = self.app.audio.recorder
        if self.app.mode == RECORDING and recorder is not None and recorder.error:
            self.finish_recording()
