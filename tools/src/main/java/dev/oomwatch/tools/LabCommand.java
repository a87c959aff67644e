package dev.oomwatch.tools;

import dev.oomwatch.lab.LabPrerequisites;
import dev.oomwatch.lab.LabScenario;
import dev.oomwatch.lab.SandboxWorkload;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code lab}: one real gVisor sandbox in a kubelet-like pod cgroup, OOM-killed by the host kernel (or, with
 * {@code --kill}, killed by {@code runsc kill}: the decoy), and what the pod cgroup says afterwards, without
 * the agent: the problem the agent exists for, seen by hand. Cleans up after itself. Exit codes: 0 done,
 * 1 the lab could not run.
 */
@Command(name = "lab", mixinStandardHelpOptions = true,
    description = "Run one real gVisor sandbox OOM (or a kill -9 decoy) in a pod cgroup and print what the cgroup"
        + " records (root, runsc, cgroup v1).")
public final class LabCommand implements Callable<Integer> {
  private static final Duration STOP_DEADLINE = Duration.ofSeconds(60);

  @Option(names = "--limit-mib", defaultValue = "64", description = "The pod's memory limit (default ${DEFAULT-VALUE}).")
  long limitMib;

  @Option(names = "--kill", description = "Kill the sandbox with runsc kill instead of letting it run out of memory.")
  boolean kill;

  private final PrintStream out = System.out;

  @Override
  public Integer call() throws IOException, InterruptedException {
    List<String> missing = LabPrerequisites.onThisMachine().missingIgnoringKmsg();
    if (!missing.isEmpty()) {
      System.err.println("gvisor-oom-watcher lab: this machine cannot run a sandbox: " + String.join("; ", missing));
      return 1;
    }
    SandboxWorkload workload = kill ? SandboxWorkload.sleepForever() : SandboxWorkload.allocatePastLimit((int) Math.min(Integer.MAX_VALUE, limitMib * 8));
    try (LabScenario lab = LabScenario.builder().memoryLimitMib(limitMib).workload(workload).start()) {
      out.printf("sandbox %s of pod %s in %s (limit %d MiB), sentry pid %d%n", lab.sandbox().id(), lab.pod(),
          lab.podCgroup().cgroupPath(), limitMib, lab.sandbox().sentryPid());
      if (kill) {
        lab.sandbox().kill();
      }
      if (!lab.sandbox().awaitStopped(STOP_DEADLINE)) {
        System.err.println("gvisor-oom-watcher lab: the sandbox did not stop within " + STOP_DEADLINE.toSeconds() + " s");
        return 1;
      }
      out.printf("stopped after %d ms: runsc says '%s'%n", lab.elapsed().toMillis(), lab.sandbox().status());
      out.printf("pod cgroup: memory.failcnt %d, memory.max_usage_in_bytes %d%n", lab.podCgroup().memoryFailCount(),
          lab.podCgroup().memoryMaxUsageBytes());
      out.println("kubelet would report the container as exit 128/0, reason Error: nothing says it ran out of memory;"
          + " the agent (`./demo.sh`) says so on the pod.");
      return 0;
    }
  }
}
