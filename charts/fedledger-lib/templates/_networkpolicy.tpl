{{/*
Lets the REST API of a service in: its HTTP port from the peers in `networkPolicy.from` (default: any pod of the
namespace; add the ingress controller's namespace to publish it). Everything else stays denied by the release's
default-deny policy (charts/fedledger templates/networkpolicy.yaml). Values: networkPolicy.{enabled,from}.
*/}}
{{- define "fedledger-lib.httpNetworkPolicy" -}}
{{- if .Values.networkPolicy.enabled -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "fedledger-lib.fullname" . }}
  labels:
    {{- include "fedledger-lib.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "fedledger-lib.selectorLabels" . | nindent 6 }}
  policyTypes:
    - Ingress
  ingress:
    - ports:
        - port: http
          protocol: TCP
      {{- with .Values.networkPolicy.from }}
      from:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}
{{- end -}}
