package dev.oomwatch.app;

import java.net.URI;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The agent's settings, resolved from defaults, a YAML file, the environment and flags (later wins) and
 * validated by {@link ConfigLoader}. Immutable.
 *
 * @param nodeName          the node this agent watches ({@code --node-name} / {@code NODE_NAME})
 * @param kubeconfig        a kubeconfig file; empty means {@code KUBECONFIG} or in-cluster
 * @param cgroupRoot        where the cgroup hierarchies are mounted
 * @param kmsg              the kernel log device, or empty when turned off ({@code --kmsg=off})
 * @param bootIdPath        the kernel's boot id (part of every incident's identity)
 * @param runscRoot         runsc's state directory for the CRI runtime
 * @param runscMetricsUrl   runsc's metric server, when scraped
 * @param runtimeHandler    the RuntimeClass handler that marks a pod as gVisor-sandboxed
 * @param httpPort          port of {@code /metrics}, {@code /healthz}, {@code /readyz} (0: any free port)
 * @param pendingCapacity   incidents kept while the API server is unreachable
 */
public record AgentConfig(
    String nodeName,
    Optional<Path> kubeconfig,
    Path cgroupRoot,
    Optional<Path> kmsg,
    Path bootIdPath,
    Path runscRoot,
    Optional<URI> runscMetricsUrl,
    String runtimeHandler,
    int httpPort,
    int pendingCapacity) {}
