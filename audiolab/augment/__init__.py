"""The Augment tab: augmentation ops and seeded chains (``compute``) and code snippets."""
