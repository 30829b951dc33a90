{{/*
What the platform's services (the subcharts of charts/fedledger) share, read from `global` — the only values a
subchart sees besides its own. charts/fedledger/values.yaml documents each key; its templates/validate.yaml checks
they agree with the switches only the umbrella sees (nats.enabled, mongodb.enabled, otelCollector.enabled).
Every read goes through `dig` with a default, so that a subchart rendered on its own (helm lint --with-subcharts)
has the same defaults.
*/}}

{{/* NATS_URL: global.externalNats.url, else the release's own NATS (subchart nats) over TLS. */}}
{{- define "fedledger-lib.platformNatsUrl" -}}
{{- dig "externalNats" "url" "" (.Values.global | default dict) | default (printf "tls://%s:4222" (include "fedledger-lib.releaseName" (list . "nats"))) -}}
{{- end -}}

{{/*
The telemetry settings as YAML (fromYaml it): global.otel.exporter (none|console|otlp) and global.otel.endpoint,
which defaults to the release's OpenTelemetry Collector (otelCollector.enabled) when the exporter is otlp.
*/}}
{{- define "fedledger-lib.platformOtel" -}}
{{- $otel := dig "otel" dict (.Values.global | default dict) -}}
{{- $exporter := dig "exporter" "none" $otel -}}
{{- $endpoint := dig "endpoint" "" $otel -}}
{{- if and (eq $exporter "otlp") (not $endpoint) -}}
{{- $endpoint = printf "http://%s:4318" (include "fedledger-lib.releaseName" (list . "otel-collector")) -}}
{{- end -}}
exporter: {{ $exporter | quote }}
endpoint: {{ $endpoint | quote }}
{{- end -}}

{{/* global.ledger.mode: embedded (a block file on a volume the release shares) or fabric. */}}
{{- define "fedledger-lib.ledgerMode" -}}
{{- dig "ledger" "mode" "embedded" (.Values.global | default dict) -}}
{{- end -}}

{{/*
The ledger's environment for a service that uses it (dict "ctx" . "writer" true|false): LEDGER, and LEDGER_DIR on
the release's ledger volume (read-only unless the service is its one writer, the passport-registry) or
FABRIC_CONNECTION from the Secret global.ledger.fabric.connectionSecret (connection.json and the peer's TLS CA it
names, side by side).
*/}}
{{- define "fedledger-lib.ledgerEnv" -}}
- name: LEDGER
  value: {{ include "fedledger-lib.ledgerMode" .ctx | quote }}
- name: LEDGER_DIR
  value: /var/lib/fedledger/ledger
- name: FABRIC_CONNECTION
  value: /etc/fedledger/fabric/connection.json
{{- end -}}

{{- define "fedledger-lib.ledgerVolume" -}}
{{- $ledger := dig "ledger" dict (.ctx.Values.global | default dict) -}}
{{- if eq (include "fedledger-lib.ledgerMode" .ctx) "fabric" -}}
{{- $secret := dig "fabric" "connectionSecret" "" $ledger -}}
{{- if not $secret -}}
{{- include "fedledger-lib.fail" (list "global.ledger.fabric.connectionSecret" "is required with global.ledger.mode=fabric: the Secret holding connection.json and the peer TLS CA file it names") -}}
{{- end -}}
- name: fabric-connection
  secret:
    secretName: {{ $secret | quote }}
    defaultMode: 0440
{{- else -}}
- name: ledger
  persistentVolumeClaim:
    claimName: {{ dig "embedded" "existingClaim" "" $ledger | default (include "fedledger-lib.releaseName" (list .ctx "ledger")) | quote }}
    readOnly: {{ not .writer }}
{{- end -}}
{{- end -}}

{{/*
A reader of the embedded ledger on a ReadWriteOnce volume must run on the node that has it mounted, the
passport-registry's: required pod affinity to it (used when the chart's own `affinity` is empty). Nothing for
fabric or a ReadWriteMany volume.
*/}}
{{- define "fedledger-lib.ledgerAffinity" -}}
{{- $embedded := dig "ledger" "embedded" dict (.Values.global | default dict) -}}
{{- if and (eq (include "fedledger-lib.ledgerMode" .) "embedded") (eq (dig "accessMode" "ReadWriteOnce" $embedded) "ReadWriteOnce") -}}
podAffinity:
  requiredDuringSchedulingIgnoredDuringExecution:
    - topologyKey: kubernetes.io/hostname
      labelSelector:
        matchLabels:
          app.kubernetes.io/name: passport-registry
          app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
{{- end -}}

{{- define "fedledger-lib.ledgerVolumeMount" -}}
{{- if eq (include "fedledger-lib.ledgerMode" .ctx) "fabric" -}}
- name: fabric-connection
  mountPath: /etc/fedledger/fabric
  readOnly: true
{{- else -}}
- name: ledger
  mountPath: /var/lib/fedledger/ledger
  readOnly: {{ not .writer }}
{{- end -}}
{{- end -}}

{{/*
IDENTITY_DIR as `fedledger identity` lays it out, assembled from Secrets by a projected volume:

  (dict "organisationsSecret" "fedledger-organisations" "organisations" (list "ub.fedledger.local" ...)
        "own" (dict "existingSecret" "..." "org" "ub.fedledger.local" "user" "passport-registry"))

- organisationsSecret holds each organisation's public material under two keys, <domain>.org.json and
  <domain>.ca-cert.pem (its org.json and msp/cacerts/ca-cert.pem): what signatures are checked against;
- own (optional; existingSecret "" for none) is this service's identity: a Secret with cert.pem and priv_sk (its
  msp/signcerts/cert.pem and msp/keystore/priv_sk), placed as users/<user>@<org>/msp of its organisation.
*/}}
{{- define "fedledger-lib.identityVolume" -}}
{{- if not .organisationsSecret -}}
{{- include "fedledger-lib.fail" (list "identity organisationsSecret" "is required: the Secret holding every organisation's org.json and CA certificate (charts/README.md)") -}}
{{- end -}}
{{- if not .organisations -}}
{{- include "fedledger-lib.fail" (list "identity organisations" "is empty: list the organisations' domains (e.g. ub.fedledger.local)") -}}
{{- end -}}
- name: identities
  projected:
    defaultMode: 0440
    sources:
      - secret:
          name: {{ .organisationsSecret | quote }}
          items:
            {{- range .organisations }}
            - key: {{ printf "%s.org.json" . | quote }}
              path: {{ printf "organizations/%s/org.json" . | quote }}
            - key: {{ printf "%s.ca-cert.pem" . | quote }}
              path: {{ printf "organizations/%s/msp/cacerts/ca-cert.pem" . | quote }}
            {{- end }}
      {{- with .own }}
      {{- if .existingSecret }}
      {{- $msp := printf "organizations/%s/users/%s@%s/msp" .org .user .org }}
      - secret:
          name: {{ .existingSecret | quote }}
          items:
            - key: cert.pem
              path: {{ printf "%s/signcerts/cert.pem" $msp | quote }}
            - key: priv_sk
              path: {{ printf "%s/keystore/priv_sk" $msp | quote }}
      {{- end }}
      {{- end }}
{{- end -}}

{{- define "fedledger-lib.identityVolumeMount" -}}
- name: identities
  mountPath: /etc/fedledger/identities
  readOnly: true
{{- end -}}

{{/* The organisations of global.identity, with this chart's own identity (values identity.*) when it has one. */}}
{{- define "fedledger-lib.platformIdentityVolume" -}}
{{- $global := dig "identity" dict (.Values.global | default dict) -}}
{{- $args := dict "organisationsSecret" (dig "organisationsSecret" "fedledger-organisations" $global) "organisations" (dig "organisations" list $global) -}}
{{- if hasKey .Values "identity" -}}
{{- $_ := set $args "own" .Values.identity -}}
{{- end -}}
{{- include "fedledger-lib.identityVolume" $args -}}
{{- end -}}
