{{/* Names and labels. */}}
{{- define "mattermost-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mattermost-exporter.fullname" -}}
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

{{- define "mattermost-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mattermost-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "mattermost-exporter.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "mattermost-exporter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "mattermost-exporter.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding the token(s): the user's, or the chart's. */}}
{{- define "mattermost-exporter.secretName" -}}
{{- if eq .Values.mode "fleet" -}}
{{- default (printf "%s-tokens" (include "mattermost-exporter.fullname" .)) .Values.fleet.existingSecret -}}
{{- else -}}
{{- default (printf "%s-token" (include "mattermost-exporter.fullname" .)) .Values.mattermost.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "mattermost-exporter.sharded" -}}
{{- if and (eq .Values.mode "fleet") (gt (int .Values.fleet.shards) 1) }}true{{ end -}}
{{- end -}}

{{- define "mattermost-exporter.headless" -}}
{{- printf "%s-shards" (include "mattermost-exporter.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Checks the values a template cannot do without, with messages that say what to set. */}}
{{- define "mattermost-exporter.validate" -}}
{{- if eq .Values.mode "single" -}}
{{- if not .Values.mattermost.url -}}
{{- fail "mode single: set mattermost.url (Mattermost's base URL)" -}}
{{- end -}}
{{- if and (not .Values.mattermost.existingSecret) (not .Values.mattermost.token) -}}
{{- fail "mode single: set mattermost.existingSecret (a Secret holding the token) or mattermost.token" -}}
{{- end -}}
{{- if .Values.scrapeConfig.enabled -}}
{{- fail "scrapeConfig is for mode fleet; in mode single use serviceMonitor" -}}
{{- end -}}
{{- else -}}
{{- if not .Values.fleet.targets -}}
{{- fail "mode fleet: list the deployments in fleet.targets" -}}
{{- end -}}
{{- if .Values.serviceMonitor.enabled -}}
{{- fail "serviceMonitor is for mode single; in mode fleet use scrapeConfig (one probe per target)" -}}
{{- end -}}
{{- $seen := dict -}}
{{- range .Values.fleet.targets -}}
{{- if hasKey $seen .name -}}
{{- fail (printf "fleet.targets: name %q used twice" .name) -}}
{{- end -}}
{{- $_ := set $seen .name true -}}
{{- if and (not $.Values.fleet.existingSecret) (not .token) -}}
{{- fail (printf "fleet.targets %s: set its token, or fleet.existingSecret with a key %s.token" .name .name) -}}
{{- end -}}
{{- if hasKey . "token_file" -}}
{{- fail (printf "fleet.targets %s: token_file is set by the chart; give token or fleet.existingSecret" .name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The exporter's config file in fleet mode: the targets without their tokens, each reading
     its token file from the mounted Secret (and its cache file from the cache volume). */}}
{{- define "mattermost-exporter.fleetConfig" -}}
{{- $targets := list -}}
{{- range .Values.fleet.targets -}}
{{- $t := omit . "token" -}}
{{- $_ := set $t "token_file" (printf "/etc/mattermost-exporter/tokens/%s.token" .name) -}}
{{- if $.Values.cache.enabled -}}
{{- $users := deepCopy (default (dict) (get $t "users")) -}}
{{- $_ := set $users "cache_file" (printf "/var/lib/mattermost-exporter/%s.ids" .name) -}}
{{- $_ := set $t "users" $users -}}
{{- end -}}
{{- $targets = append $targets $t -}}
{{- end -}}
{{- $cfg := dict "targets" $targets -}}
{{- with .Values.fleet.modules -}}
{{- $_ := set $cfg "modules" . -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/* The pod template shared by the Deployment and the StatefulSet. */}}
{{- define "mattermost-exporter.podTemplate" -}}
metadata:
  labels:
    {{- include "mattermost-exporter.selectorLabels" . | nindent 4 }}
    app.kubernetes.io/component: exporter
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- if or (eq .Values.mode "fleet") .Values.podAnnotations }}
  annotations:
    {{- if eq .Values.mode "fleet" }}
    # A changed fleet config rolls the pods (the exporter also reloads on SIGHUP or /-/reload).
    checksum/config: {{ include "mattermost-exporter.fleetConfig" . | sha256sum }}
    {{- end }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
spec:
  automountServiceAccountToken: false
  enableServiceLinks: false
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    - name: mattermost-exporter
      image: {{ include "mattermost-exporter.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args:
        {{- if eq .Values.mode "fleet" }}
        - --config.file=/etc/mattermost-exporter/config/mattermost_exporter.yml
        {{- with .Values.fleet.idleTimeout }}
        - --probe.idle-timeout={{ . }}
        {{- end }}
        {{- with .Values.fleet.maxBackgroundRequests }}
        - --probe.max-background-requests={{ . }}
        {{- end }}
        {{- if .Values.fleet.keepConnections }}
        - --probe.keep-connections
        {{- end }}
        {{- else }}
        - --mattermost.url={{ .Values.mattermost.url }}
        - --mattermost.token-file=/etc/mattermost-exporter/token/token
        {{- if .Values.cache.enabled }}
        - --collector.users.cache-file=/var/lib/mattermost-exporter/users.ids
        {{- end }}
        {{- end }}
        - --web.listen-address=:{{ .Values.service.port }}
        - --log.format={{ .Values.logFormat }}
        {{- range .Values.extraArgs }}
        - {{ . }}
        {{- end }}
      ports:
        - name: http-metrics
          containerPort: {{ .Values.service.port }}
          protocol: TCP
      # Probes use the landing page at /: it calls no Mattermost (a probe on /metrics would
      # run a full scrape, and restart the exporter whenever Mattermost is down).
      livenessProbe:
        httpGet:
          path: /
          port: http-metrics
        initialDelaySeconds: 5
        periodSeconds: 20
        timeoutSeconds: 5
        failureThreshold: 3
      readinessProbe:
        httpGet:
          path: /
          port: http-metrics
        periodSeconds: 10
        timeoutSeconds: 5
        failureThreshold: 3
      resources:
        {{- include "mattermost-exporter.resources" . | trim | nindent 8 }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      volumeMounts:
        {{- if eq .Values.mode "fleet" }}
        - name: config
          mountPath: /etc/mattermost-exporter/config
          readOnly: true
        - name: tokens
          mountPath: /etc/mattermost-exporter/tokens
          readOnly: true
        {{- else }}
        - name: token
          mountPath: /etc/mattermost-exporter/token
          readOnly: true
        {{- end }}
        {{- if .Values.cache.enabled }}
        - name: cache
          mountPath: /var/lib/mattermost-exporter
        {{- end }}
  volumes:
    {{- if eq .Values.mode "fleet" }}
    - name: config
      configMap:
        name: {{ include "mattermost-exporter.fullname" . }}-config
    # Token rotation needs no restart: the kubelet replaces the files (keep directory mounts,
    # never subPath) and the exporter re-reads a target's token when Mattermost answers 401.
    - name: tokens
      secret:
        secretName: {{ include "mattermost-exporter.secretName" . }}
        defaultMode: 0400
        items:
          {{- range .Values.fleet.targets }}
          - key: {{ .name }}.token
            path: {{ .name }}.token
          {{- end }}
    {{- else }}
    - name: token
      secret:
        secretName: {{ include "mattermost-exporter.secretName" . }}
        # Owner read only; the kubelet gives the file the pod's fsGroup.
        defaultMode: 0400
        items:
          - key: {{ if .Values.mattermost.existingSecret }}{{ .Values.mattermost.existingSecretKey }}{{ else }}token{{ end }}
            path: token
    {{- end }}
    {{- if and .Values.cache.enabled (not (and .Values.cache.persistence.enabled (include "mattermost-exporter.sharded" .))) }}
    - name: cache
      {{- if .Values.cache.persistence.enabled }}
      persistentVolumeClaim:
        claimName: {{ include "mattermost-exporter.fullname" . }}-cache
      {{- else }}
      emptyDir:
        sizeLimit: {{ .Values.cache.persistence.size }}
      {{- end }}
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/*
The container's resources: .Values.resources when set; otherwise measured defaults
(docs/fleet-memory.md). Single target: 50m CPU and 64Mi requested, 128Mi limit. Fleet: 64Mi +
154Ki (0.15 MiB) requested and 128Mi + 205Ki (0.2 MiB) limit per target a replica serves (328Ki
and 359Ki with fleet.keepConnections); a replica of N shards is sized for a quarter more than
its share of the targets, for the imbalance of hashmod.
*/}}
{{- define "mattermost-exporter.resources" -}}
{{- if .Values.resources }}
{{- toYaml .Values.resources }}
{{- else }}
{{- $req := 65536 }}
{{- $lim := 131072 }}
{{- if eq .Values.mode "fleet" }}
{{- $n := len .Values.fleet.targets }}
{{- $shards := max 1 (int .Values.fleet.shards) }}
{{- if gt $shards 1 }}
{{- $n = min $n (div (add (mul $n 5) (sub (mul $shards 4) 1)) (mul $shards 4)) }}
{{- end }}
{{- $perReq := 154 }}
{{- $perLim := 205 }}
{{- if .Values.fleet.keepConnections }}
{{- $perReq = 328 }}
{{- $perLim = 359 }}
{{- end }}
{{- $req = add $req (mul $n $perReq) }}
{{- $lim = add $lim (mul $n $perLim) }}
{{- end }}
requests:
  cpu: 50m
  memory: {{ $req }}Ki
limits:
  memory: {{ $lim }}Ki
{{- end }}
{{- end }}
