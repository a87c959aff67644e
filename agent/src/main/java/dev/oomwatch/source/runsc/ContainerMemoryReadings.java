package dev.oomwatch.source.runsc;

import dev.oomwatch.metrics.AgentMetrics;
import dev.oomwatch.model.ContainerMemorySample;
import dev.oomwatch.model.SandboxRef;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The memory each sampled container of a gVisor pod used at the latest round of
 * {@code runsc events --stats}, as the sentry accounts it, for
 * {@code oomwatch_container_memory_usage_bytes{namespace,pod,container}}. Only the containers the
 * sampler samples appear (by default those of sandboxes with two or more app containers); a round
 * replaces the previous one whole, so a container that stopped or a sandbox that went loses its series.
 *
 * <p>Thread-safety: the sampling thread builds a round and publishes it with one volatile write; the
 * scraping thread reads the published round.
 */
final class ContainerMemoryReadings {
  private record Reading(String namespace, String pod, String container, long usageBytes) {}

  private volatile Map<String, Reading> published = Map.of();
  private final Map<String, Reading> round = new HashMap<>();

  /** Notes one sample of the round being taken; sampling thread only. */
  void sampled(SandboxRef sandbox, ContainerMemorySample sample) {
    round.put(sample.sandboxId() + "/" + sample.containerId(),
        new Reading(sandbox.podNamespace(), sandbox.podName(), sample.containerName(), sample.usageBytes()));
  }

  /** Publishes the round just taken (empty when no sandbox runs) and starts the next; sampling thread only. */
  void roundDone() {
    published = Map.copyOf(round);
    round.clear();
  }

  void register(AgentMetrics metrics) {
    metrics.registerGauge("oomwatch_container_memory_usage_bytes",
        "Memory a container of a gVisor pod uses as the sandbox's sentry accounts it (runsc events --stats), from"
            + " the latest round; only sandboxes with two or more containers unless every sandbox is sampled",
        List.of("namespace", "pod", "container"),
        samples -> published.values().forEach(r -> samples.add(r.usageBytes(), r.namespace(), r.pod(), r.container())));
  }
}
