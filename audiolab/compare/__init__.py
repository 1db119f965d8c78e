"""Compare two clips (A/B): metrics, loudness and the difference spectrogram (``compute``), code snippets."""
