#!/usr/bin/env bash
# Clone HEAD into a temporary folder and run `make TARGET` there with empty pip and wrapgen caches.
# Uncommitted changes are not in the clone: commit first, that is the point.
set -euo pipefail
target=${1:-demo}
repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d /tmp/wrapgen-fresh.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
git clone -q "$repo" "$tmp/wrapgen"
echo "check-fresh: $(git -C "$tmp/wrapgen" log --oneline -1) in $tmp/wrapgen: make $target (empty caches)"
start=$(date +%s)
cd "$tmp/wrapgen"
if env PIP_NO_CACHE_DIR=1 PIP_CACHE_DIR="$tmp/pip-cache" WRAPGEN_CACHE="$tmp/wrapgen-cache" \
        XDG_CACHE_HOME="$tmp/xdg-cache" make "$target"; then
    echo "check-fresh: make $target passed from a fresh clone in $(( $(date +%s) - start )) s"
else
    status=$?
    echo "check-fresh: make $target FAILED from a fresh clone after $(( $(date +%s) - start )) s" >&2
    exit $status
fi
