package dev.oomwatch.tools;

import dev.oomwatch.bench.AgentJars;
import dev.oomwatch.bench.DashboardScenario;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code scenario}: two nodes' agents and their gVisor pods with real OOM kills, kept running for a while
 * with the agents' {@code /metrics} on known ports (see {@link DashboardScenario}); what
 * {@code scripts/dashboard-png.sh} scrapes to draw the dashboard. Exit codes: 0 done, 1 could not run or
 * failed, 2 bad usage.
 */
@Command(name = "scenario", mixinStandardHelpOptions = true,
    description = "Run two agents (node-a with the kernel log, node-b cgroup-only) and five gVisor pods in three"
        + " namespaces with real runsc OOMs (restart loops, a job failing once, one near its limit) for a while,"
        + " serving the agents' /metrics (root, runsc, cgroup v1, /dev/kmsg).")
public final class ScenarioCommand implements Callable<Integer> {
  @Option(names = "--duration", defaultValue = "150", description = "Seconds to run once the agents are ready"
      + " (default ${DEFAULT-VALUE}).")
  long seconds;

  @Option(names = "--http-port", defaultValue = "19464", description = "node-a's agent serves /metrics here,"
      + " node-b's on the next port (default ${DEFAULT-VALUE}).")
  int httpPort;

  @Option(names = "--summary", description = "Write when the run began and ended, the pods and the kills here (JSON).")
  Path summary;

  @Option(names = "--agent-jar", description = "The agent's jar (default: ${DEFAULT-VALUE}).",
      defaultValue = AgentJars.DEFAULT_AGENT_JAR)
  Path agentJar;

  @Override
  public Integer call() {
    if (seconds < 10 || httpPort < 1 || httpPort > 65534) {
      System.err.println("gvisor-oom-watcher scenario: --duration must be at least 10 and --http-port 1 to 65534");
      return 2;
    }
    System.setProperty("org.slf4j.simpleLogger.log.dev.oomwatch.lab", "warn");
    System.setProperty("org.slf4j.simpleLogger.log.io.fabric8.kubernetes.client.dsl.internal.VersionUsageUtils", "error");
    return new DashboardScenario(agentJar, httpPort, Duration.ofSeconds(seconds), System.out).run(summary);
  }
}
