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

log "ready: $("$bin/nats-server" --version), ferretdb $("$bin/ferretdb" --version 2>/dev/null | sed -n 's/^version:[[:space:]]*//p' | head -n1)"
