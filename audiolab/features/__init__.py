"""The Features tab: every torchaudio feature (``compute``), its figures and code snippets."""
