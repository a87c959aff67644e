package dev.oomwatch.bench;

import dev.oomwatch.bench.BenchPlan.SteadyConfig;
import dev.oomwatch.bench.BenchResult.ApiRate;
import dev.oomwatch.bench.BenchResult.SteadyResult;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * The agent's cost on a node with many gVisor pods and nothing happening: one agent JVM per
 * configuration (JVM flags, cgroup poll interval) on the {@link SimulatedNode}, each measured alone.
 * After it is ready and a warm-up, a window in which the bench samples {@code /proc/<pid>} every second
 * (CPU time, RSS, threads), counts the agent's API requests, and takes the allocation from the used heap
 * at both ends (perf data) and the collections in between (GC log; see {@link GcLog}). With
 * {@link SteadyConfig#allSources} the agent reads the kernel log and the runsc state files too (the most it
 * does); without, it runs as the chart deploys it by default. Not thread-safe.
 */
final class SteadyPhase {
  private static final Duration SAMPLE_EVERY = Duration.ofSeconds(1);

  private final Bench bench;
  private final ApiTraffic traffic;
  private final PrintStream out;

  SteadyPhase(Bench bench, ApiTraffic traffic, PrintStream out) {
    this.bench = bench;
    this.traffic = traffic;
    this.out = out;
  }

  SteadyResult run(SimulatedNode node, SteadyConfig config, Duration warmUp, Duration window)
      throws IOException, InterruptedException {
    // An unreadable runsc root looks to the agent as one that is not there (yet): nothing to list.
    Path runscRoot = config.allSources() ? node.runscRoot() : node.runscRoot().resolveSibling("runsc-not-readable");
    List<String> args = List.of("agent",
        "--node-name", node.nodeName(),
        "--kmsg", config.allSources() ? "/dev/kmsg" : "off",
        "--cgroup-poll-interval", config.pollInterval().toMillis() + "ms",
        "--runsc-root", runscRoot.toString(),
        "--runtime-handler", Bench.HANDLER);
    String label = config.slug();
    List<String> archive = List.of();
    if (config.runtime().trains()) {
      archive = List.of(config.runtime().archiveOption(train(config, label, args).toString()));
    }
    // by the environment: the jar of before the split (--single-jar) knows no such flag, and ignores it there
    Map<String, String> notify = Map.of("OOMWATCH_CGROUP_NOTIFY", config.notifications() ? "auto" : "off");
    AgentJvm agent = bench.startAgent(label, config.jvmFlags(), config.runtime(), archive, args, notify);
    Bench.pace(warmUp);
    double pollsBefore = agent.metric("oomwatch_cgroup_polls_total");
    ApiTraffic.Snapshot apiBefore = traffic.snapshot(bench.tokenOf(label));
    OptionalLong heapBefore = agent.heapUsedBytes();
    long wallBefore = System.currentTimeMillis();
    ProcessSample first = agent.sample();
    ProcessSample last = first;
    long rssMax = first.rssKiB();
    int threadsMax = first.threads();
    long end = first.nanoTime() + window.toNanos();
    while (System.nanoTime() < end) {
      Bench.pace(Duration.ofNanos(Math.min(SAMPLE_EVERY.toNanos(), end - System.nanoTime())));
      last = agent.sample();
      rssMax = Math.max(rssMax, last.rssKiB());
      threadsMax = Math.max(threadsMax, last.threads());
    }
    long wallAfter = System.currentTimeMillis();
    OptionalLong heapAfter = agent.heapUsedBytes();
    ApiTraffic.Snapshot apiAll = traffic.snapshot(bench.tokenOf(label));
    ApiTraffic.Snapshot apiWindow = apiAll.minus(apiBefore);
    double pollsAfter = agent.metric("oomwatch_cgroup_polls_total");
    String readiness = agent.readiness();
    Duration measured = Duration.ofNanos(last.nanoTime() - first.nanoTime());
    agent.close();

    List<GcLog.Collection> collections = GcLog.read(agent.gcLog());
    OptionalLong allocated = GcLog.allocatedBytes(collections, wallBefore, wallAfter, heapBefore, heapAfter);
    double seconds = measured.toNanos() / 1e9;
    List<String> options = new java.util.ArrayList<>(Bench.jvmOptions(config.jvmFlags()));
    options.addAll(config.runtime().extraOptions());
    options.addAll(archive);
    SteadyResult result = new SteadyResult(config.label(), config.jvmFlags().name().toLowerCase(java.util.Locale.ROOT),
        String.join(" ", options), config.pollInterval().toMillis(), node.pods().size(),
        warmUp.toMillis() / 1000.0, seconds, last.cpuPercentSince(first),
        allocated.isPresent() ? allocated.getAsLong() / 1024.0 / seconds : null,
        GcLog.countIn(collections, wallBefore, wallAfter),
        last.rssKiB() / 1024.0, last.rssAnonKiB() / 1024.0, rssMax / 1024.0, last.hwmKiB() / 1024.0, last.threads(), threadsMax,
        (pollsAfter - pollsBefore) / seconds, ApiRate.of(apiWindow, measured), apiBefore.total(),
        apiAll.count(ApiTraffic.Kind.WATCH), readiness.strip());
    out.printf("  %s: CPU %.2f %% of one core, RSS %.0f MiB (max %.0f), %d threads, allocation %s, API %s%n",
        config.label(), result.cpuPercentOfOneCore(), result.rssMiBAtEnd(), result.rssMiBMaxInWindow(),
        result.threadsAtEnd(), result.allocationKiBPerSecond() == null ? "n/a"
            : String.format(java.util.Locale.ROOT, "%.0f KiB/s", result.allocationKiBPerSecond()),
        MarkdownReport.apiSummary(result.api()));
    return result;
  }

  /**
   * A training run for a runtime with an archive: the same agent on the same node through the warm-up, then
   * SIGTERM, at which the JVM writes the archive (as an image build would, from a run of its own).
   */
  private Path train(SteadyConfig config, String label, List<String> args) throws IOException, InterruptedException {
    Path archive = bench.workDir().resolve(label + ".archive");
    AgentJvm training = bench.startAgent(label + "-training", config.jvmFlags(), config.runtime(),
        List.of(config.runtime().trainingOption(archive.toString())), args,
        Map.of("OOMWATCH_CGROUP_NOTIFY", config.notifications() ? "auto" : "off"));
    Bench.pace(Duration.ofSeconds(10));
    training.close();
    if (!java.nio.file.Files.isRegularFile(archive)) {
      throw new IllegalStateException("the training run wrote no archive at " + archive + "; its log:\n"
          + training.logTail(30));
    }
    out.printf("  %s: trained, archive %d KiB%n", config.label(), java.nio.file.Files.size(archive) / 1024);
    return archive;
  }
}
