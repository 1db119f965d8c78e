"""TorchAudio Lab engine: pure tensor-in, tensor-out audio functions (no UI imports).

Audio inside the engine is always ``float32`` of shape ``(channel, time)`` with values
in [-1, 1], plus an ``int`` sample rate in Hz.
"""

from audiolab.core.errors import AudioLabError

__all__ = ["AudioLabError"]
