package dev.oomwatch.bench;

import dev.oomwatch.bench.BenchPlan.LatencyMode;
import dev.oomwatch.bench.BenchResult.LatencyResult;
import dev.oomwatch.bench.BenchResult.OomSample;
import dev.oomwatch.crd.EvidenceItem;
import dev.oomwatch.crd.OOMIncident;
import dev.oomwatch.crd.OOMIncidentStatus;
import dev.oomwatch.lab.PodCgroupV1;
import dev.oomwatch.lab.PodQosClass;
import dev.oomwatch.lab.RunscSandbox;
import dev.oomwatch.lab.SandboxWorkload;
import dev.oomwatch.model.MemoryScope;
import dev.oomwatch.model.OomIncident;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.model.Verdict;
import dev.oomwatch.operator.OomIncidentReconciler;
import dev.oomwatch.podreport.PodConditionWriter;
import dev.oomwatch.podreport.PodEventRecorder;
import dev.oomwatch.publish.IncidentResources;
import dev.oomwatch.testing.Await;
import dev.oomwatch.testing.EmbeddedCluster;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

/**
 * Detection latency over real runsc OOMs, for one mode: the agent (its own JVM, the chart's flags)
 * watches a node of its own; for each OOM a fresh pod (API and pod cgroup, 64 MiB) gets a real sandbox
 * whose app writes 512 MiB into its tmpfs, so the host kernel OOM-kills the sentry. Latency is from the
 * kill — the kernel's own timestamp on the {@code oom-kill:} record, read by the bench from
 * {@code /dev/kmsg} ({@link KernelLogWatcher}), in every mode — to the moment the bench's watch on the
 * pod's namespace delivers the pod's {@code OOMKilled} Event. The OOMs run one at a time,
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
  private static final long LIMIT_MIB = 64;
  private static final int ALLOCATE_MIB = 512;
  private static final int WARMUP_REPORTS = 20;
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
    warmStandIn(mode);

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
    EventWatch eventWatch = watchEvent(pod);
    RunscSandbox sandbox = bench.teardown().add(RunscSandbox
        .builder(sandboxId, pod, podCgroup.sandboxCgroupsPath(sandboxId),
            SandboxWorkload.allocatePastLimit(ALLOCATE_MIB, ALLOCATE_AFTER.plusMillis(
                ThreadLocalRandom.current().nextLong(mode.pollInterval().toMillis()))))
        .runscRoot(runscRoot)
        .start());
    try {
      Duration deadline = Duration.ofSeconds(30).plus(mode.pollInterval().multipliedBy(3));
      OptionalLong eventSeen = eventWatch.await(deadline);
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
      eventWatch.close();
      sandbox.close();
      podCgroup.close();
    }
  }

  /**
   * One pod's worth of reports, written by the bench with the agent's own reporters in a namespace and
   * for a node of their own (the agent sees neither), each awaited through a watch as the OOMs' Events
   * are. The stand-in API server and the bench's watch run in the bench's JVM, cold until then, while a
   * real API server is warm: without this the first OOM measured their first requests too.
   */
  private void warmStandIn(LatencyMode mode) throws InterruptedException {
    PodRef pod = cluster.createRunningPod("bench-warmup", "warmup-" + mode.slug(), "bench-warmup-node",
        Bench.RUNTIME_CLASS, "app", LIMIT_MIB + "Mi");
    Clock clock = java.time.Clock.systemUTC();
    var events = new PodEventRecorder(cluster.client(), "bench-warmup-node", clock);
    var conditions = new PodConditionWriter(cluster.client());
    for (int i = 0; i < WARMUP_REPORTS; i++) {
      try (EventWatch watch = watchEvent(pod)) {
        events.recordWarning(pod, OomIncidentReconciler.REASON, "warm-up " + i, "warmup-" + i);
        watch.await(Duration.ofSeconds(10));
      }
      var fresh = cluster.client().pods().inNamespace(pod.namespace()).withName(pod.name()).get();
      conditions.markOomKilled(fresh, OomIncidentReconciler.REASON, "warm-up " + i, clock.instant());
      var incidents = cluster.client().resources(OOMIncident.class).inNamespace(pod.namespace());
      incidents.withLabel(OOMIncident.POD_UID_LABEL, pod.uid()).list();
      OOMIncident incident = incidents.resource(IncidentResources.toResource(
          new OomIncident("warmup-" + mode.slug() + "-" + i, pod, "bench-warmup-node",
              Optional.empty(), Verdict.CONFIRMED, Optional.empty(),
              MemoryScope.cgroup("/kubepods/pod" + pod.uid()), OptionalLong.empty(),
              clock.instant(), clock.instant(), OomIncident.WHOLE_POD,
              OptionalDouble.empty(), List.of()))).create();
      incident.setStatus(new OOMIncidentStatus());
      incident.getStatus().setPhase(OOMIncidentStatus.REPORTED);
      incidents.resource(incident).patchStatus();
      incidents.resource(incident).delete();
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

  /**
   * Watches the pod's namespace for its OOMKilled Event; the nanoTime the watch delivered it. A watch,
   * not a poll: the bench then adds no requests of its own to the API server the agent writes to (a 5 ms
   * poll of the namespace's Events did, on the same two cores, and slowed every one of the agent's writes).
   * The watch starts before the sandbox does, so the Event cannot come before it.
   */
  private EventWatch watchEvent(PodRef pod) {
    CompletableFuture<Long> seen = new CompletableFuture<>();
    Watch watch = cluster.client().v1().events().inNamespace(pod.namespace()).watch(new Watcher<Event>() {
      @Override
      public void eventReceived(Action action, Event event) {
        long now = System.nanoTime();
        if (action != Action.DELETED && OomIncidentReconciler.REASON.equals(event.getReason())
            && event.getInvolvedObject() != null && pod.uid().equals(event.getInvolvedObject().getUid())) {
          seen.complete(now);
        }
      }

      @Override
      public void onClose(WatcherException cause) {
        seen.completeExceptionally(cause);
      }
    });
    return new EventWatch(watch, seen);
  }

  /** A watch for one pod's OOMKilled Event; closing it stops the watch. */
  private record EventWatch(Watch watch, CompletableFuture<Long> seen) implements AutoCloseable {
    /** The nanoTime the Event arrived, or empty when it did not within {@code timeout}. */
    OptionalLong await(Duration timeout) throws InterruptedException {
      try {
        return OptionalLong.of(seen.get(timeout.toMillis(), TimeUnit.MILLISECONDS));
      } catch (TimeoutException | ExecutionException e) {
        return OptionalLong.empty();
      }
    }

    @Override
    public void close() {
      watch.close();
    }
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
