{{/*
Names, labels and the image reference, shared by every template.
Names are cut to 63 characters because Kubernetes name fields and label values allow no more.
*/}}

{{- define "llm-proxy.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release name alone when it already contains the chart name, so
`helm install llm-proxy .` yields `llm-proxy` rather than `llm-proxy-llm-proxy`.
*/}}
{{- define "llm-proxy.fullname" -}}
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

{{- define "llm-proxy.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The image tag: image.tag when set, else the chart's appVersion, which a
release stamps with its own tag so chart and image stay in step.
*/}}
{{- define "llm-proxy.imageTag" -}}
{{- .Values.image.tag | default .Chart.AppVersion | toString }}
{{- end }}

{{/*
repository:tag, or with image.digest set, repository@digest (image.tag empty)
or repository:tag@digest (image.tag set: the tag is then only for readers).
*/}}
{{- define "llm-proxy.image" -}}
{{- $image := .Values.image }}
{{- if not $image.digest }}
{{- printf "%s:%s" $image.repository (include "llm-proxy.imageTag" .) }}
{{- else if $image.tag }}
{{- printf "%s:%s@%s" $image.repository (toString $image.tag) $image.digest }}
{{- else }}
{{- printf "%s@%s" $image.repository $image.digest }}
{{- end }}
{{- end }}

{{/*
The app.kubernetes.io/version label: the image tag, never the digest, made a
valid label value whatever the tag or appVersion holds, because the API server
rejects the whole object otherwise. Characters a label cannot hold become "_",
the value is cut to 63 characters and must start and end alphanumeric.
*/}}
{{- define "llm-proxy.versionLabel" -}}
{{- $value := regexReplaceAll "[^A-Za-z0-9_.-]" (include "llm-proxy.imageTag" .) "_" }}
{{- regexReplaceAll "^[^A-Za-z0-9]+|[^A-Za-z0-9]+$" ($value | trunc 63) "" }}
{{- end }}

{{/*
Labels of every object. The helm test pod takes commonLabels only: with the
selector labels too, the Deployment's ReplicaSet would adopt it as a replica.
*/}}
{{- define "llm-proxy.labels" -}}
{{ include "llm-proxy.commonLabels" . }}
{{ include "llm-proxy.selectorLabels" . }}
{{- end }}

{{- define "llm-proxy.commonLabels" -}}
helm.sh/chart: {{ include "llm-proxy.chart" . }}
app.kubernetes.io/version: {{ include "llm-proxy.versionLabel" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Selector labels must never change between upgrades (a Deployment's selector
is immutable), so they carry no version.
*/}}
{{- define "llm-proxy.selectorLabels" -}}
app.kubernetes.io/name: {{ include "llm-proxy.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The pods' ServiceAccount: serviceAccount.name, else the release's full name
when the chart creates the account, else the namespace's `default`.
*/}}
{{- define "llm-proxy.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "llm-proxy.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}
