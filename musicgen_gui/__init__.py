"""musicgen-gui: continue music with a frame-predicting LSTM over log-power STFT frames."""

__version__ = "0.1.0"
