{{/*
The service's own ServiceAccount (values serviceAccount.{create,name,annotations}): no token is mounted (the
services never call the Kubernetes API); it exists so that a cluster's policies (and cloud workload identities,
through its annotations) can tell the services apart.
*/}}
{{- define "fedledger-lib.serviceAccount" -}}
{{- if .Values.serviceAccount.create -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "fedledger-lib.serviceAccountName" . }}
  labels:
    {{- include "fedledger-lib.labels" . | nindent 4 }}
  {{- with .Values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: false
{{- end -}}
{{- end -}}
