#!/usr/bin/env bash
# Installs everything TorchAudio Lab needs on a fresh Debian machine (run as root, or
# with sudo available): system packages from apt, a virtual environment in .venv, and
# the pinned Python packages. Safe to re-run: nothing already present is reinstalled.
#   scripts/setup.sh          runtime only (FFmpeg + requirements.txt)
#   scripts/setup.sh --dev    plus test tools (Chromium, espeak-ng, requirements-dev.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
dev=0
[ "${1:-}" = "--dev" ] && dev=1

apt_pkgs=()
command -v ffmpeg >/dev/null || apt_pkgs+=(ffmpeg)
[ -d /usr/share/fonts/opentype/noto ] || apt_pkgs+=(fonts-noto-cjk)  # Chinese labels in plots
if [ "$dev" = 1 ]; then
  command -v chromium >/dev/null || apt_pkgs+=(chromium)
  command -v espeak-ng >/dev/null || apt_pkgs+=(espeak-ng)
fi
if [ "${#apt_pkgs[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo ">> apt-get install ${apt_pkgs[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
req=requirements.txt
[ "$dev" = 1 ] && req=requirements-dev.txt
stamp=".venv/.installed-$(cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)-$dev"
if [ ! -f "$stamp" ]; then
  echo ">> pip install -r $req"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r "$req" 2> >(grep -v "^WARNING: Location" >&2)
  touch "$stamp"
fi
