{{/*
The chart's name, truncated to 63 characters (a DNS label).
*/}}
{{- define "gvisor-oom-watcher.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The fully qualified name of the release's objects, truncated to 63 characters. A release whose name
already contains the chart name is used as is.
*/}}
{{- define "gvisor-oom-watcher.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart name and version, for the helm.sh/chart label of the objects (never of the pods).
*/}}
{{- define "gvisor-oom-watcher.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Selector labels: stable for the life of the release (a DaemonSet's selector is immutable).
*/}}
{{- define "gvisor-oom-watcher.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gvisor-oom-watcher.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Pod labels: the selector labels and the release's common labels, but no chart or app version, so that a
chart bump alone does not restart the agent on every node.
*/}}
{{- define "gvisor-oom-watcher.podLabels" -}}
{{ include "gvisor-oom-watcher.selectorLabels" . }}
app.kubernetes.io/component: node-agent
app.kubernetes.io/part-of: gvisor-oom-watcher
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- with .Values.podLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Labels of every object but the pods.
*/}}
{{- define "gvisor-oom-watcher.labels" -}}
helm.sh/chart: {{ include "gvisor-oom-watcher.chart" . }}
{{ include "gvisor-oom-watcher.selectorLabels" . }}
app.kubernetes.io/component: node-agent
app.kubernetes.io/part-of: gvisor-oom-watcher
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Chart.AppVersion }}
app.kubernetes.io/version: {{ . | quote }}
{{- end }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
The ServiceAccount the agent runs as.
*/}}
{{- define "gvisor-oom-watcher.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "gvisor-oom-watcher.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The image: [registry/]repository:tag, with @digest appended when a digest is given (the digest is
what the node pulls; the tag stays for people reading the manifest). The tag defaults to appVersion.
*/}}
{{- define "gvisor-oom-watcher.image" -}}
{{- $repository := .Values.image.repository }}
{{- with .Values.image.registry }}
{{- $repository = printf "%s/%s" (trimSuffix "/" .) $repository }}
{{- end }}
{{- $tag := default .Chart.AppVersion .Values.image.tag | toString }}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" $repository $tag .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $repository $tag }}
{{- end }}
{{- end }}

{{/*
Where the host paths are mounted in the container: under /host, as node-exporter does, so that nothing
of the host shadows the container's own /sys, /run or /proc.
*/}}
{{- define "gvisor-oom-watcher.cgroupMountPath" -}}
{{- printf "/host%s" .Values.hostPaths.cgroupRoot }}
{{- end }}

{{- define "gvisor-oom-watcher.runscMountPath" -}}
{{- printf "/host%s" .Values.hostPaths.runscRoot }}
{{- end }}

{{- define "gvisor-oom-watcher.procMountPath" -}}
{{- printf "/host%s" .Values.hostPaths.proc }}
{{- end }}

{{/*
The container's securityContext as rendered: the kernel-log mode's when it is on, the unprivileged one
otherwise.
*/}}
{{- define "gvisor-oom-watcher.effectiveSecurityContext" -}}
{{- if .Values.kernelLog.enabled }}
{{- toYaml .Values.kernelLog.securityContext }}
{{- else }}
{{- toYaml .Values.securityContext }}
{{- end }}
{{- end }}

{{/*
"true" when the agent runs as uid 0 (runAsUser 0, or privileged without a runAsUser: the image's USER is
then still 65532, but a privileged root would be the usual override).
*/}}
{{- define "gvisor-oom-watcher.runsAsRoot" -}}
{{- $sc := include "gvisor-oom-watcher.effectiveSecurityContext" . | fromYaml }}
{{- if and (hasKey $sc "runAsUser") (eq (int $sc.runAsUser) 0) }}true{{ end }}
{{- end }}

{{/*
recursiveReadOnly of the host mounts: Enabled whenever the agent runs as uid 0, so that no host cgroup or
proc file below a read-only mount stays writable for it; as set (or left out) for uid 65532.
*/}}
{{- define "gvisor-oom-watcher.recursiveReadOnly" -}}
{{- $asRoot := include "gvisor-oom-watcher.runsAsRoot" . }}
{{- with .Values.hostPaths.recursiveReadOnly }}
{{- if and $asRoot (ne . "Enabled") }}
{{- fail (printf "hostPaths.recursiveReadOnly is %q, but the agent runs as uid 0: it must be Enabled (or empty), so that no host cgroup or proc file stays writable for it (Kubernetes >= 1.30 and a runtime that supports recursive read-only mounts)" .) }}
{{- end }}
{{- . }}
{{- else }}
{{- if $asRoot }}Enabled{{ end }}
{{- end }}
{{- end }}

{{/*
"true" when the cgroup root is mounted read-write (hostPaths.cgroupWritable), for cgroup v1's OOM
notifications; refused where the agent runs as uid 0, who could then write every host cgroup file.
*/}}
{{- define "gvisor-oom-watcher.cgroupWritable" -}}
{{- if .Values.hostPaths.cgroupWritable }}
{{- if include "gvisor-oom-watcher.runsAsRoot" . }}
{{- fail "hostPaths.cgroupWritable is true, but the agent runs as uid 0: uid 0 could write every host cgroup file; leave it false (the kernel-log mode sees kills at once anyway) or run as uid 65532" }}
{{- end }}
{{- if .Values.kernelLog.enabled }}
{{- fail "hostPaths.cgroupWritable is for the unprivileged mode; the kernel-log mode sees OOM kills at once without it" }}
{{- end }}true
{{- end }}
{{- end }}

{{/*
The agent's config file (ConfigLoader's YAML keys): the chart owns the keys that depend on how the pod
is built (paths of the host mounts, the kernel log, the node name from the downward API, in-cluster
credentials); everything else comes from .Values.config as is, so a key added to the agent later needs
no template change.
*/}}
{{- define "gvisor-oom-watcher.config" -}}
{{- range $key := list "nodeName" "kubeconfig" "cgroupRoot" "runscRoot" "procRoot" "kmsg" }}
{{- if hasKey $.Values.config $key }}
{{- fail (printf "config.%s is set by the chart, not in config: see the values hostPaths, kernelLog and README.md" $key) }}
{{- end }}
{{- end }}
{{- $owned := dict
    "cgroupRoot" (include "gvisor-oom-watcher.cgroupMountPath" .)
    "runscRoot" (include "gvisor-oom-watcher.runscMountPath" .)
    "procRoot" (include "gvisor-oom-watcher.procMountPath" .)
    "kmsg" (ternary "/dev/kmsg" "off" .Values.kernelLog.enabled) }}
{{- toYaml (merge $owned (deepCopy .Values.config)) }}
{{- end }}

{{/*
The container's securityContext: the kernel-log mode's when it is on, the unprivileged one otherwise.
*/}}
{{- define "gvisor-oom-watcher.securityContext" -}}
{{- include "gvisor-oom-watcher.effectiveSecurityContext" . }}
{{- end }}

{{/*
What the PodMonitor's and the ServiceMonitor's endpoint share.
honorLabels: the agent's per-pod series (oomwatch_pod_*) carry the gVisor pod's own `namespace` and `pod`
labels, which clash with the target labels prometheus-operator adds (the namespace and pod of the AGENT);
without honorLabels Prometheus would keep the agent's and rename the gVisor pod's to exported_namespace
and exported_pod. The agent exports no other label that a target label could be confused with; series
without their own namespace/pod still get the agent's.
The `node` label (the agent pod's node) is what the chart's alerts and dashboard group the agent's own
series by; it is set before the user's relabelings, which may still change it.
*/}}
{{- define "gvisor-oom-watcher.scrapeEndpoint" -}}
path: /metrics
scheme: http
honorLabels: true
{{- with .interval }}
interval: {{ . }}
{{- end }}
{{- with .scrapeTimeout }}
scrapeTimeout: {{ . }}
{{- end }}
relabelings:
  - action: replace
    sourceLabels:
      - __meta_kubernetes_pod_node_name
    targetLabel: node
  {{- with .relabelings }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- with .metricRelabelings }}
metricRelabelings:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
PromQL: by `by`, the counter `metric` rose within `window`. increase() alone misses the first count of a
labelled counter: its series appears at 1 (the agent creates a labelled series on its first count), so
the rise from nothing is a series that exists now and did not `window` ago — but only where this node's
agent was scraped `window` ago already, so that installing the monitoring does not alert on old counts.
`by` must include node.
*/}}
{{- define "gvisor-oom-watcher.counterRose" -}}
(sum by ({{ .by }}) (increase({{ .metric }}[{{ .window }}])) > 0)
or
(
  (sum by ({{ .by }}) ({{ .metric }}) unless sum by ({{ .by }}) ({{ .metric }} offset {{ .window }}))
  and on (node)
  max by (node) (oomwatch_build_info offset {{ .window }})
)
{{- end }}
