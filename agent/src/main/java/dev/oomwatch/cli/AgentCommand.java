package dev.oomwatch.cli;

import dev.oomwatch.app.Agent;
import dev.oomwatch.app.AgentConfig;
import dev.oomwatch.app.ConfigException;
import dev.oomwatch.app.ConfigLoader;
import dev.oomwatch.logging.JsonLogProvider;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code agent}: runs the node agent until SIGTERM. Flags override environment variables, which
 * override the {@code --config} YAML file, which overrides the defaults (see {@link ConfigLoader}).
 */
@Command(name = "agent", mixinStandardHelpOptions = true,
    description = "Run the node agent (one per node, as a DaemonSet).")
final class AgentCommand implements Callable<Integer> {
  @Option(names = "--config", description = "YAML file with any of the settings below")
  Path configFile;

  @Option(names = "--log-format", description = "Log lines as 'text' (default) or 'json': one JSON object per"
      + " line (env OOMWATCH_LOG_FORMAT).")
  void logFormat(String format) {
    if (!format.equals("text") && !format.equals("json")) {
      throw new CommandLine.ParameterException(new CommandLine(this),
          "--log-format must be 'text' or 'json', not '" + format + "'");
    }
  }

  @Option(names = "--node-name", description = "This node's name (env NODE_NAME). Required.")
  String nodeName;

  @Option(names = "--kubeconfig", description = "Kubeconfig file (default: env KUBECONFIG, else in-cluster).")
  String kubeconfig;

  @Option(names = "--cgroup-root", description = "Where the cgroup hierarchies are mounted (default /sys/fs/cgroup).")
  String cgroupRoot;

  @Option(names = "--kmsg", description = "Kernel log device (default /dev/kmsg); 'off' disables it.")
  String kmsg;

  @Option(names = "--proc-root", description = "The host's /proc as mounted in the agent's container (default /proc;"
      + " the chart mounts it at /host/proc).")
  String procRoot;

  @Option(names = "--runsc-root", description = "runsc state directory (default /run/containerd/runsc/k8s.io).")
  String runscRoot;

  @Option(names = "--runsc-metrics-url", description = "runsc metric server URL (optional).")
  String runscMetricsUrl;

  @Option(names = "--runtime-handler", description = "RuntimeClass handler of gVisor pods (default runsc).")
  String runtimeHandler;

  @Option(names = "--http-port", description = "Port of /metrics, /healthz, /readyz (default 9464).")
  String httpPort;

  @Option(names = "--cgroup-poll-interval", description = "How often pod cgroups are read (default 1s).")
  String cgroupPollInterval;

  @Option(names = "--cgroup-notify", description = "auto: the kernel's memory-cgroup notifications make the pod"
      + " cgroups be read at once, where the mount allows; off: only poll (default auto).")
  String cgroupNotify;

  @Option(names = "--runsc-poll-interval", description = "How often the runsc state dir is read (default 1s).")
  String runscPollInterval;

  @Option(names = "--runsc-binary", description = "runsc binary for per-container memory (optional).")
  String runscBinary;

  @Option(names = "--pending-capacity", description = "Incidents kept while the API is unreachable (default 10000).")
  String pendingCapacity;

  @Option(names = "--incident-writes-per-second", description = "Most OOMIncidents created per second (default 20).")
  String incidentWritesPerSecond;

  @Option(names = "--incident-ttl", description = "Incidents older than this are deleted (default 7d).")
  String incidentTtl;

  @Option(names = "--near-oom-share", description = "Share of the limit that is near OOM (default 0.9).")
  String nearOomShare;

  @Option(names = "--near-oom-for", description = "How long near OOM before a NearOOM warning (default 10s).")
  String nearOomFor;

  @Option(names = "--near-oom-repeat", description = "Least time between NearOOM warnings of a pod (default 10m).")
  String nearOomRepeat;

  @Override
  public Integer call() throws InterruptedException {
    try {
      AgentConfig config = ConfigLoader.load(Optional.ofNullable(configFile), System.getenv(), flags());
      Agent agent = Agent.start(config, Clock.systemUTC()); // reads the kubeconfig: a ConfigException too
      CountDownLatch stopped = new CountDownLatch(1);
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        agent.close();
        stopped.countDown();
      }, "shutdown"));
      stopped.await();
      return 0;
    } catch (ConfigException e) {
      refuse(e.getMessage());
      return 2;
    }
  }

  /**
   * A setting the agent cannot start with: one line a user can act on, no stack trace; a JSON object when
   * JSON log lines were asked for, so a log pipeline reads it like any other line.
   */
  private static void refuse(String message) {
    if (JsonLogProvider.NAME.equals(System.getProperty("slf4j.provider"))) {
      LoggerFactory.getLogger(AgentCommand.class).error("gvisor-oom-watcher: {}", message);
    } else {
      System.err.println("gvisor-oom-watcher: " + message);
    }
  }

  private Map<String, String> flags() {
    Map<String, String> flags = new HashMap<>();
    put(flags, "nodeName", nodeName);
    put(flags, "kubeconfig", kubeconfig);
    put(flags, "cgroupRoot", cgroupRoot);
    put(flags, "kmsg", kmsg);
    put(flags, "procRoot", procRoot);
    put(flags, "runscRoot", runscRoot);
    put(flags, "runscMetricsUrl", runscMetricsUrl);
    put(flags, "runtimeHandler", runtimeHandler);
    put(flags, "httpPort", httpPort);
    put(flags, "cgroupPollInterval", cgroupPollInterval);
    put(flags, "cgroupNotify", cgroupNotify);
    put(flags, "runscPollInterval", runscPollInterval);
    put(flags, "runscBinary", runscBinary);
    put(flags, "pendingCapacity", pendingCapacity);
    put(flags, "incidentWritesPerSecond", incidentWritesPerSecond);
    put(flags, "incidentTtl", incidentTtl);
    put(flags, "nearOomShare", nearOomShare);
    put(flags, "nearOomFor", nearOomFor);
    put(flags, "nearOomRepeat", nearOomRepeat);
    return flags;
  }

  private static void put(Map<String, String> flags, String key, String value) {
    if (value != null) {
      flags.put(key, value);
    }
  }
}
