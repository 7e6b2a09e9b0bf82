{{/* The labels of every object: the kustomize base's (app, part-of), then Helm's own. */}}
{{- define "ramcoin.labels" -}}
app: {{ .name }}
{{ include "ramcoin.commonLabels" .root }}
{{- end }}

{{/* A pod's labels: exactly the kustomize base's, so that a chart version never restarts pods by itself. */}}
{{- define "ramcoin.podLabels" -}}
app: {{ .name }}
app.kubernetes.io/part-of: ramcoin
{{- end }}

{{/* <registry>/<service>:<tag>, the service's own registry and tag over the global ones. */}}
{{- define "ramcoin.image" -}}
{{- $service := index .root.Values .name -}}
{{- $registry := $service.image.registry | default .root.Values.image.registry -}}
{{- $tag := $service.image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- printf "%s/%s:%s" $registry .name $tag -}}
{{- end }}

{{/* A service's replicas: its value, else the profile's (fast runs two hashers and two workers). */}}
{{- define "ramcoin.replicas" -}}
{{- $service := index .root.Values .name -}}
{{- if kindIs "invalid" $service.replicas -}}
{{- if and (eq .root.Values.profile "fast") (has .name (list "hasher" "worker")) }}2{{ else }}1{{ end -}}
{{- else -}}
{{- $service.replicas -}}
{{- end -}}
{{- end }}

{{/* The store's Secret: the user's, or the chart's. */}}
{{- define "ramcoin.storeSecret" -}}
{{- .Values.store.existingSecret | default "ramcoin-store" -}}
{{- end }}

{{/* The restricted securityContext of a container of ours. */}}
{{- define "ramcoin.containerSecurity" -}}
runAsNonRoot: true
runAsUser: {{ .uid }}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
  {{- if .bindsPort80 }}
  # The binary carries the file capability NET_BIND_SERVICE (port 80 in plain pods): exec fails unless that one
  # stays in the bounding set. Without privilege escalation it grants nothing: the sysctl opens 80.
  add: ["NET_BIND_SERVICE"]
  {{- end }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
The pod template of rng, hasher, worker and webui: the kustomize base's, probes, limits and hardening alike.
.env: extra environment entries (YAML), .grace: the termination grace period or empty.
*/}}
{{- define "ramcoin.servicePod" -}}
metadata:
  labels:
    {{- include "ramcoin.podLabels" . | nindent 4 }}
  annotations:
    # The ConfigMap's settings: an upgrade that changes them restarts the pods.
    checksum/config: {{ include (print .root.Template.BasePath "/config.yaml") .root | sha256sum }}
    {{- if .root.Values.prometheusScrape.enabled }}
    prometheus.io/scrape: "true"
    prometheus.io/port: "80"
    prometheus.io/path: /metrics
    {{- end }}
spec:
  automountServiceAccountToken: false
  # No <SERVICE>_PORT=tcp://… variables from the namespace's Services: REDIS_PORT is a setting here.
  enableServiceLinks: false
  {{- with .grace }}
  # On SIGTERM the worker stops mining and writes its pending counts to the store first.
  terminationGracePeriodSeconds: {{ . }}
  {{- end }}
  securityContext:
    runAsNonRoot: true
    runAsUser: 1654
    runAsGroup: 1654
    seccompProfile:
      type: RuntimeDefault
    # Port 80 without root (a safe, namespaced sysctl since Kubernetes 1.22; older kubelets must allow it).
    sysctls:
      - name: net.ipv4.ip_unprivileged_port_start
        value: "0"
  containers:
    - name: {{ .name }}
      image: {{ include "ramcoin.image" . }}
      imagePullPolicy: {{ .root.Values.image.pullPolicy }}
      envFrom:
        - configMapRef:
            name: config
        # RAMCOIN_ADMIN_TOKEN for the lesson knobs, when the Secret exists (docs/lessons.md).
        - secretRef:
            name: ramcoin-admin
            optional: true
      {{- with .env }}
      env:
        {{- . | nindent 8 }}
      {{- end }}
      ports:
        - name: http
          containerPort: 80
          protocol: TCP
      startupProbe:
        httpGet:
          path: /healthz
          port: http
        periodSeconds: 2
        failureThreshold: 30
      livenessProbe:
        httpGet:
          path: /healthz
          port: http
        periodSeconds: 10
        timeoutSeconds: 3
        failureThreshold: 3
      readinessProbe:
        httpGet:
          path: /readyz
          port: http
        periodSeconds: 5
        timeoutSeconds: 3
        failureThreshold: 2
      resources:
        {{- toYaml (index .root.Values .name).resources | nindent 8 }}
      securityContext:
        {{- include "ramcoin.containerSecurity" (dict "uid" 1654 "bindsPort80" true) | nindent 8 }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
  volumes:
    # The root file system is read-only; the .NET runtime may still want a scratch /tmp.
    - name: tmp
      emptyDir:
        sizeLimit: 64Mi
{{- end }}

{{/* The store's password environment entry (only worker and webui, the store's clients, get it). */}}
{{- define "ramcoin.storePasswordEnv" -}}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "ramcoin.storeSecret" . }}
      key: REDIS_PASSWORD
{{- end }}

{{/* The strategy of a stateless Deployment: a new pod ready before an old one goes. */}}
{{- define "ramcoin.rollingUpdate" -}}
# A new pod must be ready before an old one goes: rolling updates without a gap.
strategy:
  type: RollingUpdate
  rollingUpdate:
    maxSurge: 1
    maxUnavailable: 0
{{- end }}

{{/* A ClusterIP Service on port 80 of a service's pods. */}}
{{- define "ramcoin.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ .name }}
  labels:
    {{- include "ramcoin.labels" . | nindent 4 }}
spec:
  selector:
    app: {{ .name }}
  ports:
    - name: http
      port: 80
      protocol: TCP
      targetPort: http
{{- end }}

{{/* The labels of an object that belongs to no one service (the namespace-wide network policies). */}}
{{- define "ramcoin.commonLabels" -}}
app.kubernetes.io/part-of: ramcoin
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{/* The HorizontalPodAutoscaler API this cluster serves: autoscaling/v2 (1.23+), else v2beta2, else empty. */}}
{{- define "ramcoin.hpaApi" -}}
{{- if .Capabilities.APIVersions.Has "autoscaling/v2" }}autoscaling/v2
{{- else if .Capabilities.APIVersions.Has "autoscaling/v2beta2" }}autoscaling/v2beta2
{{- end }}
{{- end }}

{{/* The PodDisruptionBudget API this cluster serves: policy/v1 (1.21+), else v1beta1, else empty. */}}
{{- define "ramcoin.pdbApi" -}}
{{- if .Capabilities.APIVersions.Has "policy/v1" }}policy/v1
{{- else if .Capabilities.APIVersions.Has "policy/v1beta1" }}policy/v1beta1
{{- end }}
{{- end }}

{{/* Whether an HPA owns the worker count: asked for, and the cluster takes one. */}}
{{- define "ramcoin.autoscaled" -}}
{{- if and .Values.worker.autoscaling.enabled (include "ramcoin.hpaApi" .) }}true{{ end }}
{{- end }}
