#!/usr/bin/env bash
# Install the Debian packages given as arguments that are not installed yet.
# Idempotent and quick (one dpkg-query) when everything is there.
set -euo pipefail
missing=()
for pkg in "$@"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [ "$status" = "installed" ] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "ensure-system: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
        echo "ensure-system: need root to install: ${missing[*]} (run: apt-get install ${missing[*]})" >&2
        exit 1
    fi
else
    SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
# A stale or absent package list makes apt-get install fail; refresh it once per run.
$SUDO apt-get update -qq || echo "ensure-system: 'apt-get update' failed; trying the install with the package lists already here" >&2
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || {
    echo "ensure-system: step 'system packages' failed: apt-get could not install ${missing[*]}; check /etc/apt/sources.list and run 'apt-get install ${missing[*]}' to see why" >&2
    exit 1
}
