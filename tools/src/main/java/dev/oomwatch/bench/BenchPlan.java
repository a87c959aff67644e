package dev.oomwatch.bench;

import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * How much the bench measures: OOMs per latency mode, the steady-state node and windows, the storm.
 * {@link #full()} is the published run (about 10 minutes on a 2-core machine), {@link #quick()} a check
 * that everything works (under 2 minutes). Immutable.
 *
 * @param phases          which phases run
 * @param latencyModes    the detection-latency modes, each with its number of real OOMs
 * @param steadyPods      gVisor pods laid out for the steady state and the storm
 * @param steadyConfigs   the agent configurations measured at steady state, side by side
 * @param warmUp          time after the agent is ready and before a window starts
 * @param steadyWindow    the steady-state measuring window
 * @param stormKillsPerMinute synthetic kills a minute during the storm
 * @param stormDuration   how long the storm lasts
 */
public record BenchPlan(
    Set<Phase> phases,
    List<LatencyMode> latencyModes,
    int steadyPods,
    List<SteadyConfig> steadyConfigs,
    Duration warmUp,
    Duration steadyWindow,
    int stormKillsPerMinute,
    Duration stormDuration) {

  /** The parts of a run. */
  public enum Phase { LATENCY, STEADY, STORM }

  /** Which JVM options the agent runs with. */
  public enum JvmFlags { CHART, DEFAULT }

  /**
   * One detection-latency mode.
   *
   * @param kmsg         whether the agent reads the kernel log ({@code --kmsg=/dev/kmsg}) or not ({@code off})
   * @param pollInterval the agent's cgroup poll interval
   * @param ooms         how many real runsc OOMs are measured
   * @param notifications whether the kernel's cgroup notifications are on ({@code --cgroup-notify auto}) or
   *                     off (poll only, as where the chart mounts the cgroup tree read-only)
   */
  public record LatencyMode(boolean kmsg, Duration pollInterval, int ooms, boolean notifications) {
    public LatencyMode(boolean kmsg, Duration pollInterval, int ooms) {
      this(kmsg, pollInterval, ooms, false);
    }

    public String label() {
      return (kmsg ? "kmsg" : "cgroup-only") + (notifications ? ", notifications" : "") + ", "
          + Bench.duration(pollInterval) + " cgroup poll";
    }

    String slug() {
      return (kmsg ? "kmsg" : "cgroup") + (notifications ? "-notify" : "") + "-" + pollInterval.toMillis() + "ms";
    }
  }

  /**
   * One steady-state agent configuration.
   *
   * @param jvmFlags     the agent JVM's options
   * @param pollInterval the agent's cgroup poll interval
   * @param allSources   every source on (kernel log, readable runsc state files: the chart's kernel-log
   *                     mode, or uid 0); false: as the chart deploys by default, unprivileged, with no kernel
   *                     log and a runsc state dir it cannot read (runsc keeps it 0711, root's)
   */
  public record SteadyConfig(JvmFlags jvmFlags, Duration pollInterval, boolean allSources, AgentRuntime runtime,
      boolean notifications) {
    public SteadyConfig(JvmFlags jvmFlags, Duration pollInterval) {
      this(jvmFlags, pollInterval, true);
    }

    public SteadyConfig(JvmFlags jvmFlags, Duration pollInterval, boolean allSources) {
      this(jvmFlags, pollInterval, allSources, AgentRuntime.JDK17_AGENT_JAR);
    }

    public SteadyConfig(JvmFlags jvmFlags, Duration pollInterval, boolean allSources, AgentRuntime runtime) {
      this(jvmFlags, pollInterval, allSources, runtime, false);
    }

    public String label() {
      return jvmFlags.name().toLowerCase(java.util.Locale.ROOT) + " JVM flags, " + Bench.duration(pollInterval)
          + " cgroup poll" + (allSources ? "" : ", unprivileged (no kmsg, runsc state unreadable)")
          + (notifications ? ", cgroup notifications on" : "")
          + (runtime == AgentRuntime.JDK17_AGENT_JAR ? "" : ", " + runtime.label());
    }

    String slug() {
      return "steady-" + jvmFlags.name().toLowerCase(java.util.Locale.ROOT) + "-" + pollInterval.toMillis() + "ms"
          + (allSources ? "" : "-unprivileged") + (notifications ? "-notify" : "")
          + (runtime == AgentRuntime.JDK17_AGENT_JAR ? "" : "-" + runtime.name().toLowerCase(java.util.Locale.ROOT));
    }
  }

  /**
   * The published run: 20 + 20 OOMs for the targets, 10 each at 250 ms and 5 s; five steady-state
   * configurations with 60 s windows; a 1-minute storm.
   */
  public static BenchPlan full() {
    return new BenchPlan(EnumSet.allOf(Phase.class),
        List.of(new LatencyMode(true, Duration.ofSeconds(1), 20),
            new LatencyMode(false, Duration.ofSeconds(1), 20),
            new LatencyMode(false, Duration.ofSeconds(1), 20, true),
            new LatencyMode(false, Duration.ofMillis(250), 10),
            new LatencyMode(false, Duration.ofSeconds(5), 10)),
        110,
        allSteadyConfigs(),
        Duration.ofSeconds(15),
        Duration.ofSeconds(60),
        1000,
        Duration.ofSeconds(60));
  }

  /** A check that everything works: a few OOMs, two steady configurations, 10 s windows, a 15 s storm. */
  public static BenchPlan quick() {
    return new BenchPlan(EnumSet.allOf(Phase.class),
        List.of(new LatencyMode(true, Duration.ofSeconds(1), 2),
            new LatencyMode(false, Duration.ofSeconds(1), 2),
            new LatencyMode(false, Duration.ofSeconds(1), 2, true)),
        110,
        List.of(new SteadyConfig(JvmFlags.CHART, Duration.ofSeconds(1)),
            new SteadyConfig(JvmFlags.DEFAULT, Duration.ofSeconds(1))),
        Duration.ofSeconds(5),
        Duration.ofSeconds(10),
        1000,
        Duration.ofSeconds(15));
  }

  private static List<SteadyConfig> allSteadyConfigs() {
    List<SteadyConfig> configs = new java.util.ArrayList<>(List.of(new SteadyConfig(JvmFlags.CHART, Duration.ofMillis(250)),
        new SteadyConfig(JvmFlags.CHART, Duration.ofSeconds(1)),
        new SteadyConfig(JvmFlags.CHART, Duration.ofSeconds(5)),
        new SteadyConfig(JvmFlags.DEFAULT, Duration.ofSeconds(1)),
        new SteadyConfig(JvmFlags.CHART, Duration.ofSeconds(1), false),
        new SteadyConfig(JvmFlags.CHART, Duration.ofSeconds(1), false, AgentRuntime.JDK17_AGENT_JAR, true)));
    configs.addAll(runtimeComparison());
    return List.copyOf(configs);
  }

  /**
   * The runtimes against the image's (the second row above): the chart's flags, a 1 s poll, every source
   * on, so that only the JVM and the jar differ.
   */
  static List<SteadyConfig> runtimeComparison() {
    return java.util.Arrays.stream(AgentRuntime.values()).filter(r -> r != AgentRuntime.JDK17_AGENT_JAR)
        .map(r -> new SteadyConfig(JvmFlags.CHART, Duration.ofSeconds(1), true, r)).toList();
  }

  /** Only the runtime comparison: the image's row and its candidates. */
  public BenchPlan runtimesOnly() {
    List<SteadyConfig> configs = new java.util.ArrayList<>();
    configs.add(new SteadyConfig(JvmFlags.CHART, Duration.ofSeconds(1)));
    configs.addAll(runtimeComparison());
    return new BenchPlan(EnumSet.of(Phase.STEADY), latencyModes, steadyPods, List.copyOf(configs), warmUp,
        steadyWindow, stormKillsPerMinute, stormDuration);
  }

  /**
   * Only the cgroup notification comparison (issue 11): cgroup-only latency at a 1 s poll and the unprivileged
   * steady state, with the kernel's cgroup notifications off and on; the phases asked for of those two.
   */
  public BenchPlan notificationsOnly() {
    // with notifications first: its row is the one with a target
    List<LatencyMode> modes = latencyModes.stream().filter(m -> !m.kmsg() && m.pollInterval().equals(Duration.ofSeconds(1)))
        .sorted(java.util.Comparator.comparing(m -> !m.notifications())).toList();
    List<SteadyConfig> configs = List.of(new SteadyConfig(JvmFlags.CHART, Duration.ofSeconds(1), false),
        new SteadyConfig(JvmFlags.CHART, Duration.ofSeconds(1), false, AgentRuntime.JDK17_AGENT_JAR, true));
    Set<Phase> only = EnumSet.noneOf(Phase.class);
    only.addAll(phases);
    only.retainAll(EnumSet.of(Phase.LATENCY, Phase.STEADY));
    return new BenchPlan(only, modes, steadyPods, configs, warmUp, steadyWindow, stormKillsPerMinute, stormDuration);
  }

  public BenchPlan withPhases(Set<Phase> only) {
    return new BenchPlan(Set.copyOf(only), latencyModes, steadyPods, steadyConfigs, warmUp, steadyWindow,
        stormKillsPerMinute, stormDuration);
  }

  boolean runs(Phase phase) {
    return phases.contains(phase);
  }
}
