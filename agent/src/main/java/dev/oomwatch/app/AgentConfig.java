package dev.oomwatch.app;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * The agent's settings, resolved from defaults, a YAML file, the environment and flags (later wins) and
 * validated by {@link ConfigLoader}. Immutable.
 *
 * @param nodeName             the node this agent watches ({@code --node-name} / {@code NODE_NAME})
 * @param kubeconfig           a kubeconfig file; empty means {@code KUBECONFIG} or in-cluster
 * @param cgroupRoot           where the cgroup hierarchies are mounted
 * @param cgroupPollInterval   how often pod cgroups are read
 * @param cgroupNotify         whether the kernel's memory-cgroup notifications make the pod cgroups be read at
 *                             once ({@code --cgroup-notify=auto}, where the mount allows) or only the poll
 *                             ({@code off})
 * @param kmsg                 the kernel log device, or empty when turned off ({@code --kmsg=off})
 * @param bootIdPath           the kernel's boot id (part of an incident's identity when the sandbox is unknown)
 * @param procRoot             the host's proc filesystem as the agent sees it (a container's own {@code /proc}
 *                             shows its own pid namespace, not the sentries: the chart mounts the host's at
 *                             {@code /host/proc})
 * @param runscRoot            runsc's state directory for the CRI runtime
 * @param runscPollInterval    how often the runsc state directory is read
 * @param runscMetricsUrl      runsc's metric server, when scraped
 * @param runscBinary          a runsc binary for {@code runsc events --stats}, when per-container memory is wanted
 * @param runtimeHandler       the RuntimeClass handler that marks a pod as gVisor-sandboxed
 * @param httpPort             port of {@code /metrics}, {@code /healthz}, {@code /readyz} (0: any free port)
 * @param pendingCapacity      incidents kept while the API server is unreachable
 * @param incidentWritesPerSecond the most {@code OOMIncident}s created per second (an OOM storm is queued)
 * @param incidentTtl          incidents older than this are deleted by their node's agent
 * @param nearOomShare         share of the limit above which a sandbox is near OOM
 * @param nearOomFor           how long it must stay there before the {@code NearOOM} warning
 * @param nearOomRepeat        the least time between two {@code NearOOM} warnings for one pod
 */
public record AgentConfig(
    String nodeName,
    Optional<Path> kubeconfig,
    Path cgroupRoot,
    Duration cgroupPollInterval,
    boolean cgroupNotify,
    Optional<Path> kmsg,
    Path bootIdPath,
    Path procRoot,
    Path runscRoot,
    Duration runscPollInterval,
    Optional<URI> runscMetricsUrl,
    Optional<Path> runscBinary,
    String runtimeHandler,
    int httpPort,
    int pendingCapacity,
    int incidentWritesPerSecond,
    Duration incidentTtl,
    double nearOomShare,
    Duration nearOomFor,
    Duration nearOomRepeat) {}
