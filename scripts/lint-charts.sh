#!/usr/bin/env bash
# npm run lint:charts: every chart under charts/ through `helm lint --strict` and, rendered, through
# `kubeconform -strict` against the Kubernetes schemas vendored in charts/.schemas (npm run charts:schemas) — no
# network: kubeconform's default registry is a GitHub URL, and the charts need no repository (subcharts unpacked).
# Then the refusals the charts promise: unknown values keys (values.schema.json), missing required settings, and
# an invalid manifest rejected by the vendored schemas. A few seconds; helm and kubeconform come from npm run tools.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$root/.tools/bin"
log() { printf '[charts] %s\n' "$*" >&2; }

for tool in helm kubeconform; do
  if [ ! -x "$bin/$tool" ]; then
    log "error: $bin/$tool is missing: run 'npm run tools' (it builds helm and kubeconform with go install)"
    exit 1
  fi
done

# The one vendored Kubernetes version: charts/.schemas/v<version>-standalone-strict.
schema_dirs=("$root"/charts/.schemas/v*-standalone-strict)
if [ "${#schema_dirs[@]}" -ne 1 ] || [ ! -d "${schema_dirs[0]}" ]; then
  log "error: expected one charts/.schemas/v<version>-standalone-strict folder, found: ${schema_dirs[*]}; run 'npm run charts:schemas'"
  exit 1
fi
k8s_version="$(basename "${schema_dirs[0]}")"
k8s_version="${k8s_version#v}"
k8s_version="${k8s_version%-standalone-strict}"
schema_location="$root/charts/.schemas/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json"

# Helm keeps no state of ours: a throw-away home (no repositories, no cache, nothing fetched).
helm_home="$(mktemp -d)"
trap 'rm -rf "$helm_home"' EXIT
export HELM_CACHE_HOME="$helm_home/cache" HELM_CONFIG_HOME="$helm_home/config" HELM_DATA_HOME="$helm_home/data"

# Helm logs every symbolic link it follows (the library chart is linked into each chart's charts/): not a finding.
helm_run() {
  "$bin/helm" "$@" 2> >(grep -v 'found symbolic link in path' >&2)
}

cd "$root"
failed=0

# chart, then helm value arguments; "" for the defaults.
check() {
  local chart="$1" what="$2"
  shift 2
  local out
  if ! out="$(helm_run lint --strict "$@" "$chart" 2>&1)"; then
    printf '%s\n' "$out" >&2
    log "FAIL helm lint --strict $chart ($what)"
    failed=1
    return
  fi
  if [ "$chart" = charts/fedledger-lib ]; then
    log "ok   $chart: helm lint --strict (a library: nothing to render)"
    return
  fi
  local rendered summary
  if ! rendered="$(helm_run template lint-charts "$chart" --namespace fedledger "$@")"; then
    log "FAIL helm template $chart ($what)"
    failed=1
    return
  fi
  if ! summary="$(printf '%s\n' "$rendered" | "$bin/kubeconform" -strict -summary -kubernetes-version "$k8s_version" -schema-location "$schema_location" 2>&1)"; then
    printf '%s\n' "$summary" >&2
    log "FAIL kubeconform $chart ($what)"
    failed=1
    return
  fi
  log "ok   $chart ($what): helm lint --strict; kubeconform $(printf '%s\n' "$summary" | tail -n1)"
}

# A helm command (template or lint) that must be refused, with a message that names the reason.
refused() {
  local why="$1" expect="$2" command="$3"
  shift 3
  local out args=(--strict "$@")
  [ "$command" = template ] && args=(lint-charts "$@")
  if out="$(helm_run "$command" "${args[@]}" 2>&1)"; then
    log "FAIL not refused: $why (helm $command $*)"
    failed=1
  elif ! printf '%s\n' "$out" | grep -q -- "$expect"; then
    printf '%s\n' "$out" >&2
    log "FAIL refused without naming '$expect': $why"
    failed=1
  else
    log "ok   refused ($command): $why"
  fi
}

check charts/fedledger-lib "library"
check charts/fedledger "default values"
check charts/fedledger "values-production.yaml" -f charts/fedledger/values-production.yaml
# The other branches: the mongo engine, the collector, the coordinator reading grants from the embedded ledger,
# NATS without a PVC, an external NATS.
check charts/fedledger "variants: mongo, collector, grants, no NATS PVC" --set mongodb.engine=mongo \
  --set otelCollector.enabled=true --set global.otel.exporter=otlp --set round-coordinator.grants.check=true \
  --set round-coordinator.identity.existingSecret=fedledger-identity-round-coordinator \
  --set nats.config.jetstream.fileStore.pvc.enabled=false
check charts/fedledger "variants: external NATS" --set nats.enabled=false --set global.externalNats.url=tls://nats.example.org:4222
# A hospital's chart has no usable defaults (its centre id, the platform's NATS): lint only; the render is refused
# below, naming centre.id. Its ci/*.yaml are what hospitals set.
if out="$(helm_run lint --strict charts/fedledger-centre 2>&1)"; then
  log "ok   charts/fedledger-centre (default values): helm lint --strict"
else
  printf '%s\n' "$out" >&2
  log "FAIL helm lint --strict charts/fedledger-centre (default values)"
  failed=1
fi
for values in charts/fedledger-centre/ci/*.yaml; do
  check charts/fedledger-centre "ci/$(basename "$values")" -f "$values"
done

# The subcharts on their own, with their own defaults (Chart.yaml, values against their schemas).
if out="$(helm_run lint --strict --with-subcharts charts/fedledger 2>&1)"; then
  log "ok   charts/fedledger and its subcharts on their own: helm lint --strict --with-subcharts ($(printf '%s\n' "$out" | grep 'linted'))"
else
  printf '%s\n' "$out" >&2
  log "FAIL helm lint --strict --with-subcharts charts/fedledger"
  failed=1
fi

unknown="additional properties 'nonsense' not allowed"
refused "an unknown top-level key" "$unknown" lint charts/fedledger --set nonsense=1
refused "an unknown top-level key" "$unknown" template charts/fedledger --set nonsense=1
refused "an unknown key of a service subchart" "$unknown" template charts/fedledger --set round-coordinator.nonsense=1
refused "an unknown key of the nats subchart" "$unknown" template charts/fedledger --set nats.config.nonsense=1
refused "an unknown global key" "$unknown" template charts/fedledger --set global.nonsense=1
refused "an unknown key of a hospital's values" "$unknown" lint charts/fedledger-centre -f charts/fedledger-centre/ci/hospital-values.yaml --set nonsense=1
refused "an unknown key of a hospital's values" "$unknown" template charts/fedledger-centre -f charts/fedledger-centre/ci/hospital-values.yaml --set nonsense=1
refused "a hospital without its centre id" "centre.id is required" template charts/fedledger-centre --set nats.url=tls://nats.example.org:4222
refused "no NATS at all" "global.externalNats.url is required" template charts/fedledger --set nats.enabled=false
refused "a NATS cluster of two" "nats.config.cluster.replicas" template charts/fedledger --set nats.config.cluster.enabled=true --set nats.config.cluster.replicas=2
refused "streams on more servers than NATS has" "global.jetstreamReplicas is 3, more than the 1 NATS server(s)" template charts/fedledger --set global.jetstreamReplicas=3

# The vendored schemas are strict: an unknown field and a wrong type are errors (a generator that lost
# additionalProperties or the types would let every chart through).
bad='apiVersion: apps/v1
kind: Deployment
metadata: {name: bad}
spec:
  replicas: "two"
  selector: {matchLabels: {app: bad}}
  template:
    metadata: {labels: {app: bad}}
    spec:
      containers:
        - name: bad
          image: busybox
          imagePullPolice: Always'
if out="$(printf '%s\n' "$bad" | "$bin/kubeconform" -strict -summary -kubernetes-version "$k8s_version" -schema-location "$schema_location" 2>&1)"; then
  log "FAIL kubeconform accepted a Deployment with an unknown field and a wrong type"
  failed=1
elif printf '%s\n' "$out" | grep -q "imagePullPolice" && printf '%s\n' "$out" | grep -q "replicas"; then
  log "ok   refused by kubeconform: an unknown field (imagePullPolice) and a wrong type (replicas: \"two\")"
else
  printf '%s\n' "$out" >&2
  log "FAIL kubeconform refused the bad Deployment without naming both problems"
  failed=1
fi

if [ "$failed" -ne 0 ]; then
  log "charts: failures above"
  exit 1
fi
log "charts: all checks passed (Kubernetes $k8s_version schemas, offline)"
