#!/usr/bin/env bash
# Installs everything xlfuncs needs on a fresh Debian machine: LibreOffice (the spreadsheet
# engine behind `xlfuncs recalc` and the tests), Python inside LibreOffice, poppler (PDF to
# PNG), venv for Debian's python3 (the tests install the built wheel into a fresh venv), and
# the package itself with its command line. `--test` adds the test tools.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(libreoffice-calc-nogui python3-uno libreoffice-script-provider-python poppler-utils python3-venv)

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3}"
# The package with its command line (cli) and the xlwings add-in support (xlwings);
# `--test` adds the test tools. `import xlfuncs` alone needs numpy only.
extras="[cli,xlwings]"
[ "${1:-}" = "--test" ] && extras="[cli,xlwings,test]"
"$PYTHON" -m pip install --quiet --disable-pip-version-check -e ".${extras}"
