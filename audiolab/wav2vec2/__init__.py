"""The wav2vec2 tab: models (torchaudio bundles, Hugging Face and local checkpoints), chunked
inference, CTC and forced alignment (``compute``), the micro-batcher, figures and snippets."""
