#!/usr/bin/env bash
# PyTorch CPU reference for `npm run bench -- train` (which runs this script): the small CNN trained in PyTorch.
#
#   bash bench/torch/train_small_cnn.sh --input-size 64 --threads 1
#
# Prints one JSON line on stdout ({"imgsPerSec":...,"threads":...,"torch":...}); progress on stderr. Creates the
# virtualenv bench/.venv (git-ignored) and installs the pinned torch of requirements.txt on first use.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh" >&2
exec "$venv/bin/python" "$torch_here/train_small_cnn.py" "$@"
