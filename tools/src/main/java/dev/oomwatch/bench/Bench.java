package dev.oomwatch.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.oomwatch.bench.BenchPlan.JvmFlags;
import dev.oomwatch.bench.BenchPlan.LatencyMode;
import dev.oomwatch.bench.BenchPlan.Phase;
import dev.oomwatch.bench.BenchPlan.SteadyConfig;
import dev.oomwatch.bench.BenchResult.LatencyResult;
import dev.oomwatch.bench.BenchResult.Machine;
import dev.oomwatch.bench.BenchResult.SteadyResult;
import dev.oomwatch.bench.BenchResult.StormResult;
import dev.oomwatch.bench.BenchResult.TargetCheck;
import dev.oomwatch.lab.LabPrerequisites;
import dev.oomwatch.testing.EmbeddedCluster;
import dev.oomwatch.testing.LoopbackPorts;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The {@code bench} command: measures, on this machine and with real things where they can be real,
 * what issue 5 asks, and reports it as Markdown (printed, and written beside the JSON) and JSON.
 *
 * <ol>
 *   <li><b>Detection latency</b> over real runsc OOMs ({@link LatencyPhase}), with kmsg and cgroup-only;
 *   <li><b>steady state</b> with 110 gVisor pods laid out for real ({@link SimulatedNode},
 *       {@link SteadyPhase}): CPU, allocation, RSS, threads and API requests of the agent's own JVM, for
 *       the chart's JVM flags against the defaults and for three poll intervals;
 *   <li><b>an OOM storm</b> of 1,000 synthetic kills a minute ({@link StormPhase}).
 * </ol>
 *
 * Every agent is the real one in a JVM of its own, against the embedded API stand-in (fabric8's mock
 * server; no real API server can run here), each with a bearer token of its own so that every request
 * counts for exactly one agent. Everything made — agents, sandboxes, cgroups, processes, files — is
 * removed at the end, on failure and on Ctrl-C ({@link Teardown}). Single-threaded (its helpers have
 * threads of their own).
 */
public final class Bench {
  static final String RUNTIME_CLASS = "gvisor";
  static final String HANDLER = "runsc";
  static final Path CGROUP_ROOT = LabPrerequisites.DEFAULT_CGROUP_ROOT;
  /** The chart's {@code jvmOptions} ({@code charts/gvisor-oom-watcher/values.yaml}; a test keeps them equal). */
  static final String CHART_JVM_OPTIONS = "-XX:+UseSerialGC -Xms16m -Xmx64m -Xmn6m -XX:MinHeapFreeRatio=10"
      + " -XX:MaxHeapFreeRatio=30 -Xss256k -XX:MaxMetaspaceSize=64m -XX:ReservedCodeCacheSize=24m"
      + " -XX:TieredStopAtLevel=1 -XX:CICompilerCount=1 -XX:+ExitOnOutOfMemoryError";
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);
  /** The footprint targets. */
  static final double CPU_TARGET_PERCENT = 1.0;
  static final double RSS_TARGET_MIB = 96;

  private final BenchPlan plan;
  private final AgentJars jars;
  private final PrintStream out;
  private final Path resultFile;
  private final String commandLine;
  private final Teardown teardown = new Teardown();
  private final Clocks clocks = Clocks.measure();
  private Path workDir;
  private EmbeddedCluster cluster;

  public Bench(BenchPlan plan, AgentJars jars, PrintStream out, Path resultFile, String commandLine) {
    this.plan = plan;
    this.jars = jars;
    this.out = out;
    this.resultFile = resultFile;
    this.commandLine = commandLine;
  }

  /** Runs the bench; returns the exit code (0: measured and reported, whether targets were met or not). */
  public int run() {
    List<String> missing = LabPrerequisites.onThisMachine().missing(true);
    if (!missing.isEmpty()) {
      out.println("The bench runs real gVisor sandboxes and cannot run here:");
      missing.forEach(m -> out.println("  - " + m));
      return 1;
    }
    return teardown.runInWorkDir("bench", out, dir -> {
      workDir = dir;
      BenchResult result = measure();
      String markdown = MarkdownReport.render(result);
      out.println();
      out.println(markdown);
      write(result, markdown);
      return 0;
    });
  }

  BenchResult measure() throws IOException, InterruptedException {
    Instant started = Instant.now();
    long startedNanos = System.nanoTime();
    Machine machine = Machines.describe();
    out.printf("gvisor-oom-watcher bench on %s, %d cores, Linux %s (load average %s)%n", machine.cpuModel(),
        machine.cores(), machine.kernel(), machine.loadAverageAtStart());
    skipAheadInUids();
    cluster = teardown.add(new EmbeddedCluster());
    cluster.createRuntimeClass(RUNTIME_CLASS, HANDLER);
    ApiTraffic traffic = teardown.add(new ApiTraffic(cluster.server()));
    KernelLogWatcher kernelLog = teardown.add(KernelLogWatcher.start(LabPrerequisites.DEFAULT_KMSG));

    List<LatencyResult> latency = new ArrayList<>();
    if (plan.runs(Phase.LATENCY)) {
      out.println("Detection latency, real runsc OOMs:");
      LatencyPhase phase = new LatencyPhase(this, cluster, kernelLog, out);
      for (LatencyMode mode : plan.latencyModes()) {
        latency.add(phase.run(mode));
      }
    }
    List<SteadyResult> steady = new ArrayList<>();
    StormResult storm = null;
    if (plan.runs(Phase.STEADY) || plan.runs(Phase.STORM)) {
      out.printf("Laying out %d gVisor pods (API, cgroups, runsc state files)%n", plan.steadyPods());
      SimulatedNode node = SimulatedNode.lay(cluster, "bench-node", plan.steadyPods(), CGROUP_ROOT,
          workDir.resolve("runsc-node"), teardown);
      if (plan.runs(Phase.STEADY)) {
        out.println("Steady state:");
        SteadyPhase phase = new SteadyPhase(this, traffic, out);
        for (SteadyConfig config : plan.steadyConfigs()) {
          java.util.Optional<String> missing = jars.missingFor(config.runtime());
          if (missing.isPresent()) {
            out.printf("  %s: not measured: %s%n", config.label(), missing.get());
            continue;
          }
          steady.add(phase.run(node, config, plan.warmUp(), plan.steadyWindow()));
        }
      }
      if (plan.runs(Phase.STORM)) {
        out.println("OOM storm:");
        storm = new StormPhase(this, cluster, traffic, out).run(node, plan.stormKillsPerMinute(),
            plan.stormDuration(), plan.warmUp());
      }
    }
    Machine measuredOn = Machines.withLoadAtEnd(machine);
    double took = (System.nanoTime() - startedNanos) / 1e9;
    return new BenchResult(commandLine, started.truncatedTo(ChronoUnit.SECONDS).toString(), took, measuredOn,
        planSummary(), latency, steady, storm, targets(latency, steady, storm), notes());
  }

  private Map<String, Object> planSummary() {
    Map<String, Object> summary = new LinkedHashMap<>();
    summary.put("latencyModes", plan.latencyModes().stream().map(m -> Map.of("mode", m.label(), "ooms", m.ooms()))
        .toList());
    summary.put("steadyPods", plan.steadyPods());
    summary.put("steadyConfigs", plan.steadyConfigs().stream().map(SteadyConfig::label).toList());
    summary.put("warmUpSeconds", plan.warmUp().toSeconds());
    summary.put("steadyWindowSeconds", plan.steadyWindow().toSeconds());
    summary.put("stormKillsPerMinute", plan.stormKillsPerMinute());
    summary.put("stormSeconds", plan.stormDuration().toSeconds());
    summary.put("chartJvmOptions", CHART_JVM_OPTIONS);
    return summary;
  }

  static List<TargetCheck> targets(List<LatencyResult> latency, List<SteadyResult> steady, StormResult storm) {
    List<TargetCheck> checks = new ArrayList<>();
    for (LatencyResult l : latency) {
      if (l.target() != null) {
        String measured = l.killToEventMs() == null ? "no OOM measured"
            : "p99 " + millis(l.killToEventMs().p99()) + " over " + l.oomsMeasured() + " OOMs";
        String note = l.oomsMeasured() < l.oomsPlanned()
            ? "(" + (l.oomsPlanned() - l.oomsMeasured()) + " of " + l.oomsPlanned() + " OOMs not measured)"
            : null;
        checks.add(new TargetCheck("detection " + l.target().replace("<=", "≤") + ", " + l.mode(), measured,
            Boolean.TRUE.equals(l.met()), note));
      }
    }
    for (SteadyResult s : steady) {
      checks.add(new TargetCheck("CPU < " + fmt(CPU_TARGET_PERCENT) + " % of one core (" + s.config() + ")",
          MarkdownReport.fmt("%.2f %%", s.cpuPercentOfOneCore()), s.cpuPercentOfOneCore() < CPU_TARGET_PERCENT, null));
      if (s.jvmFlags().equals("chart")) {
        checks.add(new TargetCheck("RSS ≤ " + fmt(RSS_TARGET_MIB) + " MiB (" + s.config() + ")",
            MarkdownReport.fmt("%.0f MiB (max in window %.0f, peak since start %.0f)", s.rssMiBAtEnd(),
                s.rssMiBMaxInWindow(), s.rssMiBPeakSinceStart()),
            s.rssMiBMaxInWindow() <= RSS_TARGET_MIB, null));
      }
      checks.add(new TargetCheck("API at steady state: no writes, watches only (" + s.config() + ")",
          MarkdownReport.fmt("%.0f reads, %.0f writes, %.0f new watches a minute", s.api().readsPerMinute(),
              s.api().writesPerMinute(), s.api().watchesPerMinute()),
          s.api().writesPerMinute() == 0 && s.api().readsPerMinute() == 0 && s.api().otherPerMinute() == 0, null));
    }
    if (storm != null) {
      checks.add(new TargetCheck("storm: every kill one reported incident",
          storm.incidentsReported() + " reported, " + storm.killsDetected() + " detected, of " + storm.kills()
              + " kills"
              + (storm.allReportedSecondsAfterStormStart() == null ? ""
                  : MarkdownReport.fmt(", all within %.0f s of the storm's start",
                      storm.allReportedSecondsAfterStormStart())),
          storm.incidentsReported() == storm.kills() && storm.killsDetected() == storm.kills(),
          null));
    }
    return checks;
  }

  private List<String> notes() {
    return List.of(
        "Latency: the kill time is the kernel's own timestamp on the `oom-kill:` record, read from /dev/kmsg by the"
            + " bench itself in every mode (also cgroup-only); the Event's time is when the bench's watch on the"
            + " pod's namespace delivered it (a watch adds no requests to the API server the agent writes to), so a"
            + " latency is overstated by one watch delivery. Before each mode's first OOM the bench writes 20 reports"
            + " (Events, pod conditions, incidents) in a namespace and for a node of their own with the agent's"
            + " reporters: the stand-in API server and the bench's watch run in the bench's JVM and are warmed as a"
            + " real API server is; the agent is not (its first OOM is the first report of its JVM). Both on CLOCK_MONOTONIC (the kernel log's"
            + " clock runs ~0.5 ms behind it here). 'Agent detected it' is the incident's detectedAt. Percentiles"
            + " are nearest-rank: with 20 OOMs p99 is the maximum. Each OOM: a fresh 64 MiB pod whose runsc sandbox"
            + " writes 512 MiB into its tmpfs after a random part of a poll interval (so the kills fall at random"
            + " points of the poll cycle); the sandbox stays until its Event is seen (on a node containerd deletes"
            + " it, and with it the v1 sandbox cgroup, 1.3-1.8 s after the kill). Agents run with the chart's JVM"
            + " flags.",
        "Steady state: CPU is utime+stime of /proc/<pid>/stat over the window per second of wall time (100 % ="
            + " one core); RSS is VmRSS (max of 1 s samples) and VmHWM; threads from /proc/<pid>/status. Allocation"
            + " = used heap at the window's end - at its start (the JVM's perf data, what jstat reads: no attach,"
            + " nothing runs in the agent) + what each GC in the window freed (-Xlog:gc+heap=debug); JFR or jcmd"
            + " would add threads and memory to the process measured. The runsc state dir is read every second"
            + " (its default) in every configuration; only the cgroup poll interval varies.",
        "API requests are counted at the stand-in by the agent's own bearer token; a watch counts once, when"
            + " opened. The stand-in never ends a watch; a real API server ends each after 5-10 min, which adds"
            + " about one list and one watch per informer every few minutes.",
        "Storm: the kernel accepts no forged kernel records, so the kills are synthetic: a source inside the"
            + " agent's JVM (dev.oomwatch.bench.StormAgent) hands the detector kills shaped like the kmsg"
            + " source's, at a steady rate, each of a new sandbox (one incident each); the agent is otherwise the"
            + " real one (kmsg off, incidentWritesPerSecond 20).",
        "The load average is printed because the machine may be shared: other work on its 2 cores shows in the"
            + " latencies.");
  }

  // --- what the phases share -------------------------------------------------------------------------

  Teardown teardown() {
    return teardown;
  }

  Path workDir() {
    return workDir;
  }

  Clocks clocks() {
    return clocks;
  }

  /** The bearer token of the agent {@code label}. */
  String tokenOf(String label) {
    return "bench-" + label;
  }

  /** A kubeconfig for the agent {@code label}: the stand-in's, with the agent's own token. */
  Path kubeconfigFor(String label) throws IOException {
    Path file = workDir.resolve("kubeconfig-" + label + ".yaml");
    if (!Files.exists(file)) {
      String kubeconfig = Files.readString(cluster.kubeconfig());
      if (!kubeconfig.contains("token: demo\n")) {
        throw new IllegalStateException("the stand-in's kubeconfig changed shape: " + kubeconfig);
      }
      Files.writeString(file, kubeconfig.replace("token: demo\n", "token: " + tokenOf(label) + "\n"));
    }
    return file;
  }

  static List<String> jvmOptions(JvmFlags flags) {
    return flags == JvmFlags.CHART ? List.of(CHART_JVM_OPTIONS.split(" ")) : List.of();
  }

  /** Starts {@code agent} (args with {@code --kubeconfig} and {@code --http-port} added) and waits until ready. */
  AgentJvm startAgent(String label, JvmFlags flags, List<String> agentArgs) throws IOException, InterruptedException {
    return startAgent(label, flags, AgentRuntime.JDK17_AGENT_JAR, List.of(), agentArgs);
  }

  /**
   * Starts {@code agent} from the jar and on the JVM of {@code runtime}, with the runtime's options and
   * {@code moreOptions} after the row's flags, and waits until ready.
   */
  AgentJvm startAgent(String label, JvmFlags flags, AgentRuntime runtime, List<String> moreOptions,
      List<String> agentArgs) throws IOException, InterruptedException {
    return startAgent(label, flags, runtime, moreOptions, agentArgs, java.util.Map.of());
  }

  /** As above, with {@code environment} added to the agent's. */
  AgentJvm startAgent(String label, JvmFlags flags, AgentRuntime runtime, List<String> moreOptions,
      List<String> agentArgs, java.util.Map<String, String> environment) throws IOException, InterruptedException {
    int port = LoopbackPorts.free();
    List<String> args = new ArrayList<>(agentArgs);
    args.addAll(List.of("--kubeconfig", kubeconfigFor(label).toString(), "--http-port", Integer.toString(port)));
    List<String> options = new ArrayList<>(jvmOptions(flags));
    options.addAll(runtime.extraOptions());
    options.addAll(moreOptions);
    return awaitReady(teardown.add(AgentJvm.start(label, jars.java(runtime), options, jars.jar(runtime).toString(),
        jars.mainClass(runtime), args, environment, port, workDir)));
  }

  /** Starts {@code mainClass args} on this JVM's classpath (the tools jar) as an agent serving HTTP on {@code port}. */
  AgentJvm startAgent(String label, JvmFlags flags, String mainClass, List<String> args, int port)
      throws IOException, InterruptedException {
    return awaitReady(teardown.add(AgentJvm.start(label, Path.of(System.getProperty("java.home"), "bin", "java"),
        jvmOptions(flags), System.getProperty("java.class.path"), mainClass, args, port, workDir)));
  }

  private AgentJvm awaitReady(AgentJvm agent) throws InterruptedException {
    if (!agent.awaitReady(READY_TIMEOUT)) {
      throw new IllegalStateException("agent " + agent.label() + " did not become ready within "
          + READY_TIMEOUT.toSeconds() + " s; readiness: " + agent.readiness() + "\nlog:\n" + agent.logTail(30));
    }
    return agent;
  }

  AgentJars jars() {
    return jars;
  }

  /**
   * The stand-in numbers uids from a counter that starts, per JVM, at a random point below 2^22 (see
   * {@link EmbeddedCluster}); tests running beside the bench make pods from such counters too. Moving
   * this JVM's counter to a random point far above theirs gives the bench pod uids, and so pod cgroups,
   * of its own.
   */
  static void skipAheadInUids() {
    long skip = ThreadLocalRandom.current().nextLong(1L << 23, 1L << 25);
    for (long i = 0; i < skip; i++) {
      io.fabric8.kubernetes.client.utils.Utils.generateId();
    }
  }

  /**
   * Lets {@code time} pass: a warm-up or a measuring window, whose length is the point (never a wait for
   * something to happen; those poll with a deadline).
   */
  static void pace(Duration time) throws InterruptedException {
    if (!time.isNegative() && !time.isZero()) {
      Thread.sleep(time.toMillis(), (int) (time.toNanos() % 1_000_000));
    }
  }

  private void write(BenchResult result, String markdown) throws IOException {
    Path json = resultFile.toAbsolutePath();
    Files.createDirectories(json.getParent());
    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(json.toFile(), result);
    String name = json.getFileName().toString();
    Path md = json.resolveSibling((name.endsWith(".json") ? name.substring(0, name.length() - 5) : name) + ".md");
    Files.writeString(md, markdown);
    out.println("Results written to " + json + " and " + md);
  }


  /** {@code 85 ms}, {@code 1.23 s}. */
  static String millis(double ms) {
    return ms < 1000 ? String.format(Locale.ROOT, "%.0f ms", ms) : String.format(Locale.ROOT, "%.2f s", ms / 1000);
  }

  /** {@code 250 ms}, {@code 1 s}, {@code 5 s}. */
  static String duration(Duration d) {
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
  }

  private static String fmt(double value) {
    return value == Math.rint(value) ? Long.toString((long) value) : Double.toString(value);
  }
}
