#!/usr/bin/env bash
# Puts the pinned infrastructure binaries into .tools/bin, built from source through the Go
# module proxy. Idempotent: a binary whose recorded version matches is left alone.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$root/.tools/bin"
stamps="$root/.tools/stamps"
mkdir -p "$bin" "$stamps"

NATS_SERVER_VERSION="v2.14.10"
FERRETDB_VERSION="v1.24.2"
# Hyperledger Fabric v2.5.9 (released 2024-06-18), addressed by its release commit 7c3876255bf0: Fabric's go.mod says
# `module github.com/hyperledger/fabric` while its tags are v2.x/v3.x, so Go rejects the tag and only a pseudo-version
# works, and the module proxy serves only versions someone fetched before (no 3.x is). The Makefile in that zip says
# FABRIC_VER 2.5.9 and release_notes/v2.5.9.md is dated the commit's day.
FABRIC_MODULE="github.com/hyperledger/fabric"
FABRIC_PSEUDO_VERSION="v0.0.0-20240618194258-7c3876255bf0"
FABRIC_RELEASE="2.5.9"
FABRIC_COMMIT="7c38762"
FABRIC_TOOLS="peer orderer osnadmin configtxgen cryptogen"

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
if up_to_date ferretdb "$FERRETDB_VERSION"; then
  log "ferretdb $FERRETDB_VERSION: cached"
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
  log "ferretdb $FERRETDB_VERSION: building (about a minute on 2 cores)..."
  (cd "$work" && GOFLAGS=-buildvcs=false go build -trimpath -o "$bin/ferretdb" ./cmd/ferretdb)
  stamp ferretdb "$FERRETDB_VERSION"
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

log "ready: $("$bin/nats-server" --version), ferretdb $("$bin/ferretdb" --version 2>/dev/null | sed -n 's/^version:[[:space:]]*//p' | head -n1), fabric $("$bin/peer" version 2>/dev/null | sed -n 's/^ Version:[[:space:]]*//p' | head -n1)"
