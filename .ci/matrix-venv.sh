#!/usr/bin/env bash
# Usage: .ci/matrix-venv.sh DIR PYTHON_VERSION REQUIREMENT...
# A virtualenv in DIR on Python PYTHON_VERSION (3.8, 3.13, ...) with REQUIREMENT... installed from PyPI,
# recreated only when the interpreter or the requirements changed (DIR/.matrix-stamp holds both).
# The interpreter comes from .ci/find-python.sh (PATH, else pyenv).
set -euo pipefail

dir=$1 version=$2
shift 2

python=$("$(dirname "${BASH_SOURCE[0]}")/find-python.sh" "$version")

stamp="$dir/.matrix-stamp"
want="$("$python" -c 'import sys; print(sys.version.split()[0])') $*"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$dir/bin/python" ]; then
  exit 0
fi
rm -rf "$dir"
"$python" -m venv "$dir"
"$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
"$dir/bin/python" -m pip check
echo "$want" >"$stamp"
echo "matrix-venv: $dir: Python $want"
