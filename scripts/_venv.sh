# Sourced by scripts/*: create .venv when missing and (re)install SafeGrid when pyproject.toml changed.
# Usage: . scripts/_venv.sh [extras]   (default extras: all)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
extras=${1:-all}
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "creating .venv" >&2
    "$PY" -m venv .venv
fi
stamp=.venv/.safegrid-installed-$extras
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "installing safegrid[$extras] into .venv" >&2
    .venv/bin/python -m pip install --quiet --upgrade pip setuptools >&2
    .venv/bin/python -m pip install --quiet -e ".[$extras]" >&2
    touch "$stamp"
fi
export PATH="$ROOT/.venv/bin:$PATH"
