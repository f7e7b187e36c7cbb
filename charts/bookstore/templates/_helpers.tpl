{{/*
The name of the Bookstore resource and the prefix of every object: the release name unless
overridden. The operator names its objects `<name>-<component>`, so it has at most 40 characters.
*/}}
{{- define "bookstore.fullname" -}}
{{- $name := default .Release.Name .Values.fullnameOverride -}}
{{- if gt (len $name) 40 -}}
{{- fail (printf "the name %q has more than 40 characters: choose a shorter release name or set fullnameOverride" $name) -}}
{{- end -}}
{{- $name -}}
{{- end -}}

{{/* The version, which is also the image tag. */}}
{{- define "bookstore.version" -}}
{{- default .Chart.AppVersion .Values.image.tag -}}
{{- end -}}

{{/* Labels that select a component's pods; the operator's pods carry the same three. */}}
{{- define "bookstore.selectorLabels" -}}
app.kubernetes.io/name: bookstore
app.kubernetes.io/instance: {{ include "bookstore.fullname" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Every label of an object of the chart. */}}
{{- define "bookstore.labels" -}}
{{ include "bookstore.selectorLabels" . }}
app.kubernetes.io/part-of: bookstore
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/version: {{ include "bookstore.version" .ctx | quote }}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Labels of every pod of the shop (the policies' "whole shop" selector). */}}
{{- define "bookstore.shopLabels" -}}
app.kubernetes.io/name: bookstore
app.kubernetes.io/instance: {{ include "bookstore.fullname" . }}
{{- end -}}

{{/*
A secret value: the one given in values, else the one the release's Secret already holds
(so a generated value survives upgrades), else a new random one. `lookup` reads the cluster
only under `helm install`/`upgrade`: `helm template` (Argo CD, Tilt) gets nothing back, so each
render would make a new value. With generateSecrets=false the chart makes none and fails
instead, naming the value to set for every secret it would have generated. This is the only
place the chart makes a secret value (a chart test checks it).
Arguments: ctx, secret (name), key, value, length.
*/}}
{{- define "bookstore.secretValue" -}}
{{- if .value -}}
{{- .value -}}
{{- else if not .ctx.Values.generateSecrets -}}
{{- fail (include "bookstore.generatedSecretsRefused" .ctx) -}}
{{- else -}}
{{- $existing := lookup "v1" "Secret" .ctx.Release.Namespace .secret -}}
{{- if and $existing $existing.data (hasKey $existing.data .key) -}}
{{- index $existing.data .key | b64dec -}}
{{- else -}}
{{- randAlphaNum (int .length) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Why generateSecrets=false refuses to render: every value that, left empty, would make the chart
generate a secret, with the value that names an existing Secret instead.
*/}}
{{- define "bookstore.generatedSecretsRefused" -}}
{{- $missing := list -}}
{{- if not .Values.serviceToken.existingSecret -}}
{{- $missing = append $missing "serviceToken.existingSecret (the service token, under serviceToken.existingSecretKey)" -}}
{{- end -}}
{{- $admin := .Values.bookstore.admin -}}
{{- if and $admin.email (not $admin.existingSecret) (not $admin.password) -}}
{{- $missing = append $missing "bookstore.admin.existingSecret (the first admin's password, under bookstore.admin.existingSecretKey)" -}}
{{- end -}}
{{- $p := .Values.postgresql -}}
{{- if and $p.enabled (not $p.existingSecret) (not $p.password) -}}
{{- $missing = append $missing "postgresql.existingSecret (the in-cluster PostgreSQL's username, password and url)" -}}
{{- end -}}
{{- $r := .Values.rabbitmq -}}
{{- if and $r.enabled (not $r.existingSecret) (not $r.password) -}}
{{- $missing = append $missing "rabbitmq.existingSecret (the in-cluster RabbitMQ's username, password and url)" -}}
{{- end -}}
{{- printf "generateSecrets is false, so the chart generates no secret, but these are not given: %s. Create each Secret outside the chart (e.g. a SealedSecret or an ExternalSecret) and set these values; see \"GitOps\" in the chart's README" (join "; " $missing) -}}
{{- end -}}

{{/* Secret names and keys the Bookstore refers to. */}}
{{- define "bookstore.postgresqlSecret" -}}
{{- default (printf "%s-postgresql" (include "bookstore.fullname" .)) .Values.postgresql.existingSecret -}}
{{- end -}}

{{- define "bookstore.rabbitmqSecret" -}}
{{- default (printf "%s-rabbitmq" (include "bookstore.fullname" .)) .Values.rabbitmq.existingSecret -}}
{{- end -}}

{{- define "bookstore.databaseSecret" -}}
{{- if .Values.postgresql.enabled -}}
{{- include "bookstore.postgresqlSecret" . -}}
{{- else if .Values.database.existingSecret -}}
{{- .Values.database.existingSecret -}}
{{- else -}}
{{- fail "no database: enable postgresql (development) or set database.existingSecret to a Secret holding the database URL" -}}
{{- end -}}
{{- end -}}

{{- define "bookstore.databaseKey" -}}
{{- if .Values.postgresql.enabled }}url{{ else }}{{ .Values.database.existingSecretKey }}{{ end -}}
{{- end -}}

{{- define "bookstore.brokerSecret" -}}
{{- if .Values.rabbitmq.enabled -}}
{{- include "bookstore.rabbitmqSecret" . -}}
{{- else if .Values.broker.existingSecret -}}
{{- .Values.broker.existingSecret -}}
{{- else -}}
{{- fail "no broker: enable rabbitmq or set broker.existingSecret to a Secret holding the AMQP URL" -}}
{{- end -}}
{{- end -}}

{{- define "bookstore.brokerKey" -}}
{{- if .Values.rabbitmq.enabled }}url{{ else }}{{ .Values.broker.existingSecretKey }}{{ end -}}
{{- end -}}

{{- define "bookstore.jwtSecret" -}}
{{- if .Values.jwt.existingSecret -}}
{{- .Values.jwt.existingSecret -}}
{{- else if and .Values.jwt.privateKey .Values.jwt.publicKey -}}
{{- printf "%s-jwt" (include "bookstore.fullname" .) -}}
{{- else -}}
{{- fail "no access-token key pair: set jwt.existingSecret (a Secret with private.pem and public.pem), or give both PEMs: openssl genpkey -algorithm ed25519 -out jwt.pem && openssl pkey -in jwt.pem -pubout -out jwt.pub.pem, then --set-file jwt.privateKey=jwt.pem --set-file jwt.publicKey=jwt.pub.pem" -}}
{{- end -}}
{{- end -}}

{{- define "bookstore.serviceTokenSecret" -}}
{{- default (printf "%s-service-token" (include "bookstore.fullname" .)) .Values.serviceToken.existingSecret -}}
{{- end -}}

{{- define "bookstore.openaiSecret" -}}
{{- if .Values.bookstore.openai.existingSecret -}}
{{- .Values.bookstore.openai.existingSecret -}}
{{- else if .Values.bookstore.openai.apiKey -}}
{{- printf "%s-openai" (include "bookstore.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "bookstore.adminSecret" -}}
{{- default (printf "%s-admin" (include "bookstore.fullname" .)) .Values.bookstore.admin.existingSecret -}}
{{- end -}}

{{- define "bookstore.s3Secret" -}}
{{- if .Values.bookstore.storage.s3.existingSecret -}}
{{- .Values.bookstore.storage.s3.existingSecret -}}
{{- else if .Values.bookstore.storage.s3.secretAccessKey -}}
{{- printf "%s-s3" (include "bookstore.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* The hardened container security context shared by every container of the chart. */}}
{{- define "bookstore.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* imagePullSecrets of a pod spec. */}}
{{- define "bookstore.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The public components: those the ingress routes to. */}}
{{- define "bookstore.publicComponents" -}}
users catalog inventory orders notifications storefront
{{- end -}}

{{- /* The peers a rule admits: a namespace selector and a pod selector from values. */ -}}
{{- define "bookstore.peer" -}}
- namespaceSelector:
    {{- toYaml .namespaceSelector | nindent 4 }}
  podSelector:
    {{- toYaml .podSelector | nindent 4 }}
{{- end -}}
