{{/*
The gateway's objects, shared by the gateway (gateway-*.yaml) and the interactive gateway
(gateway-interactive.yaml, gateway.interactive): the same process, image, environment,
Secrets, configuration, probes, security context and volumes; only the names, the
component label (so that neither's Service, PDB, HPA or NetworkPolicy selects the other's
Pods), the replicas, the resources and the Service differ.

Each is called with (dict "ctx" $ "component" C "path" P "v" V): C is the component label
and the objects' name suffix ("gateway", "gateway-interactive"), P the values path of V
(for messages), V the values block holding replicaCount, resources, service, pdb and
autoscaling (.Values.gateway, .Values.gateway.interactive).
*/}}

{{/* The Deployment. */}}
{{- define "agentqueue.gateway.deployment" -}}
{{- $ctx := .ctx -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "agentqueue.fullname" $ctx }}-{{ .component }}
  labels:
    {{- include "agentqueue.labels" (dict "ctx" $ctx "component" .component) | nindent 4 }}
spec:
  {{- if not .v.autoscaling.enabled }}
  replicas: {{ .v.replicaCount | int64 }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "agentqueue.selectorLabels" (dict "ctx" $ctx "component" .component) | nindent 6 }}
  template:
    {{- include "agentqueue.gateway.podTemplate" . | nindent 4 }}
{{- end -}}

{{/* The Pod template: the resources are V's, or the gateway's when V gives none. */}}
{{- define "agentqueue.gateway.podTemplate" -}}
{{- $ctx := .ctx -}}
{{- $v := $ctx.Values -}}
metadata:
  labels:
    {{- include "agentqueue.labels" (dict "ctx" $ctx "component" .component) | nindent 4 }}
  annotations:
    checksum/config: {{ include (print $ctx.Template.BasePath "/configmap.yaml") $ctx | sha256sum }}
    {{- with include "agentqueue.configFileChecksum" $ctx }}
    {{ . }}
    {{- end }}
spec:
  automountServiceAccountToken: false
  {{- include "agentqueue.podCommon" $ctx | nindent 2 }}
  containers:
    - name: gateway
      image: {{ include "agentqueue.image" (dict "ctx" $ctx "image" $v.gateway.image) }}
      imagePullPolicy: {{ $v.image.pullPolicy }}
      command: ["python", "-m", "agentqueue.gateway"]
      envFrom:
        - configMapRef:
            name: {{ include "agentqueue.configMapName" $ctx }}
      env:
        - name: AGENTQUEUE_HOST
          value: "0.0.0.0"
        - name: AGENTQUEUE_PORT
          value: "8080"
        - name: AGENTQUEUE_MAX_BODY_BYTES
          value: {{ $v.gateway.maxBodyBytes | int64 | quote }}
        {{- include "agentqueue.redisUrlEnv" $ctx | nindent 8 }}
        {{- with include "agentqueue.configFileEnv" $ctx }}
        {{- . | nindent 8 }}
        {{- end }}
        {{- /* the interactive endpoints call providers themselves */}}
        {{- include "agentqueue.providerKeyEnv" $ctx | nindent 8 }}
        {{- if $v.gateway.auth.disabled }}
        - name: AGENTQUEUE_AUTH_DISABLED
          value: "true"
        {{- else }}
        - name: AGENTQUEUE_API_KEYS
          valueFrom:
            secretKeyRef:
              {{- include "agentqueue.apiKeysSecretRef" $ctx | nindent 14 }}
        {{- /* the admin API and the console's admin login; absent: admin routes refuse */}}
        - name: AGENTQUEUE_ADMIN_KEY
          valueFrom:
            secretKeyRef:
              {{- include "agentqueue.adminKeySecretRef" $ctx | nindent 14 }}
        {{- end }}
      ports:
        - name: http
          containerPort: 8080
          protocol: TCP
      livenessProbe:
        httpGet:
          path: /healthz
          port: http
        periodSeconds: 10
        timeoutSeconds: 3
        failureThreshold: 3
      readinessProbe:
        httpGet:
          path: /readyz
          port: http
        periodSeconds: 5
        timeoutSeconds: 3
        failureThreshold: 2
      resources:
        {{- toYaml (.v.resources | default $v.gateway.resources) | nindent 8 }}
      securityContext:
        {{- toYaml $v.containerSecurityContext | nindent 8 }}
      volumeMounts:
        {{- include "agentqueue.tmpMount" $ctx | nindent 8 }}
        {{- with include "agentqueue.configFileMounts" $ctx }}
        {{- . | nindent 8 }}
        {{- end }}
  volumes:
    {{- include "agentqueue.tmpVolume" $ctx | nindent 4 }}
    {{- with include "agentqueue.configFileVolumes" $ctx }}
    {{- . | nindent 4 }}
    {{- end }}
{{- end -}}

{{/* The Service, port `http` of V's Pods. */}}
{{- define "agentqueue.gateway.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "agentqueue.fullname" .ctx }}-{{ .component }}
  labels:
    {{- include "agentqueue.labels" (dict "ctx" .ctx "component" .component) | nindent 4 }}
spec:
  type: {{ .v.service.type }}
  selector:
    {{- include "agentqueue.selectorLabels" (dict "ctx" .ctx "component" .component) | nindent 4 }}
  ports:
    - name: http
      port: {{ .v.service.port | int64 }}
      targetPort: http
      protocol: TCP
{{- end -}}

{{/* The HorizontalPodAutoscaler (on CPU), when V's autoscaling is enabled. */}}
{{- define "agentqueue.gateway.hpa" -}}
{{- if .v.autoscaling.enabled }}
{{- $a := .v.autoscaling }}
{{- if gt (int $a.minReplicas) (int $a.maxReplicas) }}
{{- fail (printf "%s.autoscaling.minReplicas must not exceed maxReplicas" .path) }}
{{- end }}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "agentqueue.fullname" .ctx }}-{{ .component }}
  labels:
    {{- include "agentqueue.labels" (dict "ctx" .ctx "component" .component) | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "agentqueue.fullname" .ctx }}-{{ .component }}
  minReplicas: {{ $a.minReplicas | int64 }}
  maxReplicas: {{ $a.maxReplicas | int64 }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $a.targetCPUUtilizationPercentage | int64 }}
{{- end }}
{{- end -}}

{{/* The PodDisruptionBudget, when V's pdb is enabled. */}}
{{- define "agentqueue.gateway.pdb" -}}
{{- if .v.pdb.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "agentqueue.fullname" .ctx }}-{{ .component }}
  labels:
    {{- include "agentqueue.labels" (dict "ctx" .ctx "component" .component) | nindent 4 }}
spec:
  maxUnavailable: {{ .v.pdb.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "agentqueue.selectorLabels" (dict "ctx" .ctx "component" .component) | nindent 6 }}
{{- end }}
{{- end -}}

{{/* The gateways the chart runs, as component names: "gateway", and "gateway-interactive"
when gateway.interactive is enabled (a JSON list: fromJsonArray it). */}}
{{- define "agentqueue.gateway.components" -}}
{{- $components := list "gateway" -}}
{{- if .Values.gateway.interactive.enabled }}{{ $components = append $components "gateway-interactive" }}{{ end -}}
{{- toJson $components -}}
{{- end -}}
