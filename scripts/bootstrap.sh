# Sourced by scripts/run and scripts/test: makes .venv (once) and installs photocap into it,
# again only when pyproject.toml or setup.py changed since the last install.
# Usage:  . scripts/bootstrap.sh && photocap_bootstrap [EXTRAS]     e.g. "photocap_bootstrap test"
# (A function, so the caller's own arguments never leak in as EXTRAS.)
set -euo pipefail

_photocap_say() { printf '%s\n' "photocap: $*" >&2; }

_photocap_make_venv() {
    local py=${PYTHON:-python3}
    if ! command -v "$py" >/dev/null 2>&1; then
        _photocap_say "needs Python 3.10 or newer; '$py' was not found (set PYTHON=/path/to/python3)."
        return 1
    fi
    if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
        _photocap_say "needs Python 3.10 or newer; $("$py" --version 2>&1) found (set PYTHON=/path/to/python3)."
        return 1
    fi
    if ! "$py" -m venv .venv >/dev/null 2>&1; then
        rm -rf .venv
        _photocap_say "could not make a virtual environment with $py."
        _photocap_say "On Debian or Ubuntu: sudo apt-get install python3-venv   (then run this again)"
        return 1
    fi
}

# The stamp holds a fingerprint of the files that decide what gets installed.
_photocap_fingerprint() {
    cat pyproject.toml setup.py | python -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())'
}

photocap_bootstrap() {
    local extras=${1:-}
    if [ ! -x .venv/bin/python ]; then
        _photocap_make_venv
    fi
    # shellcheck disable=SC1091
    . .venv/bin/activate
    local stamp=".venv/.photocap-installed-${extras:-base}" want
    want=$(_photocap_fingerprint)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    if [ -z "$extras" ]; then  # every extras set includes the app itself
        for other in .venv/.photocap-installed-*; do
            if [ -f "$other" ] && [ "$(cat "$other")" = "$want" ]; then
                return 0
            fi
        done
    fi
    local spec="."
    [ -n "$extras" ] && spec=".[${extras}]"
    _photocap_say "installing photocap${extras:+ with [$extras]} into .venv."
    _photocap_say "The first time this downloads about 1-4 GB (torch, Qt) and takes a few minutes; later runs start at once."
    python -m pip install --quiet --upgrade pip
    python -m pip install --progress-bar on -e "$spec"
    printf '%s\n' "$want" > "$stamp"
    _photocap_say "installed."
}
