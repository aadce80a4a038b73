#!/usr/bin/env bash
# Usage: scripts/python-env.sh
#
# Makes the project's Python environment, .venv at the repository root (ignored by git), from
# scratch or up to date: the exact versions in requirements.txt, then the two local packages
# in editable mode, without touching their pins: the client (clients/python, importable as
# `bazaar_client`) and the Python currency service (alt/currency-python, `bazaar_currency`).
# Needs python3 (3.11 or later) with its venv module. Prints the interpreter to use.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check --quiet)
"${pip[@]}" install --requirement requirements.txt
"${pip[@]}" install --no-deps --no-build-isolation --editable clients/python --editable alt/currency-python
"$venv/bin/python" -c 'import bazaar_client, bazaar_currency' 
echo "python environment ready: $PWD/$venv/bin/python"
