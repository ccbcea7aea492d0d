"""The engine: features, model, generation, phase, IO and training.

Nothing in this package imports Qt, pyqtgraph or sounddevice (an import-linter
contract in pyproject.toml enforces it), and TensorFlow is imported lazily, only
by training code.
"""
