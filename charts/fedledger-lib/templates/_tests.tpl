{{/*
A `helm test` Pod that GETs a URL and fails unless it answers 2xx (busybox wget), e.g. a service's /health:

  {{ include "fedledger-lib.testGet" (dict "ctx" . "name" "health" "url" "http://...:8080/health") }}

Values: tests.{enabled,image.{repository,tag}}. It runs as nobody, read-only, with no capabilities, and carries
the release's pod labels so that the platform's NetworkPolicies let it in.
*/}}
{{- define "fedledger-lib.testGet" -}}
{{- $ := .ctx -}}
{{- if $.Values.tests.enabled -}}
apiVersion: v1
kind: Pod
metadata:
  name: {{ printf "%s-test-%s" (include "fedledger-lib.fullname" $) .name | trunc 63 | trimSuffix "-" }}
  labels:
    {{- include "fedledger-lib.releasePodSelector" $ | nindent 4 }}
    app.kubernetes.io/name: {{ printf "%s-test" $.Chart.Name }}
    app.kubernetes.io/component: test
    app.kubernetes.io/managed-by: {{ $.Release.Service }}
    helm.sh/chart: {{ include "fedledger-lib.chart" $ }}
  annotations:
    helm.sh/hook: test
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  securityContext:
    runAsNonRoot: true
    runAsUser: 65534
    runAsGroup: 65534
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: get
      image: {{ printf "%s:%s" $.Values.tests.image.repository $.Values.tests.image.tag | quote }}
      command: ["wget", "-q", "-O", "-", "-T", "10", {{ .url | quote }}]
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities:
          drop: ["ALL"]
      resources:
        requests:
          cpu: 10m
          memory: 16Mi
        limits:
          cpu: 100m
          memory: 32Mi
{{- end -}}
{{- end -}}
