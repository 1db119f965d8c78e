"""``python -m audiolab.batch``: run a recipe from the app over a folder or a manifest of audio files.

Exit status: 0 when every file succeeded, 1 when any failed (the others are still written),
2 when the run could not start (bad recipe, input or output folder).
"""

from __future__ import annotations

import argparse
import logging
import sys

from tqdm import tqdm

from audiolab.batch import engine, inputs, recipes
from audiolab.core import cache
from audiolab.core.errors import AudioLabError

EXAMPLE = "python -m audiolab.batch --recipe recipe.json --input clips/ --output out/ --engine local --workers 4"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(prog="python -m audiolab.batch", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=f"example: {EXAMPLE}")  # fmt: skip
    parser.add_argument("--recipe", required=True, help="recipe .json downloaded from the app")
    parser.add_argument("--input", required=True, help="folder (searched recursively) or .csv/.jsonl manifest")
    parser.add_argument("--output", required=True, help="folder for the outputs and manifest.jsonl")
    parser.add_argument("--engine", choices=engine.ENGINES, default="local",
                        help="local: worker processes on this machine; ray: Ray Data on RAY_ADDRESS's cluster "
                             "(or a local Ray)")  # fmt: skip
    parser.add_argument("--workers", type=int, default=None, help="parallel workers (default: one per CPU core)")
    parser.add_argument(
        "--device",
        choices=["cpu", "cuda", "auto"],
        default="cpu",
        help="device of the local engine (the ray engine puts wav2vec2 on the cluster's GPUs)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser.error("--workers must be at least 1")
    return args


class Progress:
    """A tqdm bar (files/s, ETA) counting finished files and failures."""

    def __init__(self, quiet: bool) -> None:
        self.quiet, self.bar, self.failed = quiet, None, 0

    def start(self, todo: int, done: int) -> None:
        if done:
            print(f"{done} file(s) already done: skipped.", file=sys.stderr)
        self.bar = tqdm(total=todo, unit="file", disable=self.quiet, file=sys.stderr, dynamic_ncols=True)

    def record(self, record: dict) -> None:
        if record["status"] != "ok":
            self.failed += 1
            self.bar.set_postfix_str(f"{self.failed} failed", refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def main(argv: list[str] | None = None) -> int:
    """Run the batch; returns the exit status."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    progress = Progress(args.quiet)
    try:
        cache.set_default_device(args.device)
        recipe = recipes.read_recipe(args.recipe)
        files = inputs.list_inputs(args.input, args.output)
        summary = engine.run_batch(recipe, files, args.output, engine=args.engine, workers=args.workers,
                                   on_start=progress.start, on_record=progress.record)  # fmt: skip
    except (AudioLabError, RuntimeError) as err:
        progress.close()
        print(f"error: {err}", file=sys.stderr)
        return 2
    progress.close()
    print(f"{summary.total} file(s): {summary.ok} ok ({summary.skipped} from an earlier run), {summary.failed} "
          f"failed, {summary.seconds:.1f} s. Manifest: {summary.manifest}")  # fmt: skip
    return summary.exit_status


if __name__ == "__main__":
    sys.exit(main())
