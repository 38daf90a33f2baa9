{{/* Names and labels shared by every object of the chart. */}}
{{- define "roster.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "roster.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "roster.labels" -}}
app.kubernetes.io/name: {{ include "roster.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "roster.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
One Roster container. Call with (dict "root" $ "component" "scheduler" "command" "scheduler"
"port" 8100 "resources" {...} "env" (list ...)).
*/}}
{{- define "roster.container" -}}
{{- $root := .root -}}
- name: {{ .component }}
  image: {{ include "roster.image" $root }}
  imagePullPolicy: {{ $root.Values.image.pullPolicy }}
  args: [{{ .command | quote }}, "--config", "/etc/roster/roster.yaml"]
  ports:
    - name: http
      containerPort: {{ .port }}
  env:
    - name: ROSTER_{{ .section }}__HTTP__HOST
      value: "0.0.0.0"
    - name: ROSTER_{{ .section }}__HTTP__PORT
      value: {{ .port | quote }}
    {{- range .env }}
    - {{ toYaml . | nindent 6 | trim }}
    {{- end }}
    {{- range $name, $ref := $root.Values.secretEnv }}
    - name: {{ $name }}
      valueFrom:
        secretKeyRef:
          name: {{ $ref.secret }}
          key: {{ $ref.key }}
    {{- end }}
    {{- range $name, $value := $root.Values.extraEnv }}
    - name: {{ $name }}
      value: {{ $value | quote }}
    {{- end }}
  readinessProbe:
    httpGet: {path: /readyz, port: http}
    periodSeconds: 5
    failureThreshold: 3
  livenessProbe:
    httpGet: {path: /healthz, port: http}
    initialDelaySeconds: 10
    periodSeconds: 10
    failureThreshold: 6
  resources:
    {{- toYaml .resources | nindent 4 }}
  securityContext:
    {{- toYaml $root.Values.securityContext | nindent 4 }}
  volumeMounts:
    - name: config
      mountPath: /etc/roster
      readOnly: true
    - name: tmp
      mountPath: /tmp
{{- end -}}

{{/* Pod-level settings shared by every Deployment. */}}
{{- define "roster.podSpec" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  - name: config
    configMap:
      name: {{ include "roster.fullname" . }}-config
  - name: tmp
    emptyDir: {}
{{- end -}}
