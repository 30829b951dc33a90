#!/usr/bin/env bash
# Regenerates libs/fl-core/test/vectors/*.json from Flower itself (the reference the fl-core strategies match).
#
#   bash bench/flower/make-vectors.sh
#
# Creates a virtualenv in bench/.venv (git-ignored) with the pinned flwr and numpy of requirements.txt on first
# use, then runs make_vectors.py. Same versions, same seeds -> same JSON.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
exec "$venv/bin/python" "$here/make_vectors.py"
