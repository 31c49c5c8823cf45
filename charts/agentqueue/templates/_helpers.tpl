{{/*
Names, labels, images and the few decisions several templates share.
The name label is always "agentqueue": worker Pods made by the operator carry it too, and the
NetworkPolicies admit Pods by it.
*/}}

{{/* Prefix of every object name: the release name, plus "-agentqueue" unless it says so. */}}
{{- define "agentqueue.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else if contains "agentqueue" .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-agentqueue" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "agentqueue.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every object; call with (dict "ctx" $ "component" "gateway"). */}}
{{- define "agentqueue.labels" -}}
helm.sh/chart: {{ include "agentqueue.chart" .ctx }}
{{ include "agentqueue.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: agentqueue
{{- end -}}

{{/* Labels a Service or Deployment selects on. */}}
{{- define "agentqueue.selectorLabels" -}}
app.kubernetes.io/name: agentqueue
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* "registry/repository:tag" of an agentqueue image; call with (dict "ctx" $ "image" .Values.gateway.image). */}}
{{- define "agentqueue.image" -}}
{{- $registry := .ctx.Values.image.registry -}}
{{- $repo := .image.repository -}}
{{- if $registry -}}{{- $repo = printf "%s/%s" $registry $repo -}}{{- end -}}
{{- $tag := .image.tag | default .ctx.Values.image.tag | default .ctx.Chart.AppVersion -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end -}}

{{/* "true" when the simulator runs: forced by simulator.enabled, else when no provider key is configured. */}}
{{- define "agentqueue.simulatorEnabled" -}}
{{- $sim := .Values.simulator.enabled -}}
{{- if kindIs "bool" $sim -}}
{{- if $sim -}}true{{- end -}}
{{- else -}}
{{- $p := .Values.providers -}}
{{- if not (or $p.existingSecret $p.anthropic.apiKey $p.openai.apiKey $p.google.apiKey) -}}true{{- end -}}
{{- end -}}
{{- end -}}

{{/* The Secret the chart makes: Redis URL and password, provider keys given as values. */}}
{{- define "agentqueue.envSecretName" -}}
{{- printf "%s-env" (include "agentqueue.fullname" .) -}}
{{- end -}}

{{- define "agentqueue.configMapName" -}}
{{- printf "%s-config" (include "agentqueue.fullname" .) -}}
{{- end -}}

{{/* "true" when the URL of an external Redis is assembled from host, port, db, tls and
passwordSecret (neither redis.external.url nor redis.external.existingSecret given). */}}
{{- define "agentqueue.redisUrlAssembled" -}}
{{- $e := .Values.redis.external -}}
{{- if and (not .Values.redis.enabled) (not $e.existingSecret) (not $e.url) (or $e.host $e.sentinels) -}}true{{- end -}}
{{- end -}}

{{/* The assembled URL; the password stays a $(REDIS_PASSWORD) reference the kubelet expands. */}}
{{- define "agentqueue.redisAssembledUrl" -}}
{{- $e := .Values.redis.external -}}
{{- $auth := "" -}}
{{- if $e.passwordSecret.name -}}
{{- $auth = printf "%s:$(REDIS_PASSWORD)@" ($e.username | urlquery) -}}
{{- else if $e.username -}}
{{- $auth = printf "%s@" ($e.username | urlquery) -}}
{{- end -}}
{{- printf "%s://%s%s:%d/%d" (ternary "rediss" "redis" (eq (toString $e.tls) "true")) $auth ($e.host | default $e.sentinelMaster) (int $e.port) (int $e.db) -}}
{{- end -}}

{{/* Where AGENTQUEUE_REDIS_URL lives: the chart's Secret, or the user's existing one. */}}
{{- define "agentqueue.redisUrlSecretRef" -}}
{{- if and (not .Values.redis.enabled) .Values.redis.external.existingSecret -}}
name: {{ .Values.redis.external.existingSecret }}
key: {{ .Values.redis.external.existingSecretKey }}
{{- else -}}
name: {{ include "agentqueue.envSecretName" . }}
key: AGENTQUEUE_REDIS_URL
{{- end -}}
{{- end -}}

{{/* Sentinels as host:port, comma-separated: the in-chart ones or redis.external.sentinels. */}}
{{- define "agentqueue.redisSentinels" -}}
{{- if .Values.redis.enabled -}}
{{- if .Values.redis.sentinel.enabled -}}
{{- $fullname := include "agentqueue.fullname" . -}}
{{- $hosts := list -}}
{{- range $i := until (int .Values.redis.sentinel.replicas) -}}
{{- $hosts = append $hosts (printf "%s-redis-%d.%s-redis:26379" $fullname $i $fullname) -}}
{{- end -}}
{{- join "," $hosts -}}
{{- end -}}
{{- else -}}
{{- join "," .Values.redis.external.sentinels -}}
{{- end -}}
{{- end -}}

{{/* The env entries every agentqueue process gets for Redis (workers too, through their
AgentQueue): the URL, the password it refers to when assembled, and the Sentinels. */}}
{{- define "agentqueue.redisUrlEnv" -}}
{{- if include "agentqueue.redisUrlAssembled" . -}}
{{- with .Values.redis.external.passwordSecret.name }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.redis.external.passwordSecret.key }}
{{- end }}
- name: AGENTQUEUE_REDIS_URL
  value: {{ include "agentqueue.redisAssembledUrl" . | quote }}
{{- else }}
- name: AGENTQUEUE_REDIS_URL
  valueFrom:
    secretKeyRef:
      {{- include "agentqueue.redisUrlSecretRef" . | nindent 6 }}
{{- end }}
{{- with include "agentqueue.redisSentinels" . }}
- name: AGENTQUEUE_REDIS_SENTINELS
  value: {{ . | quote }}
- name: AGENTQUEUE_REDIS_SENTINEL_MASTER
  value: {{ ternary $.Values.redis.sentinel.masterName $.Values.redis.external.sentinelMaster $.Values.redis.enabled | quote }}
{{- end }}
{{- end -}}

{{/* The in-chart Redis Pods' env: their password, the same for redis-cli (probes), and with
Sentinel the Pod's name and namespace. */}}
{{- define "agentqueue.redisPodEnv" -}}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "agentqueue.envSecretName" . }}
      key: REDIS_PASSWORD
# redis-cli (the readiness probe) reads its password from here.
- name: REDISCLI_AUTH
  valueFrom:
    secretKeyRef:
      name: {{ include "agentqueue.envSecretName" . }}
      key: REDIS_PASSWORD
{{- if .Values.redis.sentinel.enabled }}
# where the Pod is: its stable DNS name is announced to the Sentinels and the replicas
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
{{- end }}
{{- end -}}

{{/* Where the gateway's API keys live. */}}
{{- define "agentqueue.apiKeysSecretRef" -}}
{{- if .Values.gateway.auth.existingSecret -}}
name: {{ .Values.gateway.auth.existingSecret }}
key: {{ .Values.gateway.auth.existingSecretKey }}
{{- else -}}
name: {{ include "agentqueue.fullname" . }}-api-keys
key: AGENTQUEUE_API_KEYS
{{- end -}}
{{- end -}}

{{- define "agentqueue.adminKeySecretRef" -}}
{{- if .Values.gateway.auth.existingSecret -}}
name: {{ .Values.gateway.auth.existingSecret }}
key: {{ .Values.gateway.auth.existingSecretAdminKey }}
optional: true
{{- else -}}
name: {{ include "agentqueue.fullname" . }}-api-keys
key: AGENTQUEUE_ADMIN_KEY
{{- /* optional: a Secret made by hand (k8s/base) may lack it; the admin routes then refuse */}}
optional: true
{{- end -}}
{{- end -}}

{{- define "agentqueue.limiterUrl" -}}
{{- printf "http://%s-limiter:8091" (include "agentqueue.fullname" .) -}}
{{- end -}}

{{- define "agentqueue.simulatorUrl" -}}
{{- printf "http://%s-simulator:8090" (include "agentqueue.fullname" .) -}}
{{- end -}}

{{/* Full budget names (provider:model:account) of every configured budget. */}}
{{- define "agentqueue.budgetNames" -}}
{{- $names := list -}}
{{- range $name, $_ := .Values.budgets -}}
{{- if eq (len (splitList ":" $name)) 2 -}}
{{- $names = append $names (printf "%s:default" $name) -}}
{{- else -}}
{{- $names = append $names $name -}}
{{- end -}}
{{- end -}}
{{- toJson $names -}}
{{- end -}}

{{/* Pod-spec pieces every chart Pod shares. */}}
{{- define "agentqueue.podCommon" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The writable /tmp every Python container gets (the root filesystem is read-only). */}}
{{- define "agentqueue.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end -}}

{{- define "agentqueue.tmpMount" -}}
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* The kopf peering object's name (AGENTQUEUE_OPERATOR_PEERING): operator.peering, else
the release's fullname, so that two releases never share one (a ClusterKopfPeering is
cluster-wide: two cluster-scoped releases on one name would pause each other). */}}
{{- define "agentqueue.operatorPeering" -}}
{{- .Values.operator.peering | default (include "agentqueue.fullname" .) -}}
{{- end -}}

{{- define "agentqueue.operatorServiceAccount" -}}
{{- .Values.operator.serviceAccount.name | default (printf "%s-operator" (include "agentqueue.fullname" .)) -}}
{{- end -}}

{{/* The operator's rules on the objects it serves (Role or ClusterRole, by operator.scope). */}}
{{- define "agentqueue.operatorRules" -}}
- apiGroups: [agentqueue.io]
  resources: [agentqueues]
  verbs: [get, list, watch, patch, update]
- apiGroups: [agentqueue.io]
  resources: [agentqueues/status]
  verbs: [get, patch, update]
# Each worker Deployment's ownerReference (kopf's adopt) sets blockOwnerDeletion, which the
# OwnerReferencesPermissionEnforcement admission plugin (on in OpenShift) allows only to who
# may update the owner's finalizers: without this, every Deployment create is refused (403).
- apiGroups: [agentqueue.io]
  resources: [agentqueues/finalizers]
  verbs: [update]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, watch, create, patch, update, delete]
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch]
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- end -}}

{{/* A NetworkPolicy peer: the agentqueue Pods of this namespace, workers included. */}}
{{- define "agentqueue.ourPodsPeer" -}}
- podSelector:
    matchLabels:
      app.kubernetes.io/name: agentqueue
{{- end -}}

{{/* Provider keys as env entries: from the user's existing Secret (under its key names) or
the chart's Secret; optional, so a provider without a key is simply not configured. */}}
{{- define "agentqueue.providerKeyEnv" -}}
{{- range $provider, $env := dict "anthropic" "ANTHROPIC_API_KEY" "openai" "OPENAI_API_KEY" "google" "GOOGLE_API_KEY" }}
- name: {{ $env }}
  valueFrom:
    secretKeyRef:
      {{- if $.Values.providers.existingSecret }}
      name: {{ $.Values.providers.existingSecret }}
      key: {{ (get $.Values.providers $provider).secretKey }}
      {{- else }}
      name: {{ include "agentqueue.envSecretName" $ }}
      key: {{ $env }}
      {{- end }}
      optional: true
{{- end }}
{{- end -}}

{{/* The configuration file (values configFile, docs/config.md): set when content is given. */}}
{{- define "agentqueue.configFileEnabled" -}}
{{- if .Values.configFile.content }}true{{ end -}}
{{- end -}}

{{- define "agentqueue.configFileName" -}}
{{- printf "%s-config-file" (include "agentqueue.fullname" .) -}}
{{- end -}}

{{/* The Secret mounted at /etc/agentqueue/secrets: the user's, or the chart's from configFile.secrets. */}}
{{- define "agentqueue.configSecretsName" -}}
{{- .Values.configFile.existingSecret | default (printf "%s-config-secrets" (include "agentqueue.fullname" .)) -}}
{{- end -}}

{{- define "agentqueue.configSecretsEnabled" -}}
{{- if or .Values.configFile.existingSecret .Values.configFile.secrets }}true{{ end -}}
{{- end -}}

{{/* Where a Pod reads the file: a directory mount (not subPath), so that the kubelet's
updates reach the running process, which reloads it. */}}
{{- define "agentqueue.configFileEnv" -}}
{{- if include "agentqueue.configFileEnabled" . -}}
- name: AGENTQUEUE_CONFIG
  value: /etc/agentqueue/config/config.yaml
{{- end -}}
{{- end -}}

{{- define "agentqueue.configFileMounts" -}}
{{- if include "agentqueue.configFileEnabled" . -}}
- name: config-file
  mountPath: /etc/agentqueue/config
  readOnly: true
{{- if include "agentqueue.configSecretsEnabled" . }}
- name: config-secrets
  mountPath: /etc/agentqueue/secrets
  readOnly: true
{{- end }}
{{- end -}}
{{- end -}}

{{- define "agentqueue.configFileVolumes" -}}
{{- if include "agentqueue.configFileEnabled" . -}}
- name: config-file
  configMap:
    name: {{ include "agentqueue.configFileName" . }}
{{- if include "agentqueue.configSecretsEnabled" . }}
- name: config-secrets
  secret:
    secretName: {{ include "agentqueue.configSecretsName" . }}
    defaultMode: 0440
{{- end }}
{{- end -}}
{{- end -}}

{{/* Pods roll when the file changes (they also reload it in place; a roll makes the
change certain and visible in the rollout history). Secrets are not hashed. */}}
{{- define "agentqueue.configFileChecksum" -}}
{{- if include "agentqueue.configFileEnabled" . -}}
checksum/config-file: {{ include (print .Template.BasePath "/config-file.yaml") . | sha256sum }}
{{- end -}}
{{- end -}}
