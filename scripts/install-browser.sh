#!/usr/bin/env bash
# Debian's Chromium for the dashboard's end-to-end browser test (Playwright drives it through
# executable_path; Playwright's own browser download is not used).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
  SUDO=sudo
else
  SUDO=
fi
if command -v apt-get >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
else
  echo "install Chromium (chromium on PATH) to run the browser test" >&2
fi
