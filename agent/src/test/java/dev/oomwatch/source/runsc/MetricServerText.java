package dev.oomwatch.source.runsc;

import java.util.List;

/**
 * What {@code runsc metric-server} serves on {@code /metrics}, written after gVisor's documentation
 * of it ({@code g3doc/user_guide/observability.md}): comment lines about the snapshots, HELP and TYPE
 * lines, per-sandbox meta-metrics prefixed {@code runsc_meta_} with the labels {@code iteration},
 * {@code namespace_name}, {@code pod_name} and {@code sandbox} (sorted), values followed by a
 * timestamp in milliseconds, and the closing comment.
 */
final class MetricServerText {

  static final long TIMESTAMP = 1674599159819L;

  /** One sandbox as the server lists it. */
  record Sandbox(String id, String iteration, String pod, String namespace, boolean running) {
    String labels() {
      return "{iteration=\"" + iteration + "\",namespace_name=\"" + namespace + "\",pod_name=\""
          + pod + "\",sandbox=\"" + id + "\"}";
    }
  }

  private MetricServerText() {}

  static String of(List<Sandbox> sandboxes) {
    StringBuilder text = new StringBuilder();
    text.append("# Data for runsc metric server exporting data for sandboxes in root directory"
        + " /run/containerd/runsc/k8s.io\n");
    text.append("# Writing data from ").append(sandboxes.size() + 2).append(" snapshots:\n");
    for (Sandbox sandbox : sandboxes) {
      text.append("#   - Snapshot with 175 data points taken at 2023-01-25 15:45:33.70256855 -0800"
          + " -0800: map[iteration:").append(sandbox.iteration()).append(" sandbox:")
          .append(sandbox.id()).append("]\n");
    }
    text.append("\n\n# HELP process_start_time_seconds Unix timestamp at which the process started."
        + " Used by Prometheus for counter resets.\n");
    text.append("# TYPE process_start_time_seconds gauge\n");
    text.append("process_start_time_seconds 1674599158.286067 ").append(TIMESTAMP).append("\n\n");
    long running = sandboxes.stream().filter(Sandbox::running).count();
    gauge(text, "runsc_meta_num_sandboxes_running", "Number of sandboxes running at present.",
        List.of(" " + running));
    gauge(text, "runsc_meta_num_sandboxes_total",
        "Counter of distinct sandboxes seen since the start of the metric server.",
        List.of(" " + sandboxes.size()));
    gauge(text, "runsc_meta_sandbox_presence", "Boolean metric set to 1 for each known sandbox.",
        sandboxes.stream().map(s -> s.labels() + " 1").toList());
    gauge(text, "runsc_meta_sandbox_running", "Boolean metric set to 1 for each running sandbox.",
        sandboxes.stream().map(s -> s.labels() + (s.running() ? " 1" : " 0")).toList());
    gauge(text, "runsc_meta_sandbox_creation_time_seconds",
        "When the sandbox was created, as a unix timestamp in seconds.",
        sandboxes.stream().map(s -> s.labels() + " 1674599150.5").toList());
    text.append("# HELP runsc_fs_opens Number of file opens.\n# TYPE runsc_fs_opens counter\n");
    for (Sandbox sandbox : sandboxes) {
      if (sandbox.running()) {
        text.append("runsc_fs_opens").append(sandbox.labels()).append(" 62 ").append(TIMESTAMP)
            .append("\n");
      }
    }
    text.append("\n# End of metric data.\n");
    return text.toString();
  }

  private static void gauge(StringBuilder text, String name, String help, List<String> samples) {
    text.append("# HELP ").append(name).append(' ').append(help).append('\n');
    text.append("# TYPE ").append(name).append(" gauge\n");
    for (String sample : samples) {
      text.append(name).append(sample).append(' ').append(TIMESTAMP).append('\n');
    }
    text.append('\n');
  }
}
