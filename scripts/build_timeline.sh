#!/usr/bin/env bash
# Rebuilds the timeline's browser module (components/timeline/dist/) from its sources with the
# pinned esbuild. Hugging Face Spaces does not run npm, so dist/ is committed; a unit test fails
# when dist/ was not rebuilt after a change to the sources.
set -euo pipefail
cd "$(dirname "$0")/../components/timeline"
npm ci --no-audit --no-fund --silent
node build.mjs
