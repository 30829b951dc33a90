# Sourced by the bench/flower scripts: sets $venv to bench/.venv (git-ignored), creating it on first use and
# installing the pinned versions of requirements.txt, so every baseline runs the same Flower.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/../.venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
