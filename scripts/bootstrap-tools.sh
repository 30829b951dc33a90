#!/usr/bin/env bash
# Puts the pinned infrastructure binaries into .tools/bin, built from source through the Go
# module proxy. Idempotent: a binary whose recorded version matches is left alone.
# `bootstrap-tools.sh stack` builds only what the local stack runs (NATS, FerretDB, Fabric): `fedledger up` and
# `simulate` ask for that; without an argument (npm run tools) the chart and load-test tools too.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$root/.tools/bin"
stamps="$root/.tools/stamps"
mkdir -p "$bin" "$stamps"

NATS_SERVER_VERSION="v2.14.10"
FERRETDB_VERSION="v1.24.2"
# Patches applied to FerretDB's source before the build (scripts/patches/): the stamp names them, so a changed list
# rebuilds. ferretdb-v1.24.2-sqlite-id-index: lookups, updates and deletes by _id use the _id index instead of
# scanning the table (upstream compares a different expression than the one it indexes).
FERRETDB_PATCHES="ferretdb-v1.24.2-sqlite-id-index"
FERRETDB_BUILD="$FERRETDB_VERSION+$FERRETDB_PATCHES"
# Hyperledger Fabric v2.5.9 (released 2024-06-18), addressed by its release commit 7c3876255bf0: Fabric's go.mod says
# `module github.com/hyperledger/fabric` while its tags are v2.x/v3.x, so Go rejects the tag and only a pseudo-version
# works, and the module proxy serves only versions someone fetched before (no 3.x is). The Makefile in that zip says
# FABRIC_VER 2.5.9 and release_notes/v2.5.9.md is dated the commit's day.
FABRIC_MODULE="github.com/hyperledger/fabric"
FABRIC_PSEUDO_VERSION="v0.0.0-20240618194258-7c3876255bf0"
FABRIC_RELEASE="2.5.9"
FABRIC_COMMIT="7c38762"
FABRIC_TOOLS="peer orderer osnadmin configtxgen cryptogen"
# Charts (npm run lint:charts) and load tests. Helm: if this release needs a newer Go than the local one, the newest
# v3 release that builds with it is used instead, and the stamp says so. k6 is not used (AGPL): vegeta drives the load.
HELM_MODULE="helm.sh/helm/v3"
HELM_VERSION="v3.22.0"
KUBECONFORM_VERSION="v0.8.0"
VEGETA_VERSION="v12.13.0"

log() { printf '[tools] %s\n' "$*" >&2; }

if ! command -v go >/dev/null 2>&1; then
  log "error: Go is not installed or not on PATH; the tools bootstrap builds nats-server and FerretDB with 'go install'."
  log "install Go 1.22 or newer (https://go.dev/doc/install) and run 'npm run tools' again."
  exit 1
fi

up_to_date() { # name version
  [ -x "$bin/$1" ] && [ "$(cat "$stamps/$1" 2>/dev/null)" = "$2" ]
}

stamp() { printf '%s' "$2" > "$stamps/$1"; }

# nats-server: a plain module, go install works as is.
if up_to_date nats-server "$NATS_SERVER_VERSION"; then
  log "nats-server $NATS_SERVER_VERSION: cached"
else
  log "nats-server $NATS_SERVER_VERSION: building with go install (about a minute on 2 cores)..."
  GOBIN="$bin" GOFLAGS=-buildvcs=false go install "github.com/nats-io/nats-server/v2@$NATS_SERVER_VERSION"
  stamp nats-server "$NATS_SERVER_VERSION"
  log "nats-server $NATS_SERVER_VERSION: installed"
fi

# FerretDB 1.24: its version package panics unless build/version/version.txt holds the release tag,
# a file the module zip does not carry. Build from the downloaded module with that file written.
if up_to_date ferretdb "$FERRETDB_BUILD"; then
  log "ferretdb $FERRETDB_VERSION (patched: $FERRETDB_PATCHES): cached"
else
  log "ferretdb $FERRETDB_VERSION: downloading module source..."
  src="$(go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  if [ -z "$src" ] || [ ! -d "$src" ]; then
    log "error: 'go mod download github.com/FerretDB/FerretDB@$FERRETDB_VERSION' gave no source directory"
    exit 1
  fi
  work="$(mktemp -d)"
  trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
  cp -R "$src/." "$work/"
  chmod -R u+w "$work"
  printf '%s\n' "$FERRETDB_VERSION" > "$work/build/version/version.txt"
  for p in $FERRETDB_PATCHES; do
    log "ferretdb $FERRETDB_VERSION: applying scripts/patches/$p.patch"
    if ! patch -d "$work" -p1 --forward --quiet < "$root/scripts/patches/$p.patch"; then
      log "error: scripts/patches/$p.patch does not apply to FerretDB $FERRETDB_VERSION"
      exit 1
    fi
  done
  log "ferretdb $FERRETDB_VERSION: building (about a minute on 2 cores)..."
  (cd "$work" && GOFLAGS=-buildvcs=false go build -trimpath -o "$bin/ferretdb" ./cmd/ferretdb)
  stamp ferretdb "$FERRETDB_BUILD"
  log "ferretdb $FERRETDB_VERSION: installed"
fi

# Fabric: go install from the downloaded module. sum.golang.org has no record of this pseudo-version (GONOSUMDB for
# it), and `go install pkg@v` first reads the module's version list, which the proxy refuses: the local download
# cache, listed first in GOPROXY, answers that instead. ldflags as Fabric's Makefile sets them.
fabric_missing=""
for tool in $FABRIC_TOOLS; do up_to_date "$tool" "$FABRIC_RELEASE" || fabric_missing="$fabric_missing $tool"; done
if [ -z "$fabric_missing" ]; then
  log "fabric $FABRIC_RELEASE ($FABRIC_TOOLS): cached"
else
  log "fabric $FABRIC_RELEASE: downloading $FABRIC_MODULE@$FABRIC_PSEUDO_VERSION..."
  export GONOSUMDB="$FABRIC_MODULE"
  GOFLAGS=-mod=mod go mod download -json "$FABRIC_MODULE@$FABRIC_PSEUDO_VERSION" > /dev/null
  modcache="$(go env GOMODCACHE)"
  ldflags="-X $FABRIC_MODULE/common/metadata.Version=$FABRIC_RELEASE -X $FABRIC_MODULE/common/metadata.CommitSHA=$FABRIC_COMMIT"
  for tool in $fabric_missing; do
    log "fabric $FABRIC_RELEASE: building $tool (peer takes about a minute on 2 cores, the others seconds)..."
    GOBIN="$bin" CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOPROXY="file://$modcache/cache/download,$(go env GOPROXY)" \
      go install -ldflags "$ldflags" "$FABRIC_MODULE/cmd/$tool@$FABRIC_PSEUDO_VERSION"
    stamp "$tool" "$FABRIC_RELEASE"
  done
  log "fabric $FABRIC_RELEASE: installed$fabric_missing"
fi

if [ "${1:-all}" = "stack" ]; then
  log "ready: $("$bin/nats-server" --version), ferretdb $("$bin/ferretdb" --version 2>/dev/null | sed -n 's/^version:[[:space:]]*//p' | head -n1), fabric $("$bin/peer" version 2>/dev/null | sed -n 's/^ Version:[[:space:]]*//p' | head -n1)"
  exit 0
fi

# A module's `go` directive, from its go.mod in the download cache: "1.26.0".
go_directive() { # module version
  local mod
  mod="$(go mod download -json "$1@$2" 2>/dev/null | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
  [ -n "$mod" ] && sed -n 's/^go \([0-9][0-9.]*\).*$/\1/p' "$mod" | head -n1
}

# Whether Go version $1 is at most the local one (go.mod's `go 1.26` or `go 1.26.0` against `go1.26.8`).
go_supports() {
  local have
  have="$(go env GOVERSION | sed 's/^go//; s/[^0-9.].*$//')"
  [ "$(printf '%s\n%s\n' "$1" "$have" | sort -V | head -n1)" = "$1" ]
}

# Helm, as its Makefile builds it: the version and the Kubernetes version it assumes without a cluster (the minor of
# its client-go + 1.x; without these ldflags `helm template` would claim Kubernetes v1.20) are set by ldflags.
build_helm() { # version
  local mod client_go ldflags
  mod="$(go mod download -json "$HELM_MODULE@$1" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
  client_go="$(sed -n 's/^[[:space:]]*k8s.io\/client-go v0\.\([0-9]*\)\..*$/\1/p' "$mod" | head -n1)"
  if [ -z "$client_go" ]; then
    log "error: $HELM_MODULE@$1: no k8s.io/client-go requirement in $mod, cannot tell the Kubernetes version it targets"
    return 1
  fi
  ldflags="-w -s -X $HELM_MODULE/internal/version.version=$1 -X $HELM_MODULE/internal/version.metadata="
  for pkg in pkg/lint/rules pkg/chartutil; do
    ldflags="$ldflags -X $HELM_MODULE/$pkg.k8sVersionMajor=1 -X $HELM_MODULE/$pkg.k8sVersionMinor=$client_go"
  done
  # GOTOOLCHAIN=local: built by this Go (the `go` directive check chose a release it can build), never by a
  # toolchain Go would otherwise download for a newer directive.
  GOBIN="$bin" CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=local go install -trimpath -ldflags "$ldflags" "$HELM_MODULE/cmd/helm@$1"
}

# The stamp is "<pinned>" or "<pinned> (fallback <built>)": either way the pinned version was dealt with.
helm_stamp="$(cat "$stamps/helm" 2>/dev/null || true)"
if [ -x "$bin/helm" ] && { [ "$helm_stamp" = "$HELM_VERSION" ] || [ "${helm_stamp#"$HELM_VERSION (fallback "}" != "$helm_stamp" ]; }; then
  log "helm $helm_stamp: cached"
else
  started=$SECONDS
  needs="$(go_directive "$HELM_MODULE" "$HELM_VERSION" || true)"
  if [ -n "$needs" ] && go_supports "$needs"; then
    log "helm $HELM_VERSION: building with go install (about 3 minutes on 2 cores)..."
    build_helm "$HELM_VERSION"
    stamp helm "$HELM_VERSION"
    log "helm $HELM_VERSION: installed in $((SECONDS - started)) s"
  else
    # The newest v3 release whose go.mod asks for a Go this machine has.
    log "helm $HELM_VERSION needs Go ${needs:-?}, this is $(go env GOVERSION): looking for the newest v3 release that builds with it..."
    fallback=""
    for v in $(go list -m -versions "$HELM_MODULE" | tr ' ' '\n' | grep -E '^v3\.[0-9]+\.[0-9]+$' | sort -rV); do
      needs_v="$(go_directive "$HELM_MODULE" "$v" || true)"
      if [ -n "$needs_v" ] && go_supports "$needs_v"; then fallback="$v"; break; fi
    done
    if [ -z "$fallback" ]; then
      log "error: no helm v3 release builds with $(go env GOVERSION); install a newer Go and run 'npm run tools' again"
      exit 1
    fi
    log "helm $fallback (instead of $HELM_VERSION): building with go install (about 3 minutes on 2 cores)..."
    build_helm "$fallback"
    stamp helm "$HELM_VERSION (fallback $fallback)"
    log "helm $fallback: installed in $((SECONDS - started)) s"
  fi
fi

# A plain module built with go install, its version set by ldflags as its release build does.
go_tool() { # name version package version-ldflag what
  if up_to_date "$1" "$2"; then
    log "$1 $2: cached"
    return
  fi
  local started=$SECONDS
  log "$1 $2: building with go install (under a minute on 2 cores)..."
  GOBIN="$bin" CGO_ENABLED=0 GOFLAGS=-buildvcs=false go install -trimpath -ldflags "-X $4=$2" "$3@$2"
  stamp "$1" "$2"
  log "$1 $2: installed in $((SECONDS - started)) s ($5)"
}
go_tool kubeconform "$KUBECONFORM_VERSION" github.com/yannh/kubeconform/cmd/kubeconform main.version "Kubernetes manifests against the vendored charts/.schemas"
go_tool vegeta "$VEGETA_VERSION" github.com/tsenart/vegeta/v12 main.Version "HTTP load for load-tests/"

log "ready: $("$bin/nats-server" --version), ferretdb $("$bin/ferretdb" --version 2>/dev/null | sed -n 's/^version:[[:space:]]*//p' | head -n1), fabric $("$bin/peer" version 2>/dev/null | sed -n 's/^ Version:[[:space:]]*//p' | head -n1)"
log "ready: helm $("$bin/helm" version --short 2>/dev/null), kubeconform $("$bin/kubeconform" -v 2>/dev/null), vegeta $("$bin/vegeta" -version 2>/dev/null | sed -n 's/^Version:[[:space:]]*//p')"
