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
   */
  public record LatencyMode(boolean kmsg, Duration pollInterval, int ooms) {
    public String label() {
      return (kmsg ? "kmsg" : "cgroup-only") + ", " + Bench.duration(pollInterval) + " cgroup poll";
    }

    String slug() {
      return (kmsg ? "kmsg" : "cgroup") + "-" + pollInterval.toMillis() + "ms";
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
  public record SteadyConfig(JvmFlags jvmFlags, Duration pollInterval, boolean allSources) {
    public SteadyConfig(JvmFlags jvmFlags, Duration pollInterval) {
      this(jvmFlags, pollInterval, true);
    }

    public String label() {
      return jvmFlags.name().toLowerCase(java.util.Locale.ROOT) + " JVM flags, " + Bench.duration(pollInterval)
          + " cgroup poll" + (allSources ? "" : ", unprivileged (no kmsg, runsc state unreadable)");
    }

    String slug() {
      return "steady-" + jvmFlags.name().toLowerCase(java.util.Locale.ROOT) + "-" + pollInterval.toMillis() + "ms"
          + (allSources ? "" : "-unprivileged");
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
            new LatencyMode(false, Duration.ofSeconds(1), 2)),
        110,
        List.of(new SteadyConfig(JvmFlags.CHART, Duration.ofSeconds(1)),
            new SteadyConfig(JvmFlags.DEFAULT, Duration.ofSeconds(1))),
        Duration.ofSeconds(5),
        Duration.ofSeconds(10),
        1000,
        Duration.ofSeconds(15));
  }

  private static List<SteadyConfig> allSteadyConfigs() {
    return List.of(new SteadyConfig(JvmFlags.CHART, Duration.ofMillis(250)),
        new SteadyConfig(JvmFlags.CHART, Duration.ofSeconds(1)),
        new SteadyConfig(JvmFlags.CHART, Duration.ofSeconds(5)),
        new SteadyConfig(JvmFlags.DEFAULT, Duration.ofSeconds(1)),
        new SteadyConfig(JvmFlags.CHART, Duration.ofSeconds(1), false));
  }

  public BenchPlan withPhases(Set<Phase> only) {
    return new BenchPlan(Set.copyOf(only), latencyModes, steadyPods, steadyConfigs, warmUp, steadyWindow,
        stormKillsPerMinute, stormDuration);
  }

  public BenchPlan withLatencyModes(List<LatencyMode> modes) {
    return new BenchPlan(phases, List.copyOf(modes), steadyPods, steadyConfigs, warmUp, steadyWindow,
        stormKillsPerMinute, stormDuration);
  }

  boolean runs(Phase phase) {
    return phases.contains(phase);
  }
}
