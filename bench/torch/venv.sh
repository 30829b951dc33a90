# Sourced by the bench/torch scripts: the one bench/.venv of bench/flower/venv.sh (Flower, numpy), plus the pinned torch
# of requirements.txt beside this file. Sets $venv. The first run downloads torch with its CUDA libraries (several GB).
torch_here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../flower/venv.sh
source "$torch_here/../flower/venv.sh"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$torch_here/requirements.txt"
