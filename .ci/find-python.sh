#!/usr/bin/env bash
# Usage: .ci/find-python.sh 3.X -> the path of a working python3.X: from PATH, else pyenv's newest 3.X
# ($(pyenv root)/versions/3.X.*; pyenv's shims on PATH only work for the version pyenv has selected).
# Without either, it says how to install one and fails.
set -euo pipefail

version=$1
python=$(command -v "python$version" 2>/dev/null || true)
if [ -n "$python" ] && "$python" -c '' 2>/dev/null; then
  echo "$python"
  exit 0
fi
if command -v pyenv >/dev/null 2>&1; then
  python=$(printf '%s\n' "$(pyenv root)/versions/$version".*/bin/"python$version" | sort -V | tail -n 1)
  if [ -x "$python" ]; then
    echo "$python"
    exit 0
  fi
fi
echo "find-python: no Python $version (install one: pyenv install $version, or apt-get install python$version)" >&2
exit 1
