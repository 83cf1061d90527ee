{{/* The service's name: every object is named after it. */}}
{{- define "service.name" -}}
{{- required "values: name is required (the service's name)" .Values.name -}}
{{- end -}}

{{- define "service.kafkaUser" -}}
{{- default (include "service.name" .) .Values.kafka.user -}}
{{- end -}}

{{/* A topic's Kubernetes name: topic names may hold '_' and '.', object names not '_'. */}}
{{- define "service.topicObjectName" -}}
{{- . | replace "_" "-" | trunc 253 | trimSuffix "-" | trimSuffix "." -}}
{{- end -}}

{{- define "service.selectorLabels" -}}
app.kubernetes.io/name: {{ include "service.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "service.labels" -}}
{{ include "service.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | quote }}
app.kubernetes.io/part-of: streamforge
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name (.Chart.Version | replace "+" "_") }}
{{- end -}}

{{/* Services that use Kafka run in the Strimzi namespace: a pod can only mount secrets of its
own namespace, and the user operator writes the KafkaUser's secret there. */}}
{{- define "service.checkNamespace" -}}
{{- if and .Values.kafka.enabled (ne .Release.Namespace .Values.kafka.namespace) -}}
{{- fail (printf "a service using Kafka must be installed into namespace %q, where Strimzi writes its user secret and the cluster CA (got %q): helm install --namespace %s, or set kafka.enabled=false" .Values.kafka.namespace .Release.Namespace .Values.kafka.namespace) -}}
{{- end -}}
{{- end -}}
