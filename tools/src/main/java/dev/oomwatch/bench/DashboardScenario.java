package dev.oomwatch.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.oomwatch.crd.OOMIncident;
import dev.oomwatch.lab.LabPrerequisites;
import dev.oomwatch.lab.PodCgroupV1;
import dev.oomwatch.lab.PodQosClass;
import dev.oomwatch.lab.RunscSandbox;
import dev.oomwatch.lab.SandboxWorkload;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.testing.Await;
import dev.oomwatch.testing.EmbeddedCluster;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The {@code scenario} command: a small node fleet with real runsc OOMs, kept running for a while so that
 * something scraping the agents' {@code /metrics} (the dashboard script's Prometheus) sees every kind of
 * series the dashboard draws. Two nodes, each with its agent in a JVM of its own (the agent's jar, the
 * chart's JVM flags) against the embedded API stand-in: {@code node-a} with the kernel log, {@code node-b}
 * cgroup-only (the chart's default mode). Their gVisor pods, in three namespaces, each get a real sandbox
 * in a kubelet-like pod cgroup whose app does one of:
 *
 * <ul>
 *   <li>a restart loop: grows until the host kernel OOM-kills the sandbox, and a new sandbox starts in the
 *       same pod after a pause (kubelet's restart);
 *   <li>one kill late in the run (a job that fails once);
 *   <li>a climb to about 90 % of its limit, held (a NearOOM warning);
 *   <li>two app containers of steady, modest usage beside the sandbox's own (pause) container, which the
 *       agent samples with {@code runsc events --stats} for the per-container memory.
 * </ul>
 *
 * A dead sandbox is deleted once its incident exists (as containerd deletes it some 1.5 s after the death;
 * on cgroup v1 its cgroup holds the only counter of the kill). The agents serve HTTP on
 * {@code httpPort} and {@code httpPort + 1}. Everything made is removed at the end, on failure and on
 * Ctrl-C ({@link Teardown}). {@link #run} is called once, from one thread; the pods' loops run on threads
 * of their own.
 */
public final class DashboardScenario {
  /** A node and how its agent sees kills. */
  record Node(String name, boolean kmsg) {}

  /** What a pod's app does. */
  enum Behaviour { RESTART_LOOP, FAILS_ONCE, NEAR_LIMIT, TWO_CONTAINERS }

  /** One gVisor pod of the scenario. */
  record PodPlan(Node node, String namespace, String name, long limitMib, Behaviour behaviour, Duration startAfter,
      Duration restartAfter, int mibPerSecond) {}

  static final Node NODE_A = new Node("node-a", true);
  static final Node NODE_B = new Node("node-b", false);
  static final List<PodPlan> PODS = List.of(
      new PodPlan(NODE_A, "shop", "cart", 64, Behaviour.RESTART_LOOP, Duration.ofSeconds(5), Duration.ofSeconds(10), 4),
      new PodPlan(NODE_A, "shop", "web", 96, Behaviour.TWO_CONTAINERS, Duration.ZERO, Duration.ZERO, 8),
      new PodPlan(NODE_A, "batch", "etl", 64, Behaviour.FAILS_ONCE, Duration.ofSeconds(60), Duration.ZERO, 2),
      new PodPlan(NODE_B, "ml", "trainer", 128, Behaviour.RESTART_LOOP, Duration.ofSeconds(10), Duration.ofSeconds(15), 4),
      new PodPlan(NODE_B, "batch", "report", 128, Behaviour.NEAR_LIMIT, Duration.ofSeconds(15), Duration.ZERO, 4));

  private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);
  private static final Duration INCIDENT_DEADLINE = Duration.ofSeconds(20);
  private static final String MAIN_CLASS = "dev.oomwatch.cli.Main";

  private final Path agentJar;
  private final int httpPort;
  private final Duration duration;
  private final PrintStream out;
  private final Teardown teardown = new Teardown();
  private final AtomicInteger kills = new AtomicInteger();
  private EmbeddedCluster cluster;

  public DashboardScenario(Path agentJar, int httpPort, Duration duration, PrintStream out) {
    this.agentJar = agentJar;
    this.httpPort = httpPort;
    this.duration = duration;
    this.out = out;
  }

  /** The port of {@code node}'s agent: {@code httpPort} for the first node, then one more per node. */
  static int portOf(int httpPort, Node node) {
    return httpPort + List.of(NODE_A, NODE_B).indexOf(node);
  }

  /**
   * Runs the scenario; writes {@code summary} (JSON: when the agents were ready and when the run ended, in
   * epoch seconds, the nodes' ports, the pods, the kills) if given. Returns the exit code.
   */
  public int run(Path summary) {
    List<String> missing = LabPrerequisites.onThisMachine().missing(true);
    if (!missing.isEmpty()) {
      out.println("The scenario runs real gVisor sandboxes and cannot run here:");
      missing.forEach(m -> out.println("  - " + m));
      return 1;
    }
    if (!Files.isRegularFile(agentJar)) {
      out.println("No agent jar at " + agentJar + " (mvn package)");
      return 1;
    }
    return teardown.runInWorkDir("scenario", out, workDir -> {
      try {
        return play(workDir, summary);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return 130;
      }
    });
  }

  /** The scenario itself, in {@code workDir}; returns the exit code. */
  private int play(Path workDir, Path summary) throws Exception {
      Bench.skipAheadInUids();
      cluster = teardown.add(new EmbeddedCluster());
      cluster.createRuntimeClass(Bench.RUNTIME_CLASS, Bench.HANDLER);
      Map<Node, Path> runscRoots = new LinkedHashMap<>();
      for (Node node : List.of(NODE_A, NODE_B)) {
        runscRoots.put(node, Files.createDirectories(workDir.resolve("runsc-" + node.name())));
      }
      List<PodRef> refs = new ArrayList<>();
      List<PodCgroupV1> cgroups = new ArrayList<>();
      for (PodPlan plan : PODS) {
        PodRef pod = cluster.createRunningPod(plan.namespace(), plan.name(), plan.node().name(), Bench.RUNTIME_CLASS,
            "app", plan.limitMib() + "Mi");
        refs.add(pod);
        cgroups.add(teardown.add(PodCgroupV1.create(Bench.CGROUP_ROOT, pod.uid(), PodQosClass.BURSTABLE,
            OptionalLong.of(plan.limitMib() << 20))));
      }
      for (Node node : List.of(NODE_A, NODE_B)) {
        startAgent(node, runscRoots.get(node), workDir);
      }
      Instant ready = Instant.now();
      out.printf("scenario: agents ready (%s on port %d, %s on port %d); running %d s%n", NODE_A.name(),
          portOf(httpPort, NODE_A), NODE_B.name(), portOf(httpPort, NODE_B), duration.toSeconds());
      long end = System.nanoTime() + duration.toNanos();
      ExecutorService loops = Executors.newFixedThreadPool(PODS.size());
      teardown.add(loops::shutdownNow);
      List<Future<?>> running = new ArrayList<>();
      for (int i = 0; i < PODS.size(); i++) {
        PodPlan plan = PODS.get(i);
        PodRef pod = refs.get(i);
        PodCgroupV1 cgroup = cgroups.get(i);
        Path root = runscRoots.get(plan.node());
        running.add(loops.submit(() -> {
          podLoop(plan, pod, cgroup, root, workDir, end);
          return null;
        }));
      }
      for (Future<?> loop : running) {
        loop.get();
      }
      Instant finished = Instant.now();
      out.printf("scenario: done, %d OOM kills%n", kills.get());
      if (summary != null) {
        writeSummary(summary, ready, finished);
      }
      return 0;
  }

  private void startAgent(Node node, Path runscRoot, Path workDir) throws IOException, InterruptedException {
    int port = portOf(httpPort, node);
    List<String> args = List.of("agent",
        "--node-name", node.name(),
        "--kubeconfig", cluster.kubeconfig().toString(),
        "--http-port", Integer.toString(port),
        "--kmsg", node.kmsg() ? LabPrerequisites.DEFAULT_KMSG.toString() : "off",
        "--runsc-root", runscRoot.toString(),
        "--runtime-handler", Bench.HANDLER,
        "--runsc-binary", LabPrerequisites.findRunsc().orElseThrow().toString());
    AgentJvm agent = teardown.add(AgentJvm.start(node.name(), Path.of(System.getProperty("java.home"), "bin", "java"),
        Bench.jvmOptions(BenchPlan.JvmFlags.CHART), agentJar.toString(), MAIN_CLASS, args, port, workDir));
    if (!agent.awaitReady(READY_TIMEOUT)) {
      throw new IllegalStateException("agent " + node.name() + " did not become ready within "
          + READY_TIMEOUT.toSeconds() + " s; readiness: " + agent.readiness() + "\nlog:\n" + agent.logTail(30));
    }
  }

  /** One pod's life until {@code endNanos}: sandboxes started, killed by the kernel, restarted. */
  private void podLoop(PodPlan plan, PodRef pod, PodCgroupV1 cgroup, Path runscRoot, Path workDir, long endNanos)
      throws IOException, InterruptedException {
    Bench.pace(plan.startAfter());
    boolean first = true;
    while (System.nanoTime() < endNanos && (first || plan.behaviour() == Behaviour.RESTART_LOOP)) {
      first = false;
      // counted before the sandbox starts: with the kernel log the incident exists before runsc says "stopped"
      int incidentsBefore = incidents(pod).size();
      String sandboxId = RunscSandbox.newSandboxId();
      boolean pause = plan.behaviour() == Behaviour.TWO_CONTAINERS;
      RunscSandbox sandbox = teardown.add(RunscSandbox
          .builder(sandboxId, pod, cgroup.sandboxCgroupsPath(sandboxId),
              pause ? SandboxWorkload.sleepForever() : workload(plan, plan.limitMib()))
          .runscRoot(runscRoot)
          .start());
      if (pause) {
        teardown.add(AppContainer.start(sandbox, "app", workload(plan, plan.limitMib() / 4), workDir));
        teardown.add(AppContainer.start(sandbox, "sidecar", workload(plan, 8), workDir));
      }
      Duration left = Duration.ofNanos(Math.max(0, endNanos - System.nanoTime()));
      if (!sandbox.awaitStopped(left)) {
        return; // still running at the end (steady, near the limit, or about to die): the teardown deletes it
      }
      kills.incrementAndGet();
      // as containerd deletes a dead sandbox only after runsc noticed: the agent has seen the cgroup by then
      boolean reported = Await.until(() -> incidents(pod).size() > incidentsBefore, INCIDENT_DEADLINE,
          Duration.ofMillis(200));
      out.printf("scenario: %s/%s OOM-killed (%s): %s%n", plan.namespace(), plan.name(), plan.node().name(),
          reported ? describe(incidents(pod).get(incidents(pod).size() - 1))
              : "no incident within " + INCIDENT_DEADLINE.toSeconds() + " s");
      sandbox.close();
      Bench.pace(plan.restartAfter());
    }
  }

  /** The pod's incidents, oldest kill first. */
  private List<OOMIncident> incidents(PodRef pod) {
    return cluster.incidents(pod.namespace()).stream()
        .filter(i -> pod.uid().equals(i.getSpec().getPodUid()))
        .sorted(java.util.Comparator.comparing(i -> Instant.parse(i.getSpec().getKilledAt())))
        .toList();
  }

  private static String describe(OOMIncident incident) {
    long ms = Duration.between(Instant.parse(incident.getSpec().getKilledAt()),
        Instant.parse(incident.getSpec().getDetectedAt())).toMillis();
    return "incident " + incident.getMetadata().getName() + ", " + incident.getSpec().getVerdict() + ", detected "
        + ms + " ms after the kill";
  }

  /**
   * The app's shell command: grows by {@code mibPerSecond} in 1 MiB steps into its tmpfs (sentry memory,
   * charged to the pod cgroup), up to past the limit, to about 93 % of it, or to {@code steadyMib}.
   */
  static SandboxWorkload workload(PodPlan plan, long steadyMib) {
    long targetMib = switch (plan.behaviour()) {
      case RESTART_LOOP, FAILS_ONCE -> plan.limitMib() * 4;
      // measured here: with 96 MiB in its tmpfs, a sandbox's pod cgroup holds 125 MiB (the sentry's own
      // memory and the shell's): 29 MiB on top
      case NEAR_LIMIT -> Math.round(plan.limitMib() * 0.93) - 29;
      case TWO_CONTAINERS -> steadyMib;
    };
    String step = plan.mibPerSecond() <= 0 ? "" : String.format(java.util.Locale.ROOT, "/bin/busybox sleep %.3f; ",
        1.0 / plan.mibPerSecond());
    String command = "i=0; while [ $i -lt " + targetMib + " ]; do "
        + "/bin/busybox dd if=/dev/zero of=/dev/hog$i bs=1M count=1 2>/dev/null; i=$((i+1)); " + step + "done; "
        + "echo \"holding $i MiB\"; while :; do /bin/busybox sleep 3600; done";
    return new SandboxWorkload(plan.behaviour() + " to " + targetMib + " MiB", command);
  }

  private void writeSummary(Path summary, Instant ready, Instant finished) throws IOException {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("start", ready.toEpochMilli() / 1000.0);
    json.put("end", finished.toEpochMilli() / 1000.0);
    json.put("nodes", List.of(
        Map.of("node", NODE_A.name(), "port", portOf(httpPort, NODE_A), "kernelLog", NODE_A.kmsg()),
        Map.of("node", NODE_B.name(), "port", portOf(httpPort, NODE_B), "kernelLog", NODE_B.kmsg())));
    json.put("pods", PODS.stream().map(p -> Map.of("node", p.node().name(), "pod", p.namespace() + "/" + p.name(),
        "limitMib", p.limitMib(), "behaviour", p.behaviour().name())).toList());
    json.put("kills", kills.get());
    Path file = summary.toAbsolutePath();
    Files.createDirectories(file.getParent());
    new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), json);
  }
}
