{{/* Labels of the OpenTelemetry Collector (templates/otel-collector.yaml). */}}
{{- define "fedledger.otelSelector" -}}
app.kubernetes.io/name: otel-collector
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
{{- define "fedledger.otelLabels" -}}
{{ include "fedledger.otelSelector" . }}
app.kubernetes.io/version: {{ .Values.otelCollector.image.tag | quote }}
app.kubernetes.io/component: telemetry
app.kubernetes.io/part-of: fedledger
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "fedledger-lib.chart" . }}
{{- end -}}
