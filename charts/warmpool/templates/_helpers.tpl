{{/* Names and labels shared by every template. */}}

{{- define "warmpool.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "warmpool.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "warmpool.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "warmpool.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "warmpool.selectorLabels" -}}
app.kubernetes.io/name: {{ include "warmpool.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "warmpool.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "warmpool.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "warmpool.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "warmpool.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "warmpool.leaseName" -}}
{{- default (include "warmpool.fullname" .) .Values.leaderElection.leaseName }}
{{- end }}

{{- define "warmpool.metricsPortName" -}}
{{- ternary "https" "http" .Values.metrics.secure }}
{{- end }}

{{- define "warmpool.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
What the operator does with the API, and nothing more (e2e/chart.test.ts holds each rule to a call in operator/):
the same rules back the ClusterRole (all namespaces) and each namespaced Role (watchNamespaces).
*/}}
{{- define "warmpool.rules" -}}
# Informers list and watch pools and claims; patches add and remove finalizers.
- apiGroups: ["warmpool.dev"]
  resources: ["instancepools"]
  verbs: ["list", "watch", "patch"]
# Claims also by name: before deleting a member whose claim the cache does not show, the claim is read.
- apiGroups: ["warmpool.dev"]
  resources: ["poolclaims"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["warmpool.dev"]
  resources: ["instancepools/status", "poolclaims/status"]
  verbs: ["patch"]
# The autoscaler (spec.autoscaling) writes targetSize through the scale subresource, as the HPA does.
- apiGroups: ["warmpool.dev"]
  resources: ["instancepools/scale"]
  verbs: ["patch"]
# Members: created, labelled on claim and release (patch), deleted on recycle; read by name when the claim
# controller checks a member its cache does not show.
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
# Eviction protection: one PodDisruptionBudget per pool over its claimed members, kept by the pool controller.
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["list", "watch", "create", "update", "delete"]
# Members' cpu and memory for status.utilization.
- apiGroups: ["metrics.k8s.io"]
  resources: ["pods"]
  verbs: ["list"]
{{- if .Values.rbac.podProxy }}
# Members' metrics endpoints scraped through the API server (spec.metrics.via: APIServerProxy).
- apiGroups: [""]
  resources: ["pods/proxy"]
  verbs: ["get"]
{{- end }}
{{- end }}

{{/* Secure metrics: who a scraper is (TokenReview) and whether it may read /metrics (SubjectAccessReview). Both
are cluster-scoped, so a ClusterRole grants them even when watchNamespaces limits everything else to Roles. */}}
{{- define "warmpool.metricsAuthRules" -}}
- apiGroups: ["authentication.k8s.io"]
  resources: ["tokenreviews"]
  verbs: ["create"]
- apiGroups: ["authorization.k8s.io"]
  resources: ["subjectaccessreviews"]
  verbs: ["create"]
{{- end }}
