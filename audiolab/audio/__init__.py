"""The Audio tab: its computation is :mod:`audiolab.core.io` (info, bounded decode, slice,
resample, encode); this package holds the code snippets that reproduce it."""
