#!/usr/bin/env bash
# Report known vulnerabilities in the pinned requirements with pip-audit (reporting only:
# never fails the build). Needs a vulnerability service (PyPI's JSON API or OSV); where
# the network allows only the package index, packages are listed as "could not be audited".
set -uo pipefail
cd "$(dirname "$0")/.."
[ -x .venv-audit/bin/pip-audit ] || { python3 -m venv .venv-audit && .venv-audit/bin/python -m pip install -q --disable-pip-version-check pip-audit==2.10.1 2> >(grep -v "^WARNING: Location" >&2); }
echo ">> pip-audit -r requirements.txt (report only)"
timeout 120 .venv-audit/bin/pip-audit -r requirements.txt --no-deps --disable-pip --progress-spinner off 2>&1 | grep -v "^WARNING:pip_audit" || true
exit 0
