{{/*
A Fedledger service's Deployment: the image of the service, its common settings (NATS with its own nkey and the
server's CA, logging, telemetry, HTTP), probes on its health, resources, a non-root read-only container with every
capability dropped, and credentials only from Secrets named in values (never keys in values).

  {{ include "fedledger-lib.deployment" (dict "ctx" . "natsUrl" $url "otel" $otel "env" $env "volumes" $volumes "volumeMounts" $mounts) }}

  ctx           the using chart's context
  natsUrl       NATS_URL (fedledger-lib.platformNatsUrl for the platform's services)
  otel          dict exporter (none|console|otlp) endpoint (an http(s) URL, needed with otlp)
  env           the service's own environment, a YAML list of EnvVar (may be "")
  volumes       its own volumes, a YAML list (may be ""); volumeMounts the same for its container
  optional: image (instead of repository:tag), resources, tolerations (instead of the values'), runtimeClassName,
                ledgerReader (true: the pod reads the embedded ledger's volume; see fedledger-lib.ledgerAffinity)

Values the using chart defines (its values.schema.json pins them): image.{repository,tag,pullPolicy},
imagePullSecrets, replicaCount, strategy, logLevel, logFormat, extraEnv (NAME: value), natsCredentials.{existingSecret,
seedKey,caKey}, resources, podSecurityContext, securityContext, probes.{startup,liveness,readiness}, serviceAccount,
podAnnotations, podLabels, nodeSelector, tolerations, affinity, topologySpreadConstraints,
terminationGracePeriodSeconds, tmpSize (the /tmp emptyDir's limit); and `http.port` when the service has a REST API (then the probes GET /health on it;
without one, the service serves GET /health alone on HEALTH_PORT, fedledger-lib.healthPort, for the probes: 503 while
NATS is unreachable).
*/}}
{{- define "fedledger-lib.deployment" -}}
{{- $ := .ctx -}}
{{- $v := $.Values -}}
{{- $hasHttp := hasKey $v "http" -}}
{{- if not $v.natsCredentials.existingSecret -}}
{{- include "fedledger-lib.fail" (list (printf "%s.natsCredentials.existingSecret" $.Chart.Name) "is required: the Secret holding this principal's NATS nkey seed and the NATS server's CA (charts/README.md)") -}}
{{- end -}}
{{- if and (eq .otel.exporter "otlp") (not .otel.endpoint) -}}
{{- include "fedledger-lib.fail" (list "telemetry" "exporter otlp needs an endpoint (an OTLP/HTTP URL such as http://collector:4318)") -}}
{{- end -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "fedledger-lib.fullname" $ }}
  labels:
    {{- include "fedledger-lib.labels" $ | nindent 4 }}
spec:
  replicas: {{ $v.replicaCount }}
  revisionHistoryLimit: 5
  {{- with $v.strategy }}
  strategy:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "fedledger-lib.selectorLabels" $ | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "fedledger-lib.labels" $ | nindent 8 }}
        {{- with $v.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with $v.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      serviceAccountName: {{ include "fedledger-lib.serviceAccountName" $ }}
      # The services never call the Kubernetes API.
      automountServiceAccountToken: false
      {{- with include "fedledger-lib.imagePullSecrets" $ }}
      {{- . | nindent 6 }}
      {{- end }}
      securityContext:
        {{- toYaml $v.podSecurityContext | nindent 8 }}
      # SHUTDOWN_TIMEOUT_MS (handlers in flight finish, NATS drains) plus the service's own 5 s margin.
      terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
      containers:
        - name: {{ include "fedledger-lib.component" $ }}
          image: {{ get . "image" | default (include "fedledger-lib.image" $) | quote }}
          imagePullPolicy: {{ $v.image.pullPolicy }}
          securityContext:
            {{- toYaml $v.securityContext | nindent 12 }}
          env:
            - name: NATS_URL
              value: {{ .natsUrl | quote }}
            - name: JETSTREAM_REPLICAS
              value: {{ dig "jetstreamReplicas" 1 ($.Values.global | default dict) | quote }}
            - name: NATS_NKEY_SEED_FILE
              value: /etc/fedledger/nats/seed.nk
            - name: NATS_TLS_CA_FILE
              value: /etc/fedledger/nats/ca.crt
            - name: LOG_LEVEL
              value: {{ $v.logLevel | quote }}
            - name: LOG_FORMAT
              value: {{ $v.logFormat | quote }}
            - name: SHUTDOWN_TIMEOUT_MS
              value: {{ mul (sub $v.terminationGracePeriodSeconds 15) 1000 | quote }}
            - name: FEDLEDGER_OTEL_EXPORTER
              value: {{ .otel.exporter | quote }}
            {{- if .otel.endpoint }}
            - name: OTEL_EXPORTER_OTLP_ENDPOINT
              value: {{ .otel.endpoint | quote }}
            {{- end }}
            - name: OTEL_RESOURCE_ATTRIBUTES
              value: {{ printf "service.namespace=%s,deployment.environment=%s" $.Release.Namespace $.Release.Name | quote }}
            {{- if $hasHttp }}
            # Listen on the pod's address (the service's default is loopback only).
            - name: HTTP_HOST
              value: "0.0.0.0"
            - name: HTTP_PORT
              value: {{ $v.http.port | quote }}
            {{- else }}
            # GET /health alone, on the pod's address for the kubelet's probes (no Service selects this port).
            - name: HEALTH_HOST
              value: "0.0.0.0"
            - name: HEALTH_PORT
              value: {{ include "fedledger-lib.healthPort" . | quote }}
            {{- end }}
            # Node writes nothing else; HOME on the writable /tmp for libraries that cache there.
            - name: HOME
              value: /tmp
            {{- with .env }}
            {{- . | nindent 12 }}
            {{- end }}
            {{- range $name, $value := $v.extraEnv }}
            {{- /* YAML numbers arrive as float64: 100000000 would print as 1e+08, which the services refuse. */}}
            {{- $text := toString $value }}
            {{- if and (kindIs "float64" $value) (eq (float64 (int64 $value)) $value) }}
            {{- $text = printf "%d" (int64 $value) }}
            {{- end }}
            - name: {{ $name }}
              value: {{ $text | quote }}
            {{- end }}
          ports:
            {{- if $hasHttp }}
            - name: http
              containerPort: {{ $v.http.port }}
              protocol: TCP
            {{- else }}
            - name: health
              containerPort: {{ include "fedledger-lib.healthPort" . }}
              protocol: TCP
            {{- end }}
          {{- $check := printf "httpGet:\n  path: /health\n  port: %s" (ternary "http" "health" $hasHttp) }}
          startupProbe:
            {{- $check | nindent 12 }}
            {{- toYaml $v.probes.startup | nindent 12 }}
          livenessProbe:
            {{- $check | nindent 12 }}
            {{- toYaml $v.probes.liveness | nindent 12 }}
          readinessProbe:
            {{- $check | nindent 12 }}
            {{- toYaml $v.probes.readiness | nindent 12 }}
          resources:
            {{- toYaml (get . "resources" | default $v.resources) | nindent 12 }}
          volumeMounts:
            - name: nats-credentials
              mountPath: /etc/fedledger/nats
              readOnly: true
            - name: tmp
              mountPath: /tmp
            {{- with .volumeMounts }}
            {{- . | nindent 12 }}
            {{- end }}
      volumes:
        # This principal's nkey seed and the CA the NATS server's certificate chains to, from one Secret.
        - name: nats-credentials
          secret:
            secretName: {{ $v.natsCredentials.existingSecret | quote }}
            defaultMode: 0440
            items:
              - key: {{ $v.natsCredentials.seedKey | quote }}
                path: seed.nk
              - key: {{ $v.natsCredentials.caKey | quote }}
                path: ca.crt
        - name: tmp
          emptyDir:
            sizeLimit: {{ $v.tmpSize }}
        {{- with .volumes }}
        {{- . | nindent 8 }}
        {{- end }}
      {{- with $v.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- $affinity := $v.affinity }}
      {{- if and (get . "ledgerReader") (not $affinity) }}
      {{- $affinity = include "fedledger-lib.ledgerAffinity" $ | fromYaml }}
      {{- end }}
      {{- with $affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with get . "runtimeClassName" }}
      runtimeClassName: {{ . | quote }}
      {{- end }}
      {{- with (get . "tolerations" | default $v.tolerations) }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.topologySpreadConstraints }}
      topologySpreadConstraints:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}

{{/*
The port of GET /health for a service without a REST API (the aggregator, a centre-agent): HEALTH_PORT, 8090 as in
their images. Only the kubelet's probes use it.
*/}}
{{- define "fedledger-lib.healthPort" -}}
8090
{{- end -}}
