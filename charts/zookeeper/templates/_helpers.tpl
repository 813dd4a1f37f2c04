{{/* The chart's name, overridable with nameOverride. */}}
{{- define "zookeeper.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The ZooKeeperCluster's name: the release name when it already contains the chart's name, else
RELEASE-CHART; fullnameOverride wins. At most 52 characters and a DNS-1035 label, as the API
requires (the operator derives pod, Service and PVC names from it); a name that is not one fails
here, with the value to change, rather than at the API server.
*/}}
{{- define "zookeeper.fullname" -}}
{{- $full := "" }}
{{- if .Values.fullnameOverride }}
{{- $full = .Values.fullnameOverride }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- $full = .Release.Name }}
{{- else }}
{{- $full = printf "%s-%s" .Release.Name $name }}
{{- end }}
{{- end }}
{{- $full = $full | trunc 52 | trimSuffix "-" }}
{{- if not (regexMatch "^[a-z]([-a-z0-9]*[a-z0-9])?$" $full) }}
{{- fail (printf "the ZooKeeperCluster's name %q must be a DNS-1035 label (a lower-case letter first, then lower-case letters, digits and '-'): set fullnameOverride" $full) }}
{{- end }}
{{- $full }}
{{- end }}

{{- define "zookeeper.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of the objects the chart itself creates (the ZooKeeperCluster and the test pod). The
operator labels the cluster's children and pods with its own; these never reach them.
*/}}
{{- define "zookeeper.labels" -}}
helm.sh/chart: {{ include "zookeeper.chart" . }}
app.kubernetes.io/name: {{ include "zookeeper.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The API's default image: spec.image when the values leave it out. */}}
{{- define "zookeeper.defaultImage" -}}
docker.io/library/zookeeper:3.9.4
{{- end }}

{{/*
spec.image from image.repository and image.tag, or "" when both are empty (the API's default
applies). A tag that is a sha256: digest is joined with '@'.
*/}}
{{- define "zookeeper.image" -}}
{{- $repository := .Values.image.repository }}
{{- $tag := .Values.image.tag }}
{{- if and (not $repository) $tag }}
{{- $repository = "docker.io/library/zookeeper" }}
{{- end }}
{{- if $tag }}
{{- printf "%s%s%s" $repository (ternary "@" ":" (hasPrefix "sha256:" $tag)) $tag }}
{{- else }}
{{- $repository }}
{{- end }}
{{- end }}

{{/* The client TLS Secret the pods mount: the user's, NAME-tls from the operator's CA, or "" (no client TLS). */}}
{{- define "zookeeper.clientTlsSecret" -}}
{{- if .Values.tls.client.generated }}
{{- printf "%s-tls" (include "zookeeper.fullname" .) }}
{{- else }}
{{- .Values.tls.client.secretName }}
{{- end }}
{{- end }}

{{/* The client Service's address, as the operator reports it in status.connectionString. */}}
{{- define "zookeeper.connectionString" -}}
{{- printf "%s-client.%s.svc.%s:%s" (include "zookeeper.fullname" .) .Release.Namespace .Values.clusterDomain (ternary "2281" "2181" (ne (include "zookeeper.clientTlsSecret" .) "")) }}
{{- end }}
