{{/*
Helpers shared by the per-service templates. Every per-service template loops over
.Values.services and calls "cloudmart.service" to get one service's effective settings
(serviceDefaults merged under the service's own entry).
*/}}

{{- define "cloudmart.fullname" -}}
cloudmart-{{ . }}
{{- end }}

{{/* One service's settings: {"name": ..., plus every key of serviceDefaults, overridden}. */}}
{{- define "cloudmart.service" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- $own := index $root.Values.services $name | default dict -}}
{{- $merged := mergeOverwrite (deepCopy $root.Values.serviceDefaults) (deepCopy $own) -}}
{{- $_ := set $merged "name" $name -}}
{{- with $root.Values.redis.urlSecret -}}
{{- /* REDIS_URL carries the AUTH token: a Secret (Terraform keeps it in Secrets Manager). */ -}}
{{- $redis := dict "name" "REDIS_URL" "secret" . "key" "url" -}}
{{- $_ := set $merged "secretEnv" (prepend ($merged.secretEnv | default list) $redis) -}}
{{- end -}}
{{- toYaml $merged -}}
{{- end }}

{{/* Labels on every object of the chart. */}}
{{- define "cloudmart.commonLabels" -}}
app.kubernetes.io/part-of: cloudmart
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{/* Labels that pick one service's pods: stable across upgrades (Deployment selectors are immutable). */}}
{{- define "cloudmart.selectorLabels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/component: service
{{- end }}

{{/* Full labels of one service's objects; call with (list $ $svcName). */}}
{{- define "cloudmart.labels" -}}
{{- $root := index . 0 -}}
{{ include "cloudmart.commonLabels" $root }}
{{ include "cloudmart.selectorLabels" (dict "name" (index . 1)) }}
app.kubernetes.io/version: {{ index . 2 | quote }}
{{- end }}

{{/* The image of one service; call with (list $ $svc). */}}
{{- define "cloudmart.image" -}}
{{- $root := index . 0 -}}
{{- $svc := index . 1 -}}
{{- $tag := ((($svc.image | default dict).tag) | default $root.Values.image.tag) -}}
{{- printf "%s/%s/%s:%s" $root.Values.image.registry $root.Values.image.repository $svc.name $tag -}}
{{- end }}

{{/* The image tag alone (the version label). */}}
{{- define "cloudmart.imageTag" -}}
{{- $root := index . 0 -}}
{{- $svc := index . 1 -}}
{{- ((($svc.image | default dict).tag) | default $root.Values.image.tag) -}}
{{- end }}

{{/* In-cluster URL of a service: its ClusterIP Service on port 80. Call with (list $ "users"). */}}
{{- define "cloudmart.url" -}}
{{- $root := index . 0 -}}
http://cloudmart-{{ index . 1 }}.{{ $root.Release.Namespace }}.svc.cluster.local
{{- end }}

{{/* Whom a service calls: its own list plus users (JWKS and service tokens, architecture.md §9). */}}
{{- define "cloudmart.callees" -}}
{{- $svc := . -}}
{{- $callees := $svc.calls | default list -}}
{{- if and (ne $svc.name "users") (not (has "users" $callees)) -}}
{{- $callees = append $callees "users" -}}
{{- end -}}
{{- toYaml (dict "callees" $callees) -}}
{{- end }}

{{/* Pod and container security context shared by services and migrations. */}}
{{- define "cloudmart.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "cloudmart.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* env entries from existing Secrets: never values, only names and keys. */}}
{{- define "cloudmart.secretEnv" -}}
{{- range . }}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .key }}
      {{- if .optional }}
      optional: true
      {{- end }}
{{- end }}
{{- end }}
