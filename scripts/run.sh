#!/usr/bin/env bash
# Set up (first run only) and launch TorchAudio Lab on http://127.0.0.1:7860.
# Extra arguments go to app.py, e.g. --device cuda --port 8000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python app.py "$@"
