#!/usr/bin/env bash
# Runs the Python receiver's checks (ruff, pytest over every shared vector) in python/.venv.
# Creates the venv and installs python/requirements-dev.txt when the venv is missing or stale;
# with --install it only does that (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/../python"
venv=.venv
stamp="$venv/.requirements-dev.sha256"
want=$(sha256sum requirements-dev.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  python3 -m venv "$venv"
  # This machine serves Python packages from a local index; elsewhere pip's default index is used.
  index=()
  if [ -d /opt/pypi/simple ]; then index=(--index-url file:///opt/pypi/simple); fi
  "$venv/bin/pip" install --disable-pip-version-check -q "${index[@]}" -r requirements-dev.txt
  "$venv/bin/pip" install --disable-pip-version-check -q "${index[@]}" --no-build-isolation -e .
  echo "$want" > "$stamp"
fi
if [ "${1:-}" = "--install" ]; then exit 0; fi
"$venv/bin/ruff" check .
"$venv/bin/ruff" format --check .
# -p no:cacheprovider: no .pytest_cache in the tree. Fails on any failure, and on "no tests ran" (exit 5).
"$venv/bin/python" -m pytest -p no:cacheprovider
