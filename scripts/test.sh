#!/usr/bin/env bash
# Set up (first run only, with Chromium for the browser tests) and run every check:
# ruff lint + format, a pip-audit report (never fails), then the unit, API and browser (e2e) tests. Extra arguments go to
# pytest, e.g. scripts/test.sh tests/unit -x.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
.venv/bin/ruff check .
.venv/bin/ruff format --check .
bash scripts/audit.sh
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
