{{/* How many servers: config.cluster.replicas with routes on, else one. */}}
{{- define "nats.replicas" -}}
{{- if .Values.config.cluster.enabled -}}{{ .Values.config.cluster.replicas }}{{- else -}}1{{- end -}}
{{- end -}}

{{- define "nats.headless" -}}
{{- printf "%s-headless" (include "fedledger-lib.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* A config.merge value: "<< x >>" is NATS syntax written as it is (as upstream), anything else JSON. */}}
{{- define "nats.confValue" -}}
{{- if and (kindIs "string" .) (hasPrefix "<<" .) (hasSuffix ">>" .) -}}
{{- . | trimPrefix "<<" | trimSuffix ">>" | trim -}}
{{- else -}}
{{- toJson . -}}
{{- end -}}
{{- end -}}
