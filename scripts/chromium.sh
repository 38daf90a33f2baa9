#!/usr/bin/env bash
# Make sure Debian's headless Chromium and its matching chromedriver are installed (the
# admin UI's browser tests drive them; no browser is ever downloaded from elsewhere).
# Installs them with apt-get when missing (root, like CI), then prints the two paths:
#   CHROMIUM=/usr/bin/chromium
#   CHROMEDRIVER=/usr/bin/chromedriver
set -euo pipefail

find_bins() {
  CHROMIUM="$(command -v chromium || true)"
  CHROMEDRIVER="$(command -v chromedriver || true)"
}

find_bins
if [[ -z "$CHROMIUM" || -z "$CHROMEDRIVER" ]]; then
  if [[ "$(id -u)" != 0 ]]; then
    echo "chromium/chromedriver missing and not root: apt-get install chromium chromium-driver" >&2
    exit 1
  fi
  exec 9>/tmp/roster-chromium.lock
  flock 9
  find_bins
  if [[ -z "$CHROMIUM" || -z "$CHROMEDRIVER" ]]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq chromium chromium-driver >&2
    find_bins
  fi
fi
if [[ -z "$CHROMIUM" || -z "$CHROMEDRIVER" ]]; then
  echo "chromium or chromedriver still missing after apt-get install" >&2
  exit 1
fi
echo "CHROMIUM=$CHROMIUM"
echo "CHROMEDRIVER=$CHROMEDRIVER"
