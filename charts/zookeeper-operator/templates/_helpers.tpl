{{/* The chart's name, overridable with nameOverride. */}}
{{- define "zookeeper-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release's full name: the release name when it already contains the chart's name, else
RELEASE-CHART; fullnameOverride wins. Object names are limited to 63 characters.
*/}}
{{- define "zookeeper-operator.fullname" -}}
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

{{- define "zookeeper-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object of the release. */}}
{{- define "zookeeper-operator.labels" -}}
helm.sh/chart: {{ include "zookeeper-operator.chart" . }}
{{ include "zookeeper-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The Deployment's selector and the metrics Service's: never change them (immutable). */}}
{{- define "zookeeper-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "zookeeper-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "zookeeper-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "zookeeper-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The leader-election Lease, one per release, in the release's namespace. */}}
{{- define "zookeeper-operator.leaseName" -}}
{{- include "zookeeper-operator.fullname" . }}
{{- end }}

{{- define "zookeeper-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
