package dev.oomwatch.bench;

import dev.oomwatch.bench.BenchResult.ApiRate;
import dev.oomwatch.bench.BenchResult.StormResult;
import dev.oomwatch.crd.OOMIncident;
import dev.oomwatch.crd.OOMIncidentStatus;
import dev.oomwatch.operator.OomIncidentReconciler;
import dev.oomwatch.testing.EmbeddedCluster;
import dev.oomwatch.testing.LoopbackPorts;
import io.fabric8.kubernetes.api.model.Event;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * An OOM storm on the {@link SimulatedNode}: synthetic kills at a steady rate (1,000 a minute) for a
 * while, round-robin over the node's pods, fed to an agent in its own JVM ({@link StormAgent}: the real
 * agent, chart JVM flags, kmsg off, plus a {@link PacedKillSource}). Measured: the agent's CPU, RSS and
 * threads during the storm and while it drains its backlog, the API requests it makes (incidents
 * created, Events created and their counts patched, pod conditions patched), and when every kill has a
 * reported incident.
 *
 * <p>Why this way: the kernel accepts no forged kernel records from userspace, so real-looking kills
 * cannot go through {@code /dev/kmsg}; a regular file is read to its end once (a burst, not a rate), and a
 * FIFO would hand the kmsg reader several records in one read. The synthetic kills enter where the kmsg
 * source's would (the detector), at the rate wanted, in the agent's own JVM, so its CPU and memory stay
 * its own; emitting 17 records a second costs nothing next to reporting them. Not thread-safe.
 */
final class StormPhase {
  private static final Duration SAMPLE_EVERY = Duration.ofSeconds(1);
  private static final Duration DRAIN_TIMEOUT = Duration.ofMinutes(3);

  private final Bench bench;
  private final EmbeddedCluster cluster;
  private final ApiTraffic traffic;
  private final PrintStream out;

  StormPhase(Bench bench, EmbeddedCluster cluster, ApiTraffic traffic, PrintStream out) {
    this.bench = bench;
    this.cluster = cluster;
    this.traffic = traffic;
    this.out = out;
  }

  StormResult run(SimulatedNode node, int killsPerMinute, Duration duration, Duration warmUp)
      throws IOException, InterruptedException {
    String label = "storm";
    int port = LoopbackPorts.free();
    Path config = bench.workDir().resolve("storm-config.yaml");
    Files.writeString(config, String.join("\n",
        "nodeName: " + node.nodeName(),
        "kubeconfig: " + bench.kubeconfigFor(label),
        "kmsg: \"off\"",
        "runscRoot: " + node.runscRoot(),
        "runtimeHandler: " + Bench.HANDLER,
        "httpPort: " + port,
        "cgroupPollInterval: 1s",
        ""));
    Path podsFile = bench.workDir().resolve("storm-pods.txt");
    Files.writeString(podsFile, node.pods().stream()
        .map(p -> p.pod().namespace() + " " + p.pod().name() + " " + p.pod().uid())
        .collect(Collectors.joining("\n", "", "\n")));
    AgentJvm agent = bench.startAgent(label, BenchPlan.JvmFlags.CHART, StormAgent.class.getName(),
        List.of(config.toString(), podsFile.toString(), Integer.toString(killsPerMinute),
            Long.toString(duration.toSeconds())), port);
    Bench.pace(warmUp);
    long planned = duration.toSeconds() * killsPerMinute / 60;

    ApiTraffic.Snapshot apiBefore = traffic.snapshot(bench.tokenOf(label));
    ProcessSample start = agent.sample();
    agent.tell("go");
    long rssMax = start.rssKiB();
    int threadsMax = start.threads();
    ProcessSample last = start;
    long end = start.nanoTime() + duration.toNanos();
    while (System.nanoTime() < end) {
      Bench.pace(Duration.ofNanos(Math.min(SAMPLE_EVERY.toNanos(), end - System.nanoTime())));
      last = agent.sample();
      rssMax = Math.max(rssMax, last.rssKiB());
      threadsMax = Math.max(threadsMax, last.threads());
    }
    ProcessSample stormEnd = last;
    ApiTraffic.Snapshot stormApi = traffic.snapshot(bench.tokenOf(label)).minus(apiBefore);
    long detectedAtEnd = (long) agent.metric("oomwatch_incidents_detected_total");
    long reportedAtEnd = reported(node);
    out.printf("  storm: %d kills in %d s; when it ended %d were detected and %d reported%n", planned,
        duration.toSeconds(), detectedAtEnd, reportedAtEnd);

    Double allReportedAfter = null;
    long drainDeadline = System.nanoTime() + DRAIN_TIMEOUT.toNanos();
    long reported = reportedAtEnd;
    while (reported < planned && System.nanoTime() < drainDeadline) {
      Bench.pace(SAMPLE_EVERY);
      last = agent.sample();
      rssMax = Math.max(rssMax, last.rssKiB());
      threadsMax = Math.max(threadsMax, last.threads());
      reported = reported(node);
    }
    if (reported >= planned) {
      allReportedAfter = (System.nanoTime() - start.nanoTime()) / 1e9;
    }
    ProcessSample drainEnd = last;
    long eventCounts = eventCounts(node);
    long killsDetected = (long) agent.metric("oomwatch_incidents_detected_total");
    agent.close();
    out.printf("  storm: %d detected, %d reported%s%n", killsDetected, reported,
        allReportedAfter == null ? " (not all)" : String.format(java.util.Locale.ROOT,
            ", the last %.1f s after the storm's start", allReportedAfter));

    double minutes = (stormEnd.nanoTime() - start.nanoTime()) / 60e9;
    return new StormResult(killsPerMinute, (stormEnd.nanoTime() - start.nanoTime()) / 1e9, planned, killsDetected,
        detectedAtEnd, node.pods().size(), stormEnd.cpuPercentSince(start),
        drainEnd == stormEnd ? null : drainEnd.cpuPercentSince(stormEnd),
        rssMax / 1024.0, threadsMax,
        stormApi.count("create oomincidents") / minutes,
        stormApi.count("patch oomincidents/status") / minutes,
        stormApi.count("create events") / minutes,
        stormApi.count("patch events") / minutes,
        stormApi.count("patch pods/status") / minutes,
        ApiRate.of(stormApi, Duration.ofNanos(stormEnd.nanoTime() - start.nanoTime())),
        reportedAtEnd, reported, allReportedAfter, eventCounts);
  }

  private long reported(SimulatedNode node) {
    return cluster.client().resources(OOMIncident.class).inAnyNamespace()
        .withLabel(OOMIncident.NODE_LABEL, node.nodeName()).list().getItems().stream()
        .filter(i -> i.getStatus() != null && OOMIncidentStatus.REPORTED.equals(i.getStatus().getPhase()))
        .count();
  }

  /** The sum of the {@code count}s of the OOMKilled Events on the node's pods. */
  private long eventCounts(SimulatedNode node) {
    Set<String> uids = node.pods().stream().map(p -> p.pod().uid()).collect(Collectors.toSet());
    return cluster.client().v1().events().inAnyNamespace().list().getItems().stream()
        .filter(e -> OomIncidentReconciler.REASON.equals(e.getReason()))
        .filter(e -> e.getInvolvedObject() != null && uids.contains(e.getInvolvedObject().getUid()))
        .map(Event::getCount).filter(c -> c != null).mapToLong(Integer::longValue).sum();
  }
}
