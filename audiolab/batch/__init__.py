"""Batch: a recipe tried in the app (features, an augment chain, wav2vec2), run over a whole dataset.

``python -m audiolab.batch --recipe RECIPE.json --input DIR_OR_MANIFEST --output DIR
[--engine local|ray] [--workers N]``; see :mod:`audiolab.batch.engine` for the run and
:mod:`audiolab.batch.recipes` for the recipe files.
"""
