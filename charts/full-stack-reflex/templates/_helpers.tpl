{{/*
Names and labels, as `helm create` makes them (Helm's best-practices guide).
*/}}
{{- define "fsr.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "fsr.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "fsr.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "fsr.labels" -}}
helm.sh/chart: {{ include "fsr.chart" . }}
app.kubernetes.io/name: {{ include "fsr.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: {{ include "fsr.name" . }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of one component: (dict "root" $ "component" "backend"). */}}
{{- define "fsr.selectorLabels" -}}
app.kubernetes.io/name: {{ include "fsr.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* All labels of one component's objects and pods. */}}
{{- define "fsr.componentLabels" -}}
{{ include "fsr.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "fsr.componentName" -}}
{{- printf "%s-%s" (include "fsr.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
An image reference with a pinned tag: (dict "image" .Values.backend.image "root" $).
An empty tag means the chart's appVersion; `latest` (or no tag at all) never renders.
*/}}
{{- define "fsr.image" -}}
{{- $tag := default .root.Chart.AppVersion .image.tag | toString }}
{{- if or (eq $tag "") (eq $tag "latest") }}
{{- fail (printf "%s: pin the image tag (got %q): `latest` makes rollbacks and replicas disagree" .image.repository $tag) }}
{{- end }}
{{- printf "%s:%s" .image.repository $tag }}
{{- end }}

{{/* The Secret holding SECRET_KEY and friends: the operator's, or the chart's. */}}
{{- define "fsr.secretName" -}}
{{- default (include "fsr.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{/*
A secret value given in values: refuses the template's `changethis` (and empty, where
required), so that no default secret ever reaches a running pod.
(dict "value" .Values.secrets.secretKey "key" "secrets.secretKey" "required" true "minBytes" 32)
*/}}
{{- define "fsr.checkedSecret" -}}
{{- $value := .value | default "" | toString }}
{{- if contains "changethis" $value }}
{{- fail (printf "%s is `changethis`: set a real secret (or use secrets.existingSecret)" .key) }}
{{- end }}
{{- if and .required (eq $value "") }}
{{- fail (printf "%s is empty: set it, or name a Secret of yours in secrets.existingSecret (docs/kubernetes.md)" .key) }}
{{- end }}
{{- if and .minBytes (lt (len $value) (int .minBytes)) }}
{{- fail (printf "%s is shorter than %d bytes: the app refuses it outside local (python -c \"import secrets; print(secrets.token_urlsafe(48))\")" .key (int .minBytes)) }}
{{- end }}
{{- $value }}
{{- end }}

{{/*
The data of the chart's own Secret (only without secrets.existingSecret): the app's
secrets, and the URLs of an external database or Redis given as values.
*/}}
{{- define "fsr.secretData" -}}
{{- $s := .Values.secrets }}
SECRET_KEY: {{ include "fsr.checkedSecret" (dict "value" $s.secretKey "key" "secrets.secretKey" "required" true "minBytes" 32) | b64enc | quote }}
FIRST_SUPERUSER_PASSWORD: {{ include "fsr.checkedSecret" (dict "value" $s.firstSuperuserPassword "key" "secrets.firstSuperuserPassword" "required" true) | b64enc | quote }}
{{- range $key, $name := dict "smtpPassword" "SMTP_PASSWORD" "resendApiKey" "RESEND_API_KEY" "sentryDsn" "SENTRY_DSN" "metricsToken" "METRICS_TOKEN" }}
{{- $value := include "fsr.checkedSecret" (dict "value" (get $s $key) "key" (printf "secrets.%s" $key) "required" false) }}
{{- if $value }}
{{ $name }}: {{ $value | b64enc | quote }}
{{- end }}
{{- end }}
{{- $db := .Values.database.external }}
{{- if and (eq .Values.database.mode "external") (not $db.existingSecret) }}
{{ $db.urlKey }}: {{ include "fsr.checkedSecret" (dict "value" $db.url "key" "database.external.url" "required" true) | b64enc | quote }}
{{- if $db.replicaUrl }}
{{ $db.replicaUrlKey }}: {{ include "fsr.checkedSecret" (dict "value" $db.replicaUrl "key" "database.external.replicaUrl" "required" false) | b64enc | quote }}
{{- end }}
{{- end }}
{{- $redis := .Values.redis.external }}
{{- if and (eq .Values.redis.mode "external") (not $redis.existingSecret) }}
{{ $redis.urlKey }}: {{ include "fsr.checkedSecret" (dict "value" $redis.url "key" "redis.external.url" "required" true) | b64enc | quote }}
{{- end }}
{{- end }}

{{/* CloudNativePG's application Secret (made by the operator with the Cluster). */}}
{{- define "fsr.cnpgAppSecret" -}}
{{- printf "%s-app" (include "fsr.componentName" (dict "root" . "component" "db")) }}
{{- end }}

{{- define "fsr.frontendHost" -}}
{{- default (printf "https://%s" .Values.ingress.host) .Values.app.frontendHost }}
{{- end }}

{{/*
The app's environment (backend and migrations): (dict "root" $ "secret" NAME "redis" BOOL).
Settings as values, secrets by reference: nothing secret is written into a pod spec.
*/}}
{{- define "fsr.appEnv" -}}
{{- $root := .root }}
{{- $v := $root.Values }}
{{- $app := $v.app }}
- name: ENVIRONMENT
  value: {{ $app.environment | quote }}
- name: PROJECT_NAME
  value: {{ $app.projectName | quote }}
- name: FRONTEND_HOST
  value: {{ include "fsr.frontendHost" $root | quote }}
- name: BACKEND_CORS_ORIGINS
  value: {{ $app.backendCorsOrigins | quote }}
- name: FIRST_SUPERUSER
  value: {{ $app.firstSuperuser | quote }}
- name: LOG_LEVEL
  value: {{ $app.logLevel | quote }}
- name: LOG_FORMAT
  value: {{ $app.logFormat | quote }}
- name: DB_POOL_SIZE
  value: {{ $app.dbPoolSize | quote }}
- name: REFLEX_TRUSTED_PROXY_HOPS
  value: {{ $app.trustedProxyHops | quote }}
- name: EMAIL_BACKEND
  value: {{ $app.emailBackend | quote }}
- name: EMAILS_FROM_EMAIL
  value: {{ $app.emailsFromEmail | quote }}
- name: EMAILS_FROM_NAME
  value: {{ $app.emailsFromName | quote }}
- name: SMTP_HOST
  value: {{ $app.smtp.host | quote }}
- name: SMTP_PORT
  value: {{ $app.smtp.port | quote }}
- name: SMTP_TLS
  value: {{ $app.smtp.tls | quote }}
- name: SMTP_SSL
  value: {{ $app.smtp.ssl | quote }}
- name: SMTP_USER
  value: {{ $app.smtp.user | quote }}
- name: SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: SECRET_KEY
- name: FIRST_SUPERUSER_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: FIRST_SUPERUSER_PASSWORD
{{- range list "SMTP_PASSWORD" "RESEND_API_KEY" "SENTRY_DSN" "METRICS_TOKEN" }}
- name: {{ . }}
  valueFrom:
    secretKeyRef:
      name: {{ $.secret }}
      key: {{ . }}
      optional: true
{{- end }}
{{- if eq $v.database.mode "external" }}
{{- $dbSecret := default .secret $v.database.external.existingSecret }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $dbSecret }}
      key: {{ $v.database.external.urlKey }}
- name: DATABASE_REPLICA_URL
  valueFrom:
    secretKeyRef:
      name: {{ $dbSecret }}
      key: {{ $v.database.external.replicaUrlKey }}
      optional: true
{{- else }}
{{- $cnpg := $v.database.cloudnativepg }}
{{- $cluster := include "fsr.componentName" (dict "root" $root "component" "db") }}
{{- $dbSecret := include "fsr.cnpgAppSecret" $root }}
# CloudNativePG's application Secret: `uri` points at the -rw service (the primary).
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $dbSecret }}
      key: uri
{{- if and $cnpg.replicaReads (gt (int $cnpg.instances) 1) }}
- name: CNPG_APP_USER
  valueFrom:
    secretKeyRef:
      name: {{ $dbSecret }}
      key: username
- name: CNPG_APP_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $dbSecret }}
      key: password
# The -ro service: the streaming replicas (the operator's generated password is URL-safe).
- name: DATABASE_REPLICA_URL
  value: "postgresql://$(CNPG_APP_USER):$(CNPG_APP_PASSWORD)@{{ $cluster }}-ro:5432/{{ $cnpg.database }}"
{{- end }}
{{- end }}
{{- if .redis }}
{{- if eq $v.redis.mode "external" }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ default .secret $v.redis.external.existingSecret }}
      key: {{ $v.redis.external.urlKey }}
{{- else }}
- name: REDIS_URL
  value: {{ printf "redis://%s:%v/%v" (include "fsr.componentName" (dict "root" $root "component" "redis")) $v.redis.statefulset.port $v.redis.statefulset.database | quote }}
{{- end }}
{{- end }}
{{- with $app.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Spread over nodes (and zones), preferred, unless the values give their own:
(dict "root" $ "component" "backend" "constraints" .Values.backend.topologySpreadConstraints).
*/}}
{{- define "fsr.topologySpread" -}}
{{- if .constraints }}
{{- toYaml .constraints }}
{{- else }}
{{- range list "kubernetes.io/hostname" "topology.kubernetes.io/zone" }}
- maxSkew: 1
  topologyKey: {{ . }}
  whenUnsatisfiable: ScheduleAnyway
  labelSelector:
    matchLabels:
      {{- include "fsr.selectorLabels" (dict "root" $.root "component" $.component) | nindent 6 }}
{{- end }}
{{- end }}
{{- end }}

{{/* A PodDisruptionBudget: (dict "root" $ "component" "backend" "pdb" .Values.backend.podDisruptionBudget). */}}
{{- define "fsr.pdb" -}}
{{- if .pdb.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "fsr.componentName" . }}
  labels:
    {{- include "fsr.componentLabels" . | nindent 4 }}
spec:
  minAvailable: {{ .pdb.minAvailable }}
  selector:
    matchLabels:
      {{- include "fsr.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end }}

{{/* Pod scheduling fields shared by the Deployments: (dict "values" .Values.backend). */}}
{{- define "fsr.scheduling" -}}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{- define "fsr.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
When Helm runs the migrations Job: before the Deployments on every upgrade, and on the
first install too, except when the release makes its own database (CloudNativePG): then
there is no database before the release's objects exist, and it runs right after them.
*/}}
{{- define "fsr.migrationsHook" -}}
{{- if eq .Values.database.mode "cloudnativepg" }}post-install,pre-upgrade{{ else }}pre-install,pre-upgrade{{ end }}
{{- end }}

{{/* The Secret the migrations Job reads the app's secrets from. */}}
{{- define "fsr.migrationsSecretName" -}}
{{- default (include "fsr.componentName" (dict "root" . "component" "migrations")) .Values.secrets.existingSecret }}
{{- end }}
