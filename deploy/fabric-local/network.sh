#!/usr/bin/env bash
# A local Hyperledger Fabric 2.5 network without Docker: one Raft orderer (OrdererMSP), two peer orgs
# (UBMSP "ub", the coordinating university, and InbreastMSP "inbreast", a hospital), TLS on, all on
# 127.0.0.1, channel `passports`, and the ai-passport chaincode running as a service (ccaas) through
# fabric-chaincode-node server mode and the bash ccaas builder in ./ccaas-builder.
#
#   network.sh up       start everything (first run: crypto, channel, chaincode lifecycle); idempotent
#   network.sh smoke    invoke/query the chaincode as an org Admin and check the chaincode's answers
#   network.sh status   show the recorded processes
#   network.sh down     stop the processes recorded in $FABRIC_DATA_DIR/pids (data is kept)
#   network.sh clean    down, then delete $FABRIC_DATA_DIR
#   network.sh env ORG  print the exports to use the peer CLI as ORG's Admin (ORG: ub | inbreast)
#
# Progress goes to stderr; process logs go to $FABRIC_DATA_DIR/logs.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"

: "${FABRIC_DATA_DIR:=$REPO/.data/fabric}"
: "${FABRIC_BIN:=$REPO/.tools/bin}"
# The organisations' MSPs from `fedledger identity` (libs/identity, with peer and orderer nodes); unset: cryptogen.
: "${FABRIC_IDENTITIES:=}"
: "${NODE_BIN:=node}"
: "${ORDERER_PORT:=7050}"
: "${ORDERER_ADMIN_PORT:=7053}"
: "${ORDERER_OPS_PORT:=9443}"
: "${PEER1_PORT:=7051}"
: "${PEER1_CC_PORT:=7052}"
: "${PEER1_OPS_PORT:=9444}"
: "${PEER2_PORT:=9051}"
: "${PEER2_CC_PORT:=9052}"
: "${PEER2_OPS_PORT:=9445}"
: "${CC_SERVER_PORT:=9999}"
: "${CHANNEL_NAME:=passports}"
: "${CC_NAME:=ai-passport}"
: "${CC_VERSION:=1.0}"
: "${CC_SEQUENCE:=1}"
: "${CC_POLICY:=OR('UBMSP.member','InbreastMSP.member')}"
: "${FABRIC_LOGGING_SPEC:=info}"
: "${START_TIMEOUT:=60}"
CC_LABEL="${CC_NAME}_${CC_VERSION}"
FABRIC_DATA_DIR="$(mkdir -p "$FABRIC_DATA_DIR" && cd "$FABRIC_DATA_DIR" && pwd)"

D="$FABRIC_DATA_DIR"
CRYPTO="$D/crypto"
PIDS="$D/pids"
LOGS="$D/logs"
ORDERER_DOMAIN=orderer.fedledger.local
ORDERER_ORG_DIR="$CRYPTO/ordererOrganizations/$ORDERER_DOMAIN"
ORDERER_NODE_DIR="$ORDERER_ORG_DIR/orderers/orderer0.$ORDERER_DOMAIN"
ORDERER_TLS_CA="$ORDERER_NODE_DIR/tls/ca.crt"
ORDERER_ADMIN_DIR="$ORDERER_ORG_DIR/users/Admin@$ORDERER_DOMAIN"
CHANNEL_BLOCK="$D/channel/$CHANNEL_NAME.block"
CC_PACKAGE="$D/chaincode/$CC_LABEL.tar.gz"

log() { echo "[fabric-local $(date +%H:%M:%S)] $*" >&2; }
die() { echo "[fabric-local] error: $*" >&2; exit 1; }

# Org table: key -> MSP id, domain, peer port, chaincode port, operations port.
org_msp() { case "$1" in ub) echo UBMSP ;; inbreast) echo InbreastMSP ;; *) die "unknown org $1" ;; esac; }
org_domain() { echo "$1.fedledger.local"; }
org_port() { case "$1" in ub) echo "$PEER1_PORT" ;; inbreast) echo "$PEER2_PORT" ;; esac; }
org_cc_port() { case "$1" in ub) echo "$PEER1_CC_PORT" ;; inbreast) echo "$PEER2_CC_PORT" ;; esac; }
org_ops_port() { case "$1" in ub) echo "$PEER1_OPS_PORT" ;; inbreast) echo "$PEER2_OPS_PORT" ;; esac; }
peer_dir() { local dom; dom="$(org_domain "$1")"; echo "$CRYPTO/peerOrganizations/$dom/peers/peer0.$dom"; }
admin_msp() { local dom; dom="$(org_domain "$1")"; echo "$CRYPTO/peerOrganizations/$dom/users/Admin@$dom/msp"; }
ORGS=(ub inbreast)

# ---------------------------------------------------------------------------------------------------
# processes

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
# pid_ours PID: the process runs and was started by this script for this data dir (every process gets
# FABRIC_LOCAL_DATA_DIR=$D in its environment), so a stale pid file never makes us signal a stranger.
pid_ours() {
  pid_alive "${1:-}" && { tr '\0' '\n' <"/proc/$1/environ"; } 2>/dev/null | grep -qxF "FABRIC_LOCAL_DATA_DIR=$D"
}
recorded_pid() { [ -f "$PIDS/$1.pid" ] && cat "$PIDS/$1.pid" || true; }
# pid_running PID: alive and not a zombie. For a process this run just started (no pid reuse to fear): its
# environment cannot serve, /proc/PID/environ reads empty while it is between execs (setsid, env, the binary).
pid_running() { pid_alive "${1:-}" && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

# start_bg NAME CMD...: unless NAME already runs, starts CMD in its own session, output to logs/NAME.log, pid to pids/NAME.pid.
start_bg() {
  local name="$1"; shift
  local old; old="$(recorded_pid "$name")"
  if pid_ours "$old"; then log "$name already runs (pid $old)"; return; fi
  mkdir -p "$PIDS" "$LOGS"
  # `env` (first word of every CMD here) execs the binary, so $! is the pid of the orderer/peer/node itself.
  setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$PIDS/$name.pid"
  log "started $name (pid $!, log $LOGS/$name.log)"
}

# wait_for NAME DESCRIPTION CMD...: retries CMD every 0.5s until it succeeds, the process dies or time runs out.
wait_for() {
  local name="$1" what="$2"; shift 2
  local deadline=$((SECONDS + START_TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    if ! pid_running "$(recorded_pid "$name")"; then
      tail -n 30 "$LOGS/$name.log" >&2 || true
      die "$name exited while waiting for $what"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 30 "$LOGS/$name.log" >&2 || true
      die "timed out after ${START_TIMEOUT}s waiting for $what"
    fi
    sleep 0.5
  done
}

healthy() { curl -fsS "http://127.0.0.1:$1/healthz" | grep -q '"status":"OK"'; }
tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

stop_one() {
  local name="$1" pid
  pid="$(recorded_pid "$name")"
  [ -n "$pid" ] || return 0
  if pid_alive "$pid" && ! pid_ours "$pid"; then
    log "$name: pid $pid is not a process of this network (stale pid file), not signalling it"
  elif pid_alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 40); do pid_alive "$pid" || break; sleep 0.25; done
    if pid_alive "$pid"; then log "$name (pid $pid) ignored SIGTERM, sending SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
    log "stopped $name (pid $pid)"
  fi
  rm -f "$PIDS/$name.pid"
}

# ---------------------------------------------------------------------------------------------------
# configuration

check_tools() {
  local b
  local tools="peer orderer osnadmin configtxgen"
  [ -n "$FABRIC_IDENTITIES" ] || tools="$tools cryptogen"
  for b in $tools; do
    [ -x "$FABRIC_BIN/$b" ] || die "$FABRIC_BIN/$b not found (set FABRIC_BIN, or run npm run tools)"
  done
  for b in jq curl envsubst setsid tar "$NODE_BIN"; do command -v "$b" >/dev/null || die "$b is required"; done
  [ -f "$REPO/node_modules/fabric-shim/cli.js" ] || die "fabric-shim is not installed (npm ci in $REPO)"
}

generate_crypto() {
  if [ -d "$CRYPTO" ]; then return; fi
  if [ -n "$FABRIC_IDENTITIES" ]; then
    # The project's own identities, laid out as cryptogen would (same domains, node and user folder names).
    local orgs="$FABRIC_IDENTITIES/organizations" dom
    for dom in "$ORDERER_DOMAIN" "$(org_domain ub)" "$(org_domain inbreast)"; do
      [ -d "$orgs/$dom" ] || die "$orgs/$dom not found: create the organisations and their nodes first (fedledger up --ledger fabric does)"
    done
    [ -d "$orgs/$ORDERER_DOMAIN/orderers/orderer0.$ORDERER_DOMAIN" ] || die "no orderer0 node in $orgs/$ORDERER_DOMAIN"
    log "using the identities in $FABRIC_IDENTITIES"
    mkdir -p "$CRYPTO/ordererOrganizations" "$CRYPTO/peerOrganizations"
    ln -s "$orgs/$ORDERER_DOMAIN" "$CRYPTO/ordererOrganizations/$ORDERER_DOMAIN"
    for dom in "$(org_domain ub)" "$(org_domain inbreast)"; do ln -s "$orgs/$dom" "$CRYPTO/peerOrganizations/$dom"; done
    return
  fi
  log "generating crypto material with cryptogen"
  "$FABRIC_BIN/cryptogen" generate --config="$HERE/config/crypto-config.yaml" --output="$CRYPTO" >&2
}

render_configs() {
  mkdir -p "$D/config" "$D/orderer/config"
  export FABRIC_DATA_DIR ORDERER_PORT PEER1_PORT PEER2_PORT
  envsubst '${FABRIC_DATA_DIR} ${ORDERER_PORT} ${PEER1_PORT} ${PEER2_PORT}' \
    <"$HERE/config/configtx.yaml" >"$D/config/configtx.yaml"

  cat >"$D/orderer/config/orderer.yaml" <<EOF
# Generated by deploy/fabric-local/network.sh
General:
  ListenAddress: 127.0.0.1
  ListenPort: $ORDERER_PORT
  TLS:
    Enabled: true
    PrivateKey: $ORDERER_NODE_DIR/tls/server.key
    Certificate: $ORDERER_NODE_DIR/tls/server.crt
    RootCAs: [$ORDERER_TLS_CA]
    ClientAuthRequired: false
  Keepalive:
    ServerMinInterval: 60s
    ServerInterval: 7200s
    ServerTimeout: 20s
  MaxRecvMsgSize: 104857600
  MaxSendMsgSize: 104857600
  Cluster:
    SendBufferSize: 100
    ClientCertificate: $ORDERER_NODE_DIR/tls/server.crt
    ClientPrivateKey: $ORDERER_NODE_DIR/tls/server.key
    RootCAs: [$ORDERER_TLS_CA]
  BootstrapMethod: none
  LocalMSPDir: $ORDERER_NODE_DIR/msp
  LocalMSPID: OrdererMSP
  BCCSP:
    Default: SW
    SW:
      Hash: SHA2
      Security: 256
  Authentication:
    TimeWindow: 15m
FileLedger:
  Location: $D/orderer/data
Operations:
  ListenAddress: 127.0.0.1:$ORDERER_OPS_PORT
  TLS:
    Enabled: false
Metrics:
  Provider: prometheus
Admin:
  ListenAddress: 127.0.0.1:$ORDERER_ADMIN_PORT
  TLS:
    Enabled: true
    Certificate: $ORDERER_NODE_DIR/tls/server.crt
    PrivateKey: $ORDERER_NODE_DIR/tls/server.key
    RootCAs: [$ORDERER_TLS_CA]
    ClientAuthRequired: true
    ClientRootCAs: [$ORDERER_TLS_CA]
ChannelParticipation:
  Enabled: true
  MaxRequestBodySize: 1 MB
Consensus:
  WALDir: $D/orderer/data/etcdraft/wal
  SnapDir: $D/orderer/data/etcdraft/snapshot
EOF

  # Peers: the sample core.yaml of Fabric 2.5.9 with the ccaas builder, no Docker endpoint; the
  # per-peer settings are environment overrides (peer_node_env).
  local org
  for org in "${ORGS[@]}"; do
    mkdir -p "$D/peers/$org/config"
    sed -e "s#path: /opt/hyperledger/ccaas_builder#path: $HERE/ccaas-builder#" \
        -e "s#endpoint: unix:///var/run/docker.sock#endpoint: \"\"#" \
        "$HERE/config/core.yaml" >"$D/peers/$org/config/core.yaml"
    grep -q "path: $HERE/ccaas-builder" "$D/peers/$org/config/core.yaml" || die "could not set the external builder in core.yaml"
  done
}

create_channel_block() {
  [ -f "$CHANNEL_BLOCK" ] && return
  log "creating the $CHANNEL_NAME channel genesis block"
  mkdir -p "$(dirname "$CHANNEL_BLOCK")"
  FABRIC_CFG_PATH="$D/config" "$FABRIC_BIN/configtxgen" -profile PassportsChannel \
    -outputBlock "$CHANNEL_BLOCK" -channelID "$CHANNEL_NAME" 2>>"$LOGS/configtxgen.log" \
    || { tail -n 20 "$LOGS/configtxgen.log" >&2; die "configtxgen failed"; }
}

# ---------------------------------------------------------------------------------------------------
# peer CLI

# peer_node_env ORG: the environment of ORG's peer process.
peer_node_env() {
  local org="$1" dir port
  dir="$(peer_dir "$org")"; port="$(org_port "$org")"
  echo FABRIC_CFG_PATH="$D/peers/$org/config"
  echo FABRIC_LOGGING_SPEC="$FABRIC_LOGGING_SPEC"
  echo CORE_PEER_ID="peer0.$(org_domain "$org")"
  echo CORE_PEER_LOCALMSPID="$(org_msp "$org")"
  echo CORE_PEER_MSPCONFIGPATH="$dir/msp"
  echo CORE_PEER_LISTENADDRESS="127.0.0.1:$port"
  echo CORE_PEER_ADDRESS="127.0.0.1:$port"
  echo CORE_PEER_CHAINCODELISTENADDRESS="127.0.0.1:$(org_cc_port "$org")"
  echo CORE_PEER_CHAINCODEADDRESS="127.0.0.1:$(org_cc_port "$org")"
  echo CORE_PEER_GOSSIP_BOOTSTRAP="127.0.0.1:$port"
  echo CORE_PEER_GOSSIP_EXTERNALENDPOINT="127.0.0.1:$port"
  echo CORE_PEER_TLS_ENABLED=true
  echo CORE_PEER_TLS_CERT_FILE="$dir/tls/server.crt"
  echo CORE_PEER_TLS_KEY_FILE="$dir/tls/server.key"
  echo CORE_PEER_TLS_ROOTCERT_FILE="$dir/tls/ca.crt"
  echo CORE_PEER_FILESYSTEMPATH="$D/peers/$org/data"
  echo CORE_LEDGER_SNAPSHOTS_ROOTDIR="$D/peers/$org/data/snapshots"
  echo CORE_OPERATIONS_LISTENADDRESS="127.0.0.1:$(org_ops_port "$org")"
  echo CORE_METRICS_PROVIDER=prometheus
}

# admin_env ORG: the environment of the peer CLI acting as ORG's Admin against ORG's peer.
admin_env() {
  local org="$1"
  echo FABRIC_CFG_PATH="$D/peers/$org/config"
  echo FABRIC_LOGGING_SPEC="${PEER_CLI_LOGGING_SPEC:-warning}"
  echo CORE_PEER_LOCALMSPID="$(org_msp "$org")"
  echo CORE_PEER_MSPCONFIGPATH="$(admin_msp "$org")"
  echo CORE_PEER_ADDRESS="127.0.0.1:$(org_port "$org")"
  echo CORE_PEER_TLS_ENABLED=true
  echo CORE_PEER_TLS_ROOTCERT_FILE="$(peer_dir "$org")/tls/ca.crt"
}

# as_admin ORG peer-args...: runs the peer CLI as ORG's Admin.
as_admin() {
  local org="$1"; shift
  local envs=()
  mapfile -t envs < <(admin_env "$org")
  env "${envs[@]}" "$FABRIC_BIN/peer" "$@"
}

orderer_args() { echo -o "127.0.0.1:$ORDERER_PORT" --tls --cafile "$ORDERER_TLS_CA"; }
osnadmin_args() {
  # cryptogen gives the orderer Admin a TLS client certificate; the project's identities use the orderer node's own
  # (server and client auth, from the same CA as Admin.TLS.ClientRootCAs).
  local cert="$ORDERER_ADMIN_DIR/tls/client.crt" key="$ORDERER_ADMIN_DIR/tls/client.key"
  [ -f "$cert" ] || { cert="$ORDERER_NODE_DIR/tls/server.crt"; key="$ORDERER_NODE_DIR/tls/server.key"; }
  echo -o "127.0.0.1:$ORDERER_ADMIN_PORT" --ca-file "$ORDERER_TLS_CA" --client-cert "$cert" --client-key "$key"
}

# ---------------------------------------------------------------------------------------------------
# steps of `up`

start_orderer() {
  mkdir -p "$D/orderer/data"
  start_bg orderer env FABRIC_LOCAL_DATA_DIR="$D" FABRIC_CFG_PATH="$D/orderer/config" FABRIC_LOGGING_SPEC="$FABRIC_LOGGING_SPEC" \
    "$FABRIC_BIN/orderer"
  wait_for orderer "the orderer's /healthz on :$ORDERER_OPS_PORT" healthy "$ORDERER_OPS_PORT"
}

# orderer_channel_status: the orderer's status of the channel (active, onboarding, ...), empty if it has
# none. osnadmin exits 0 on HTTP errors too: it prints "Status: <code>" then the JSON body.
orderer_channel_status() {
  local out
  # shellcheck disable=SC2046
  out="$("$FABRIC_BIN/osnadmin" channel list $(osnadmin_args) --channelID "$CHANNEL_NAME" 2>&1)" || return 0
  if head -n 1 <<<"$out" | grep -q '^Status: 200'; then tail -n +2 <<<"$out" | jq -r '.status // empty'; fi
}

join_orderer() {
  if [ -n "$(orderer_channel_status)" ]; then
    log "orderer already has channel $CHANNEL_NAME"
  else
    log "joining the orderer to $CHANNEL_NAME (channel participation API)"
    local out
    # shellcheck disable=SC2046
    out="$("$FABRIC_BIN/osnadmin" channel join $(osnadmin_args) --channelID "$CHANNEL_NAME" --config-block "$CHANNEL_BLOCK" 2>&1)"
    head -n 1 <<<"$out" | grep -q '^Status: 201' || { echo "$out" >&2; die "osnadmin channel join failed"; }
  fi
  wait_for orderer "the orderer to be active in $CHANNEL_NAME" orderer_channel_active
  # After a restart Raft needs a moment to elect a leader; until then Broadcast answers SERVICE_UNAVAILABLE.
  wait_for orderer "a Raft leader in $CHANNEL_NAME" orderer_is_leader
}
orderer_channel_active() { [ "$(orderer_channel_status)" = active ]; }
# With the single orderer of this network, it is the leader once elected (metric of the operations service).
orderer_is_leader() {
  curl -fsS "http://127.0.0.1:$ORDERER_OPS_PORT/metrics" | grep -qE "^consensus_etcdraft_is_leader\{channel=\"$CHANNEL_NAME\"\} 1$"
}

start_peer() {
  local org="$1" envs=()
  mkdir -p "$D/peers/$org/data"
  mapfile -t envs < <(peer_node_env "$org")
  start_bg "peer-$org" env FABRIC_LOCAL_DATA_DIR="$D" "${envs[@]}" "$FABRIC_BIN/peer" node start
}

join_peer() {
  local org="$1"
  if as_admin "$org" channel list 2>/dev/null | grep -qx "$CHANNEL_NAME"; then
    log "peer of $org already joined $CHANNEL_NAME"
  else
    log "joining the peer of $org to $CHANNEL_NAME"
    local out
    if ! out="$(as_admin "$org" channel join -b "$CHANNEL_BLOCK" 2>&1)"; then
      grep -q "already exists" <<<"$out" || { echo "$out" >&2; die "the peer of $org could not join $CHANNEL_NAME"; }
    fi
  fi
}

package_chaincode() {
  if [ ! -f "$CC_PACKAGE" ]; then
    log "packaging $CC_LABEL as a ccaas package (server 127.0.0.1:$CC_SERVER_PORT)"
    local work="$D/chaincode/pkg"
    rm -rf "$work"; mkdir -p "$work/src"
    jq -n --arg address "127.0.0.1:$CC_SERVER_PORT" \
      '{address: $address, dial_timeout: "10s", tls_required: false}' >"$work/src/connection.json"
    jq -n --arg lbl "$CC_LABEL" '{"type": "ccaas", "label": $lbl}' >"$work/metadata.json"
    # Reproducible archives: the same connection.json and label always give the same package id.
    local tar_opts=(--sort=name --owner=0 --group=0 --numeric-owner --mtime=@0)
    tar -C "$work/src" "${tar_opts[@]}" -cf - connection.json | gzip -n >"$work/code.tar.gz"
    tar -C "$work" "${tar_opts[@]}" -cf - metadata.json code.tar.gz | gzip -n >"$CC_PACKAGE"
  fi
  PACKAGE_ID="$(as_admin ub lifecycle chaincode calculatepackageid "$CC_PACKAGE")"
  echo "$PACKAGE_ID" >"$D/chaincode/package-id"
}

install_chaincode() {
  local org="$1"
  if as_admin "$org" lifecycle chaincode queryinstalled --output json 2>/dev/null \
      | jq -e --arg id "$PACKAGE_ID" '.installed_chaincodes // [] | any(.package_id == $id)' >/dev/null; then
    log "$PACKAGE_ID already installed on the peer of $org"
  else
    log "installing $CC_LABEL on the peer of $org"
    local out
    if ! out="$(as_admin "$org" lifecycle chaincode install "$CC_PACKAGE" 2>&1)"; then
      grep -q "already successfully installed" <<<"$out" || { echo "$out" >&2; die "install on the peer of $org failed"; }
    fi
  fi
}

start_chaincode_server() {
  # fabric-chaincode-node reads options from CORE_* variables too (yargs .env('CORE')), so it gets a
  # clean environment with only what node needs.
  start_bg chaincode env -i FABRIC_LOCAL_DATA_DIR="$D" PATH="$PATH" HOME="${HOME:-/tmp}" \
    CORE_CHAINCODE_LOGGING_LEVEL="${CORE_CHAINCODE_LOGGING_LEVEL:-info}" \
    "$(command -v "$NODE_BIN")" "$REPO/node_modules/fabric-shim/cli.js" server \
    --chaincode-address "127.0.0.1:$CC_SERVER_PORT" --chaincode-id "$PACKAGE_ID" \
    --module-path "$HERE/chaincode-server"
  wait_for chaincode "the chaincode server on :$CC_SERVER_PORT" tcp_open "$CC_SERVER_PORT"
}

lifecycle_args() {
  echo --channelID "$CHANNEL_NAME" --name "$CC_NAME" --version "$CC_VERSION" --sequence "$CC_SEQUENCE"
}

approve_and_commit() {
  if as_admin ub lifecycle chaincode querycommitted --channelID "$CHANNEL_NAME" --name "$CC_NAME" --output json 2>/dev/null \
      | jq -e --argjson seq "$CC_SEQUENCE" '.sequence >= $seq' >/dev/null; then
    log "$CC_NAME sequence $CC_SEQUENCE already committed on $CHANNEL_NAME"
    return
  fi
  local org readiness
  for org in "${ORGS[@]}"; do
    # shellcheck disable=SC2046
    readiness="$(as_admin "$org" lifecycle chaincode checkcommitreadiness $(lifecycle_args) \
      --signature-policy "$CC_POLICY" --output json)"
    if jq -e --arg msp "$(org_msp "$org")" '.approvals[$msp] == true' <<<"$readiness" >/dev/null; then
      log "$(org_msp "$org") already approved $CC_NAME"
      continue
    fi
    log "approving $CC_NAME for $(org_msp "$org")"
    # shellcheck disable=SC2046
    as_admin "$org" lifecycle chaincode approveformyorg $(orderer_args) $(lifecycle_args) \
      --package-id "$PACKAGE_ID" --signature-policy "$CC_POLICY" >&2
  done
  log "committing $CC_NAME (policy $CC_POLICY) on $CHANNEL_NAME"
  # shellcheck disable=SC2046
  as_admin ub lifecycle chaincode commit $(orderer_args) $(lifecycle_args) --signature-policy "$CC_POLICY" \
    --peerAddresses "127.0.0.1:$PEER1_PORT" --tlsRootCertFiles "$(peer_dir ub)/tls/ca.crt" \
    --peerAddresses "127.0.0.1:$PEER2_PORT" --tlsRootCertFiles "$(peer_dir inbreast)/tls/ca.crt" >&2
}

chaincode_answers() {
  as_admin "$1" chaincode query --channelID "$CHANNEL_NAME" --name "$CC_NAME" -c '{"Args":["passport:WhoAmI"]}'
}

cmd_up() {
  local t0=$SECONDS org
  trap 'rc=$?; [ "$rc" -eq 0 ] || log "up failed; what started keeps running for inspection: $0 status | down (logs in $LOGS)"' EXIT
  check_tools
  mkdir -p "$PIDS" "$LOGS"
  generate_crypto
  render_configs
  create_channel_block
  start_orderer
  join_orderer
  for org in "${ORGS[@]}"; do start_peer "$org"; done
  for org in "${ORGS[@]}"; do
    wait_for "peer-$org" "the peer of $org's /healthz" healthy "$(org_ops_port "$org")"
    wait_for "peer-$org" "the peer of $org to answer its admin" as_admin "$org" channel list
  done
  for org in "${ORGS[@]}"; do join_peer "$org"; done
  package_chaincode
  for org in "${ORGS[@]}"; do install_chaincode "$org"; done
  start_chaincode_server
  approve_and_commit
  for org in "${ORGS[@]}"; do
    wait_for chaincode "$CC_NAME to answer through the peer of $org" chaincode_answers "$org"
  done
  log "chaincode answers: $(chaincode_answers ub)"
  log "network is up in $((SECONDS - t0))s: orderer 127.0.0.1:$ORDERER_PORT (admin :$ORDERER_ADMIN_PORT)," \
    "peers 127.0.0.1:$PEER1_PORT (UBMSP), 127.0.0.1:$PEER2_PORT (InbreastMSP), channel $CHANNEL_NAME," \
    "chaincode $CC_NAME ($PACKAGE_ID) at 127.0.0.1:$CC_SERVER_PORT"
}

cmd_down() {
  # The chaincode server and the peers stop together (each peer takes ~2s), then the orderer.
  local name
  for name in chaincode peer-inbreast peer-ub; do stop_one "$name" & done
  wait
  stop_one orderer
  # Anything else this network started (each process carries FABRIC_LOCAL_DATA_DIR) that outlived its pid file.
  local file pid
  for file in $(grep -lzxF "FABRIC_LOCAL_DATA_DIR=$D" /proc/[0-9]*/environ 2>/dev/null); do
    pid="${file#/proc/}"; pid="${pid%/environ}"
    log "process $pid of this network was still running after its pid file: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  done
  log "down"
}

cmd_clean() {
  cmd_down
  rm -rf "$FABRIC_DATA_DIR"
  log "removed $FABRIC_DATA_DIR"
}

cmd_status() {
  local name pid
  for name in orderer peer-ub peer-inbreast chaincode; do
    pid="$(recorded_pid "$name")"
    if pid_ours "$pid"; then echo "$name running pid $pid"; else echo "$name stopped"; fi
  done
}

cmd_env() {
  local org="${1:-ub}"
  admin_env "$org" | sed -e 's/^/export /' -e "s/=\(.*\)$/='\1'/"
  echo "export PATH='$FABRIC_BIN':\"\$PATH\""
  echo "export ORDERER_CA='$ORDERER_TLS_CA'"
}

# issue_user ORG NAME ROLE: an MSP dir for NAME@<org domain>, a client certificate signed with openssl by
# the org's (cryptogen) CA that carries the Fabric attribute role=ROLE the way fabric-ca puts it: extension
# 1.2.3.4.5.6.7.8.1 whose value is the JSON {"attrs":{"role":"..."}}. Prints the MSP dir.
issue_user() {
  local org="$1" name="$2" role="$3" dom
  dom="$(org_domain "$org")"
  local dir="$D/users/$name@$dom" ca="$CRYPTO/peerOrganizations/$dom/ca"
  local msp="$dir/msp"
  if [ ! -f "$msp/signcerts/cert.pem" ]; then
    mkdir -p "$msp/signcerts" "$msp/keystore" "$msp/cacerts"
    openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out "$msp/keystore/priv_sk"
    openssl req -new -key "$msp/keystore/priv_sk" -subj "/C=US/ST=California/L=San Francisco/OU=client/CN=$name@$dom" \
      -out "$dir/csr.pem"
    local attrs
    attrs="$(printf '{"attrs":{"role":"%s"}}' "$role" | od -An -tx1 | tr -d ' \n' | sed 's/../&:/g; s/:$//')"
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
      "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" "1.2.3.4.5.6.7.8.1=DER:$attrs" >"$dir/ext.cnf"
    openssl x509 -req -in "$dir/csr.pem" -CA "$ca/ca.$dom-cert.pem" -CAkey "$ca/priv_sk" \
      -set_serial "0x$(openssl rand -hex 16)" -days 365 -sha256 -extfile "$dir/ext.cnf" \
      -out "$msp/signcerts/cert.pem" 2>/dev/null
    cp "$ca/ca.$dom-cert.pem" "$msp/cacerts/"
    cp "$(admin_msp "$org")/config.yaml" "$msp/config.yaml"
  fi
  echo "$msp"
}

# env_info CMD...: CMD with the peer CLI logging at info (the "invoke successful" line is an info log).
env_info() { PEER_CLI_LOGGING_SPEC=info "$@"; }

# as_user ORG MSPDIR peer-args...: the peer CLI as another identity of ORG.
as_user() {
  local org="$1" msp="$2"; shift 2
  local envs=()
  mapfile -t envs < <(admin_env "$org" | sed "s#^CORE_PEER_MSPCONFIGPATH=.*#CORE_PEER_MSPCONFIGPATH=$msp#")
  env "${envs[@]}" "$FABRIC_BIN/peer" "$@"
}

# smoke: the chaincode's own refusals come back through the peer, for both orgs.
cmd_smoke() {
  local out failed=0
  expect() { # expect DESCRIPTION NEEDLE CMD...
    local what="$1" needle="$2"; shift 2
    out="$("$@" 2>&1)" || true
    if grep -qF -- "$needle" <<<"$out"; then
      log "ok   $what"; echo "  $out" | tail -n 1 | cut -c1-400 >&2
    else
      log "FAIL $what: expected '$needle', got:"; echo "$out" >&2; failed=1
    fi
  }
  expect "WhoAmI as UB Admin" '"mspId":"UBMSP"' \
    as_admin ub chaincode query -C "$CHANNEL_NAME" -n "$CC_NAME" -c '{"Args":["passport:WhoAmI"]}'
  expect "Read of a missing passport (query, Inbreast Admin)" "passport p-1 does not exist" \
    as_admin inbreast chaincode query -C "$CHANNEL_NAME" -n "$CC_NAME" -c '{"Args":["passport:Read","p-1"]}'
  # shellcheck disable=SC2046
  expect "Create without role developer (invoke, UB Admin)" "creating a passport needs role developer" \
    as_admin ub chaincode invoke $(orderer_args) -C "$CHANNEL_NAME" -n "$CC_NAME" --waitForEvent \
    --peerAddresses "127.0.0.1:$PEER1_PORT" --tlsRootCertFiles "$(peer_dir ub)/tls/ca.crt" \
    -c '{"Args":["passport:Create","{\"id\":\"p-1\"}"]}'

  # A write that passes the role check, ordered and committed, then read through the other org's peer.
  local dev id args
  dev="$(issue_user ub dev1 developer)"
  id="smoke-$(date +%s)"
  args="$(jq -cn --arg id "$id" '{Args: ["passport:Create", ({id: $id, description: "local network smoke test",
    model: {name: "nodule-net", version: "1.0.0", architecture: "ResNet-18", task: "binary classification",
      modality: "CT", framework: "tfjs 4.22", licence: "Apache-2.0"},
    intendedUse: {primaryUses: ["smoke test"], primaryUsers: ["developers"], outOfScopeUses: ["clinical use"]},
    trainingType: "FEDERATED"} | tojson)]}')"
  expect "WhoAmI as dev1@ub (openssl-issued, role=developer)" '"role":"developer"' \
    as_user ub "$dev" chaincode query -C "$CHANNEL_NAME" -n "$CC_NAME" -c '{"Args":["passport:WhoAmI"]}'
  # shellcheck disable=SC2046
  expect "Create $id as dev1@ub (invoke, committed)" "status:200" \
    env_info as_user ub "$dev" chaincode invoke $(orderer_args) -C "$CHANNEL_NAME" -n "$CC_NAME" --waitForEvent \
    --peerAddresses "127.0.0.1:$PEER1_PORT" --tlsRootCertFiles "$(peer_dir ub)/tls/ca.crt" -c "$args"
  local i read_args
  read_args="$(jq -cn --arg id "$id" '{Args: ["passport:Read", $id]}')"
  for i in $(seq 1 20); do
    as_admin inbreast chaincode query -C "$CHANNEL_NAME" -n "$CC_NAME" -c "$read_args" >/dev/null 2>&1 && break
    sleep 0.25
  done
  expect "Read $id through the Inbreast peer" "\"id\":\"$id\"" \
    as_admin inbreast chaincode query -C "$CHANNEL_NAME" -n "$CC_NAME" -c "$read_args"
  return "$failed"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  clean) cmd_clean ;;
  status) cmd_status ;;
  smoke) cmd_smoke ;;
  env) shift; cmd_env "$@" ;;
  *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
