{{/* Names and labels. */}}
{{- define "videocall.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "videocall.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/part-of: videocall
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one component; call with (dict "root" $ "component" "actix-api"). */}}
{{- define "videocall.selectorLabels" -}}
app.kubernetes.io/name: {{ .component }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/* NATS and connection settings both servers read (videocall-relay/src/cli.rs). */}}
{{- define "videocall.sharedEnv" -}}
- name: NATS_URL
  value: {{ required "nats.url is required: both servers relay through NATS" .Values.nats.url | quote }}
{{- with .Values.nats.auth }}
{{- if and .existingSecret .tokenKey }}
- name: NATS_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .existingSecret }}
      key: {{ .tokenKey }}
{{- end }}
{{- if and .existingSecret .nkeyKey }}
- name: NATS_NKEY
  valueFrom:
    secretKeyRef:
      name: {{ .existingSecret }}
      key: {{ .nkeyKey }}
{{- end }}
{{- if and .existingSecret .credsKey }}
- name: NATS_CREDS
  value: /etc/videocall/nats-creds/nats.creds
{{- end }}
{{- end }}
{{- if .Values.nats.tls.secretName }}
- name: NATS_TLS_CA
  value: /etc/videocall/nats-tls/ca.crt
{{- if .Values.nats.tls.clientCertificate }}
- name: NATS_TLS_CERT
  value: /etc/videocall/nats-tls/tls.crt
- name: NATS_TLS_KEY
  value: /etc/videocall/nats-tls/tls.key
{{- end }}
{{- end }}
- name: NATS_TLS_REQUIRED
  value: {{ .Values.nats.tls.required | quote }}
- name: MAX_CONNECTIONS
  value: {{ .Values.limits.maxConnections | quote }}
- name: MAX_CONNECTIONS_PER_IP
  value: {{ .Values.limits.maxConnectionsPerIp | quote }}
- name: MAX_ROOM_SIZE
  value: {{ .Values.limits.maxRoomSize | quote }}
- name: MAX_PACKET_BYTES
  value: {{ .Values.limits.maxPacketBytes | quote }}
- name: RUST_LOG
  value: {{ .Values.logLevel | quote }}
{{- with .Values.auth }}
{{- if and .required (not (and .existingSecret (or .jwtSecretKey .jwtSecretsKey))) }}
{{- fail "auth.required needs auth.existingSecret with jwtSecretKey or jwtSecretsKey" }}
{{- end }}
- name: AUTH_REQUIRED
  value: {{ .required | quote }}
{{- if and .existingSecret .jwtSecretKey }}
- name: JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ .existingSecret }}
      key: {{ .jwtSecretKey }}
{{- end }}
{{- if and .existingSecret .jwtSecretsKey }}
- name: JWT_SECRETS
  valueFrom:
    secretKeyRef:
      name: {{ .existingSecret }}
      key: {{ .jwtSecretsKey }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Mounts of the NATS secrets and of /tmp. */}}
{{- define "videocall.sharedMounts" -}}
{{- if and .Values.nats.auth.existingSecret .Values.nats.auth.credsKey }}
- name: nats-creds
  mountPath: /etc/videocall/nats-creds
  readOnly: true
{{- end }}
{{- if .Values.nats.tls.secretName }}
- name: nats-tls
  mountPath: /etc/videocall/nats-tls
  readOnly: true
{{- end }}
- name: tmp
  mountPath: /tmp
{{- end -}}

{{- define "videocall.sharedVolumes" -}}
{{- if and .Values.nats.auth.existingSecret .Values.nats.auth.credsKey }}
- name: nats-creds
  secret:
    secretName: {{ .Values.nats.auth.existingSecret }}
    items:
      - key: {{ .Values.nats.auth.credsKey }}
        path: nats.creds
{{- end }}
{{- if .Values.nats.tls.secretName }}
- name: nats-tls
  secret:
    secretName: {{ .Values.nats.tls.secretName }}
{{- end }}
# The servers write no files; /tmp is the one writable place on the read-only root filesystem
# in case a library wants a temporary file.
- name: tmp
  emptyDir:
    sizeLimit: 16Mi
{{- end -}}
