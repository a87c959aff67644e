package dev.oomwatch.bench;

import dev.oomwatch.bench.BenchPlan.LatencyMode;
import dev.oomwatch.bench.BenchResult.LatencyResult;
import dev.oomwatch.bench.BenchResult.OomSample;
import dev.oomwatch.crd.EvidenceItem;
import dev.oomwatch.crd.OOMIncident;
import dev.oomwatch.lab.PodCgroupV1;
import dev.oomwatch.lab.PodQosClass;
import dev.oomwatch.lab.RunscSandbox;
import dev.oomwatch.lab.SandboxWorkload;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.operator.OomIncidentReconciler;
import dev.oomwatch.testing.Await;
import dev.oomwatch.testing.EmbeddedCluster;
import io.fabric8.kubernetes.api.model.Event;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Collectors;

/**
 * Detection latency over real runsc OOMs, for one mode: the agent (its own JVM, the chart's flags)
 * watches a node of its own; for each OOM a fresh pod (API and pod cgroup, 64 MiB) gets a real sandbox
 * whose app writes 512 MiB into its tmpfs, so the host kernel OOM-kills the sentry. Latency is from the
 * kill — the kernel's own timestamp on the {@code oom-kill:} record, read by the bench from
 * {@code /dev/kmsg} ({@link KernelLogWatcher}), in every mode — to the first moment the bench, polling
 * the API every {@link #EVENT_POLL}, sees the pod's {@code OOMKilled} Event. The OOMs run one at a time,
 * each at a random point of the agent's cgroup poll cycle.
 *
 * <p>The pods' cgroups are all made, and polled at least twice by the agent, before the first sandbox
 * starts: the cgroup source compares counters with the previous poll, so a pod cgroup it never read
 * before the kill has no baseline (as on a node, where a pod runs for a while before it OOMs). A sandbox
 * is deleted once its Event was seen (or its deadline passed): its cgroup, which holds the only v1
 * counter of the kill, lives until then (on a node, until runsc notices the death and containerd
 * deletes the sandbox, 1.3 to 1.8 s after the kill as measured here). Not thread-safe.
 */
final class LatencyPhase {
  static final Duration EVENT_POLL = Duration.ofMillis(5);
  private static final long LIMIT_MIB = 64;
  private static final int ALLOCATE_MIB = 512;
  /**
   * The sandbox's app waits this long, plus a random part of a poll interval, before allocating: long
   * enough to be seen running first; the random part spreads the kills over the cgroup poller's period
   * (the OOMs come one after another, each as long as the last, and would otherwise all land at the same
   * point of the poll cycle, measuring one latency twenty times).
   */
  private static final Duration ALLOCATE_AFTER = Duration.ofMillis(500);

  private final Bench bench;
  private final EmbeddedCluster cluster;
  private final KernelLogWatcher kernelLog;
  private final PrintStream out;

  LatencyPhase(Bench bench, EmbeddedCluster cluster, KernelLogWatcher kernelLog, PrintStream out) {
    this.bench = bench;
    this.cluster = cluster;
    this.kernelLog = kernelLog;
    this.out = out;
  }

  LatencyResult run(LatencyMode mode) throws IOException, InterruptedException {
    String node = "bench-latency-" + mode.slug();
    Path runscRoot = Files.createDirectories(bench.workDir().resolve("runsc-" + mode.slug()));
    List<String> args = List.of("agent",
        "--node-name", node,
        "--kmsg", mode.kmsg() ? "/dev/kmsg" : "off",
        "--cgroup-poll-interval", mode.pollInterval().toMillis() + "ms",
        "--cgroup-notify", mode.notifications() ? "auto" : "off",
        "--runsc-root", runscRoot.toString(),
        "--runtime-handler", Bench.HANDLER);
    AgentJvm agent = bench.startAgent("latency-" + mode.slug(), BenchPlan.JvmFlags.CHART, args);
    List<PodRef> pods = new ArrayList<>();
    List<PodCgroupV1> cgroups = new ArrayList<>();
    for (int i = 0; i < mode.ooms(); i++) {
      PodRef pod = cluster.createRunningPod("default", node + "-" + i, node, Bench.RUNTIME_CLASS, "app",
          LIMIT_MIB + "Mi");
      pods.add(pod);
      cgroups.add(bench.teardown().add(PodCgroupV1.create(Bench.CGROUP_ROOT, pod.uid(), PodQosClass.BURSTABLE,
          OptionalLong.of(LIMIT_MIB << 20))));
    }
    awaitPolls(agent, mode.pollInterval(), 2);

    List<OomSample> samples = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    for (int i = 0; i < pods.size(); i++) {
      PodRef pod = pods.get(i);
      Optional<OomSample> sample = oneOom(agent, mode, pod, cgroups.get(i), runscRoot, problems);
      sample.ifPresent(samples::add);
      out.printf("  %s: OOM %d/%d %s%n", mode.label(), i + 1, pods.size(),
          sample.map(s -> "kill -> Event " + Bench.millis(s.killToEventMs())
              + (s.killToDetectedMs() == null ? "" : " (detected after " + Bench.millis(s.killToDetectedMs()) + ")"))
              .orElse("not measured: " + (problems.isEmpty() ? "?" : problems.get(problems.size() - 1))));
    }
    agent.close();
    return LatencyResult.of(mode, samples, problems);
  }

  private Optional<OomSample> oneOom(AgentJvm agent, LatencyMode mode, PodRef pod, PodCgroupV1 podCgroup,
      Path runscRoot, List<String> problems) throws IOException, InterruptedException {
    String sandboxId = RunscSandbox.newSandboxId();
    RunscSandbox sandbox = bench.teardown().add(RunscSandbox
        .builder(sandboxId, pod, podCgroup.sandboxCgroupsPath(sandboxId),
            SandboxWorkload.allocatePastLimit(ALLOCATE_MIB, ALLOCATE_AFTER.plusMillis(
                ThreadLocalRandom.current().nextLong(mode.pollInterval().toMillis()))))
        .runscRoot(runscRoot)
        .start());
    try {
      Duration deadline = Duration.ofSeconds(30).plus(mode.pollInterval().multipliedBy(3));
      OptionalLong eventSeen = awaitEvent(pod, deadline);
      Optional<KernelLogWatcher.Kill> kill = kernelLog.awaitKill(pod.uid(), Duration.ofSeconds(10));
      if (kill.isEmpty()) {
        problems.add(pod.name() + ": no OOM kill in the kernel log (sandbox log: "
            + sandbox.log().strip().replace('\n', ' ') + ")");
        return Optional.empty();
      }
      if (eventSeen.isEmpty()) {
        problems.add(pod.name() + ": no OOMKilled Event within " + deadline.toSeconds() + " s of the sandbox start;"
            + " agent readiness: " + agent.readiness().replace('\n', ' '));
        return Optional.empty();
      }
      double killToEvent = (eventSeen.getAsLong() - kill.get().monotonicNanos()) / 1e6;
      Optional<OOMIncident> incident = cluster.incidents(pod.namespace()).stream()
          .filter(i -> pod.uid().equals(i.getSpec().getPodUid())).findFirst();
      Double killToDetected = incident.map(i -> Instant.parse(i.getSpec().getDetectedAt()))
          .map(detected -> (bench.clocks().monotonicNanosOf(detected) - kill.get().monotonicNanos()) / 1e6)
          .orElse(null);
      String verdict = incident.map(i -> i.getSpec().getVerdict()).orElse("?");
      String evidence = incident.map(LatencyPhase::evidenceSources).orElse("?");
      return Optional.of(new OomSample(pod.name(), kill.get().task(), kill.get().pid(), killToEvent, killToDetected,
          verdict, evidence));
    } finally {
      sandbox.close();
      podCgroup.close();
    }
  }

  /** The sources of an incident's evidence, e.g. {@code kmsg+cgroup}. */
  private static String evidenceSources(OOMIncident incident) {
    List<EvidenceItem> evidence = new ArrayList<>();
    if (incident.getSpec().getEvidence() != null) {
      evidence.addAll(incident.getSpec().getEvidence());
    }
    if (incident.getStatus() != null && incident.getStatus().getEvidence() != null) {
      evidence.addAll(incident.getStatus().getEvidence());
    }
    String sources = evidence.stream().map(EvidenceItem::getSource).distinct().sorted()
        .collect(Collectors.joining("+"));
    return sources.isEmpty() ? "?" : sources;
  }

  /** Polls the API every {@link #EVENT_POLL} for the pod's OOMKilled Event; the nanoTime it was first seen. */
  private OptionalLong awaitEvent(PodRef pod, Duration timeout) throws InterruptedException {
    Optional<Long> seen = Await.value(() -> {
      List<Event> events = cluster.client().v1().events().inNamespace(pod.namespace()).list().getItems();
      long now = System.nanoTime();
      return events.stream()
          .filter(e -> OomIncidentReconciler.REASON.equals(e.getReason()))
          .filter(e -> e.getInvolvedObject() != null && pod.uid().equals(e.getInvolvedObject().getUid()))
          .findFirst()
          .map(e -> now);
    }, timeout, EVENT_POLL);
    return seen.map(OptionalLong::of).orElse(OptionalLong.empty());
  }

  /** Waits until the agent's cgroup source polled {@code polls} more times (every pod cgroup has a baseline). */
  private static void awaitPolls(AgentJvm agent, Duration interval, int polls) throws InterruptedException {
    double before = agent.metric("oomwatch_cgroup_polls_total");
    boolean polled = Await.until(() -> agent.metric("oomwatch_cgroup_polls_total") >= before + polls,
        interval.multipliedBy(polls + 2).plusSeconds(10), Duration.ofMillis(50));
    if (!polled) {
      throw new IllegalStateException("the agent " + agent.label() + " did not poll its cgroups " + polls
          + " times; readiness:\n" + agent.readiness());
    }
  }
}
