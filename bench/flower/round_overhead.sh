#!/usr/bin/env bash
# Flower baseline for Fedledger's round overhead: one SuperLink, N SuperNodes and the Flower App in
# round-overhead/ (FedAvg, ClientApp returns the weights slightly perturbed), all on 127.0.0.1.
#
#   bash bench/flower/round_overhead.sh --centres 20 --params 100000 --rounds 5
#
# Prints one JSON line on stdout ({"bench":"flower-rounds",...,"roundMs":[...],"meanRoundMs":...}); progress and
# log locations on stderr. Creates the virtualenv bench/.venv (git-ignored) with the pinned versions of
# requirements.txt on first use, as make-vectors.sh does. See round_overhead.py for how it works.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
exec "$venv/bin/python" "$here/round_overhead.py" "$@"
