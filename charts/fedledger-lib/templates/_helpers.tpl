{{/*
Names and labels shared by every Fedledger chart. Each template takes the using chart's context (`.`).

A resource's name is always <release>-<chart name> (63 characters at most): never shortened when the release name
contains the chart's, so that one chart can name another's resources (the services reach `<release>-nats`,
`<release>-mongodb`, `<release>-otel-collector` without being told).
*/}}

{{- define "fedledger-lib.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The name of another chart's resources in the same release: (list . "nats"). */}}
{{- define "fedledger-lib.releaseName" -}}
{{- $ctx := index . 0 -}}
{{- printf "%s-%s" $ctx.Release.Name (index . 1) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "fedledger-lib.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The image tag: the chart's `image.tag`, else the release's `global.image.tag`, else the chart's appVersion. */}}
{{- define "fedledger-lib.imageTag" -}}
{{- .Values.image.tag | default (dig "image" "tag" "" (.Values.global | default dict)) | default .Chart.AppVersion -}}
{{- end -}}

{{/* The version label: a Fedledger service's image tag; a chart of another image (nats, mongodb) says its appVersion. */}}
{{- define "fedledger-lib.version" -}}
{{- if and (hasKey .Values "image") (hasKey .Values.image "tag") -}}
{{- include "fedledger-lib.imageTag" . -}}
{{- else -}}
{{- .Chart.AppVersion -}}
{{- end -}}
{{- end -}}

{{- define "fedledger-lib.image" -}}
{{- printf "%s:%s" .Values.image.repository (include "fedledger-lib.imageTag" .) -}}
{{- end -}}

{{/* Selector labels: stable for the life of a release (a Deployment's selector cannot change). */}}
{{- define "fedledger-lib.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
The recommended labels (https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/) plus
helm.sh/chart. `part-of: fedledger` is what the release's NetworkPolicies select the platform's pods by.
*/}}
{{- define "fedledger-lib.labels" -}}
{{ include "fedledger-lib.selectorLabels" . }}
app.kubernetes.io/version: {{ include "fedledger-lib.version" . | trunc 63 | quote }}
app.kubernetes.io/component: {{ include "fedledger-lib.component" . }}
app.kubernetes.io/part-of: fedledger
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "fedledger-lib.chart" . }}
{{- end -}}

{{/* The component label: Chart.yaml's annotation `fedledger.io/component`, else the chart's name. */}}
{{- define "fedledger-lib.component" -}}
{{- index (.Chart.Annotations | default dict) "fedledger.io/component" | default .Chart.Name -}}
{{- end -}}

{{/* What the release's own pods carry, for NetworkPolicy peers: every platform pod of this release. */}}
{{- define "fedledger-lib.releasePodSelector" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: fedledger
{{- end -}}

{{- define "fedledger-lib.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "fedledger-lib.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/* imagePullSecrets: the chart's own, else the release's `global.imagePullSecrets`. */}}
{{- define "fedledger-lib.imagePullSecrets" -}}
{{- $secrets := .Values.imagePullSecrets | default (dig "imagePullSecrets" list (.Values.global | default dict)) -}}
{{- with $secrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
Fails the render naming the value and why: (list "round-coordinator.natsCredentials.existingSecret" "is required: ...").
*/}}
{{- define "fedledger-lib.fail" -}}
{{- fail (printf "%s %s" (index . 0) (index . 1)) -}}
{{- end -}}
