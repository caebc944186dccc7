# Sourced by scripts/run and scripts/test: makes .venv (once) and installs photocap into it.
# Usage: . scripts/bootstrap.sh [EXTRAS]   e.g. ". scripts/bootstrap.sh test"
set -euo pipefail
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
extras=${1:-}
spec="."
[ -n "$extras" ] && spec=".[${extras}]"
stamp=".venv/.photocap-installed-${extras:-base}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    python -m pip install --quiet --upgrade pip
    python -m pip install --quiet -e "$spec"
    touch "$stamp"
fi
