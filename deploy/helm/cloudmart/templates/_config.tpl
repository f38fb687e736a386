{{/*
The environment of one service (its ConfigMap's data): shared settings, the URLs of the
services it calls as cluster DNS names, then its own entries from the values, which win.
Call with (list $ $svc). Never secrets: those come from secretKeyRef (services.<name>.secretEnv).
*/}}
{{- define "cloudmart.configData" -}}
{{- $root := index . 0 -}}
{{- $svc := index . 1 -}}
{{- $users := include "cloudmart.url" (list $root "users") -}}
{{- $scheme := ternary "rediss" "redis" $root.Values.redis.tls -}}
{{- $data := dict
  "ENVIRONMENT" $root.Values.environment
  "LOG_LEVEL" $root.Values.logLevel
  "LOG_FORMAT" "json"
  "HOST" "0.0.0.0"
  "PYTHONUNBUFFERED" "1"
  "SERVICE_CLIENT_ID" $svc.name
  "KAFKA_BOOTSTRAP_SERVERS" $root.Values.kafka.bootstrapServers
  "KAFKA_SECURITY_PROTOCOL" $root.Values.kafka.securityProtocol
  "JWKS_URL" (printf "%s/api/users/.well-known/jwks.json" $users)
  "SERVICE_TOKEN_URL" (printf "%s/api/users/oauth/token" $users)
  "TRACING_ENABLED" (printf "%t" $root.Values.tracing.enabled)
-}}
{{- if not $root.Values.redis.urlSecret -}}
{{- $_ := set $data "REDIS_URL" (printf "%s://%s:%v/0" $scheme $root.Values.redis.host $root.Values.redis.port) -}}
{{- end -}}
{{- if $root.Values.tracing.enabled -}}
{{- $_ := set $data "OTEL_EXPORTER_OTLP_ENDPOINT" $root.Values.tracing.endpoint -}}
{{- end -}}
{{- if eq $svc.name "gateway" -}}
{{- /* The gateway takes JSON lists: one Service URL each, kube-proxy spreads the load. */ -}}
{{- range $callee := list "users" "products" "orders" "notifications" "payments" "dashboard" -}}
{{- $_ := set $data (printf "%s_URLS" (upper $callee)) (list (include "cloudmart.url" (list $root $callee)) | toJson) -}}
{{- end -}}
{{- $_ := set $data "CORS_ORIGINS" (list (printf "https://%s" $root.Values.ingress.host) | toJson) -}}
{{- end -}}
{{- if eq $svc.name "orders" -}}
{{- range $callee := list "users" "products" "payments" -}}
{{- $_ := set $data (printf "%s_URL" (upper $callee)) (include "cloudmart.url" (list $root $callee)) -}}
{{- end -}}
{{- end -}}
{{- if eq $svc.name "notifications" -}}
{{- $_ := set $data "USERS_URL" $users -}}
{{- $_ := set $data "SHOP_URL" (printf "https://%s" $root.Values.ingress.host) -}}
{{- end -}}
{{- if eq $svc.name "products" -}}
{{- $_ := set $data "AWS_REGION" $root.Values.aws.region -}}
{{- end -}}
{{- range $key, $value := $svc.config -}}
{{- $_ := set $data $key (toString $value) -}}
{{- end -}}
{{- toYaml $data -}}
{{- end }}
