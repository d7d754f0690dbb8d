{{/* Names ------------------------------------------------------------------------------------- */}}

{{- define "vanelia.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "vanelia.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The headless Service (and DNS name) of one service: (dict "root" $ "service" "decoder"). */}}
{{- define "vanelia.serviceName" -}}
{{- printf "%s-%s" (include "vanelia.fullname" .root) .service | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The Deployment of one pool: (dict "root" $ "service" "inpaint" "pool" "a100-80gb"). */}}
{{- define "vanelia.poolName" -}}
{{- printf "%s-%s-%s" (include "vanelia.fullname" .root) .service .pool | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels -------------------------------------------------------------------------------------- */}}

{{- define "vanelia.commonLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "vanelia.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: vanelia
{{- end -}}

{{/* Selector labels of every pod of one service: (dict "root" $ "service" "decoder"). */}}
{{- define "vanelia.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vanelia.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .service }}
{{- end -}}

{{/* Labels of one service's objects. */}}
{{- define "vanelia.labels" -}}
{{ include "vanelia.commonLabels" .root }}
app.kubernetes.io/component: {{ .service }}
{{- end -}}

{{/* Selector labels of every pod of the release. */}}
{{- define "vanelia.releaseSelector" -}}
app.kubernetes.io/name: {{ include "vanelia.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Images --------------------------------------------------------------------------------------- */}}

{{/* The image of one pool: (dict "root" $ "service" "inpaint" "pool" $pool). */}}
{{- define "vanelia.image" -}}
{{- $image := .root.Values.image -}}
{{- $variant := default "cpu" .pool.variant -}}
{{- $key := ternary .service (printf "%s-%s" .service $variant) (eq $variant "cpu") -}}
{{- $tag := default .root.Chart.AppVersion $image.tag -}}
{{- if ne $variant "cpu" }}{{ $tag = printf "%s-%s" $tag $variant }}{{ end -}}
{{- $digest := get ($image.digests | default dict) $key -}}
{{- if $digest -}}
{{- printf "%s/%s@%s" $image.registry .service $digest -}}
{{- else -}}
{{- printf "%s/%s:%s" $image.registry .service $tag -}}
{{- end -}}
{{- end -}}

{{/* Settings resolved pool > service > common ------------------------------------------------ */}}

{{/* One setting: (dict "key" "shutdownGraceMs" "pool" $pool "service" $svc "common" .Values.common). */}}
{{- define "vanelia.setting" -}}
{{- if hasKey .pool .key -}}{{ get .pool .key }}
{{- else if hasKey .service .key -}}{{ get .service .key }}
{{- else -}}{{ get .common .key }}
{{- end -}}
{{- end -}}

{{/* terminationGracePeriodSeconds: preStop sleep + drain + margin, so Node always finishes its drain. */}}
{{- define "vanelia.terminationGraceSeconds" -}}
{{- $graceMs := int .graceMs -}}
{{- $drainSeconds := div (add $graceMs 999) 1000 -}}
{{- add (int .preStopSleepSeconds) $drainSeconds (int .marginSeconds) -}}
{{- end -}}

{{/* Environment names of the model-running stages. */}}
{{- define "vanelia.modelEnv" -}}
{{- $names := dict
  "pose" (dict "modelDir" "VANELIA_POSE_MODEL_DIR" "providers" "VANELIA_POSE_PROVIDERS" "batchSize" "VANELIA_POSE_BATCH_SIZE")
  "inpaint" (dict "modelDir" "VANELIA_INPAINT_MODEL_DIR" "providers" "VANELIA_INPAINT_PROVIDERS" "batchSize" "VANELIA_INPAINT_BATCH_SIZE" "deviceMemoryGiB" "VANELIA_INPAINT_DEVICE_MEMORY_GIB") -}}
{{- toYaml (get $names .) -}}
{{- end -}}

{{/* The `stage` label values a service's metrics use (its pipeline steps), as a YAML list. */}}
{{- define "vanelia.metricStages" -}}
{{- $stages := dict "decoder" (list "decode" "encode") "pose" (list "pose") "compositor" (list "composite") "inpaint" (list "inpaint") "gateway" (list "assemble") -}}
{{- toYaml (get $stages .) -}}
{{- end -}}

{{/* `up` of the release's ready targets with a `stage` label: the job (component) name, or the step
     name where a service records under one step of another name (compositor -> composite). */}}
{{- define "vanelia.upByStage" -}}
{{- $expr := printf "label_replace(up{%s} == 1, \"stage\", \"$1\", \"job\", \"(.*)\")" .selector -}}
{{- range $service := list "decoder" "pose" "compositor" "inpaint" "gateway" -}}
{{- $stages := include "vanelia.metricStages" $service | fromYamlArray -}}
{{- if and (eq (len $stages) 1) (ne (first $stages) $service) -}}
{{- $expr = printf "label_replace(%s, \"stage\", \"%s\", \"job\", \"%s\")" $expr (first $stages) $service -}}
{{- end -}}
{{- end -}}
{{- $expr -}}
{{- end -}}

{{/* The gateway's address of one stage (dns:/// of the headless Service: every replica). */}}
{{- define "vanelia.stageAddress" -}}
{{- $svc := get .root.Values.services .service -}}
{{- printf "dns:///%s.%s.svc.%s:%v" (include "vanelia.serviceName" .) .root.Release.Namespace .root.Values.cluster.domain $svc.port -}}
{{- end -}}

{{- define "vanelia.apiTokenSecret" -}}
{{- default (printf "%s-api-tokens" (include "vanelia.fullname" .)) .Values.services.gateway.auth.existingSecret -}}
{{- end -}}

{{- define "vanelia.storageClaim" -}}
{{- default (printf "%s-storage" (include "vanelia.fullname" .)) .Values.storage.existingClaim -}}
{{- end -}}

{{- define "vanelia.jobStore" -}}
{{- default (printf "sqlite://%s/gateway/jobs.sqlite" .Values.storage.mountPath) .Values.services.gateway.jobStore -}}
{{- end -}}

{{- define "vanelia.serviceAccountName" -}}
{{- if .root.Values.serviceAccount.create -}}
{{- printf "%s-%s" (include "vanelia.fullname" .root) (ternary "gateway" "stage" (eq .service "gateway")) -}}
{{- else -}}default{{- end -}}
{{- end -}}
