{{/*
The Service in front of a service's REST API (`http.port`, GET /health among its routes). Values: service.type,
service.port, service.annotations.
*/}}
{{- define "fedledger-lib.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "fedledger-lib.fullname" . }}
  labels:
    {{- include "fedledger-lib.labels" . | nindent 4 }}
  {{- with .Values.service.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: {{ .Values.service.type }}
  selector:
    {{- include "fedledger-lib.selectorLabels" . | nindent 4 }}
  ports:
    - name: http
      port: {{ .Values.service.port }}
      targetPort: http
      protocol: TCP
{{- end -}}
