package dev.oomwatch.podreport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.crd.OOMIncident;
import dev.oomwatch.inference.Finding;
import dev.oomwatch.inference.FusionSettings;
import dev.oomwatch.inference.IncidentFusion;
import dev.oomwatch.model.CgroupMemorySnapshot;
import dev.oomwatch.model.CgroupOomSignal;
import dev.oomwatch.model.GvisorPods;
import dev.oomwatch.model.KernelOomKill;
import dev.oomwatch.model.Observation;
import dev.oomwatch.model.PodCgroupLocator;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.model.WatchedPod;
import dev.oomwatch.publish.IncidentResources;
import dev.oomwatch.source.kmsg.KmsgParser;
import dev.oomwatch.source.kmsg.OomReportAssembler;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * The OOMKilled Event's and condition's wording follows the cgroup whose limit was hit
 * ({@code oom_memcg}): the pod's limit only when it is the pod's (or its sandbox's) cgroup. Built from
 * the real kernel log captures, through the fusion and the resource mapping, as the reconciler sees them.
 */
class OomMessagesTest {
  private static final Instant BOOTED = Instant.parse("2026-11-28T12:37:38Z");
  private static final String V1_POD_UID = "1b2c3d4e-0000-4000-8000-00000000beef";
  private static final String V1_POD_CGROUP = "/kubepods/burstable/pod" + V1_POD_UID;
  private static final String V2_POD_UID = "c9611c80-7e7e-4c28-a30f-6ca723600e4a";
  private static final String POD_LIMIT = "for exceeding the pod's memory limit of 64Mi";

  @Test
  void aKillAtThePodsOwnLimitSaysThePodExceededItsLimit() {
    OOMIncident incident = fromKernelLog("kmsg/kmsg-sandbox-oom.txt", UnaryOperator.identity(), V1_POD_UID);
    assertTrue(event(incident).startsWith("gVisor sandbox killed by the kernel " + POD_LIMIT + ": victim exe"),
        event(incident));
    assertTrue(condition(incident).contains(POD_LIMIT), condition(incident));
  }

  @Test
  void everyV2LayoutsKillAtThePodLimitSaysThePodExceededItsLimit() {
    List<KernelOomKill> kills = kernelKills("kmsg/kmsg-cgroupv2-kernel6.1-boot.txt", UnaryOperator.identity());
    assertEquals(4, kills.size());
    for (KernelOomKill kill : kills) {
      OOMIncident incident = incident(kill, V2_POD_UID);
      assertTrue(event(incident).contains(POD_LIMIT), kill.oomMemcg() + ": " + event(incident));
    }
  }

  /**
   * The captured report as the kernel writes it for a node-wide OOM ({@code mm/oom_kill.c}:
   * {@code constraint=CONSTRAINT_NONE} and {@code global_oom} where a memcg OOM has its
   * {@code oom_memcg=}; "Out of memory: Killed process" without "Memory cgroup"): no cgroup's limit
   * was hit, so the pod did not exceed its limit. No real node-wide OOM of a gVisor sandbox was
   * captured on this machine (it would take the shared machine's memory), hence the edit of the real line.
   */
  @Test
  void aNodeWideOomSaysTheNodeRanOutOfMemoryAndTheKernelChoseTheSandbox() {
    OOMIncident incident = fromKernelLog("kmsg/kmsg-sandbox-oom.txt", line -> line
        .replace("constraint=CONSTRAINT_MEMCG", "constraint=CONSTRAINT_NONE")
        .replace("oom_memcg=" + V1_POD_CGROUP + ",", "global_oom,")
        .replace("Memory cgroup out of memory: Killed process", "Out of memory: Killed process"), V1_POD_UID);
    String event = event(incident);
    assertTrue(event.startsWith("gVisor sandbox killed by the kernel because the node ran out of memory and the"
        + " kernel chose this sandbox"), event);
    assertFalse(event.contains("exceeding the pod's memory limit"), event);
    assertTrue(condition(incident).contains("because the node ran out of memory"), condition(incident));
    assertFalse(condition(incident).contains("exceeding the pod's memory limit"), condition(incident));
  }

  @Test
  void aRootMemcgOomIsNodeWideToo() {
    OOMIncident incident = fromKernelLog("kmsg/kmsg-sandbox-oom.txt",
        line -> line.replace("oom_memcg=" + V1_POD_CGROUP + ",", "oom_memcg=/,"), V1_POD_UID);
    assertTrue(event(incident).contains("because the node ran out of memory"), event(incident));
  }

  /** kubelet's node-allocatable cgroup {@code /kubepods} hit its limit: that is not the pod's limit. */
  @Test
  void anOomAtALimitAboveThePodsNamesThatCgroup() {
    OOMIncident incident = fromKernelLog("kmsg/kmsg-sandbox-oom.txt",
        line -> line.replace("oom_memcg=" + V1_POD_CGROUP + ",", "oom_memcg=/kubepods,"), V1_POD_UID);
    String event = event(incident);
    assertTrue(event.contains("because memory cgroup /kubepods, which holds this pod and others, reached its limit"),
        event);
    assertFalse(event.contains("exceeding the pod's memory limit"), event);
  }

  /** Without the kernel log the counter that counted the kill is the pod cgroup's: the pod's limit. */
  @Test
  void aCgroupCounterAloneSaysThePodExceededItsLimit() {
    String podCgroup = "/kubepods/burstable/pod" + V2_POD_UID;
    CgroupMemorySnapshot killed = new CgroupMemorySnapshot(podCgroup, 2, BOOTED, OptionalLong.of(64L << 20),
        64L << 20, OptionalLong.of(64L << 20), OptionalLong.empty(), OptionalLong.of(1), OptionalLong.of(12),
        OptionalLong.of(1), OptionalLong.of(0), OptionalDouble.empty());
    OOMIncident incident = incident(new CgroupOomSignal(V2_POD_UID, Optional.of("aaaa1111bbbb2222"),
        CgroupOomSignal.Kind.OOM_KILL, "oom_kill", 0, 1, killed), V2_POD_UID);
    assertTrue(event(incident).contains(POD_LIMIT), event(incident));
  }

  private static String event(OOMIncident incident) {
    return OomMessages.eventMessage(incident.getMetadata().getName(), incident.getSpec());
  }

  private static String condition(OOMIncident incident) {
    return OomMessages.conditionMessage(incident.getMetadata().getName(), incident.getSpec());
  }

  private static OOMIncident fromKernelLog(String resource, UnaryOperator<String> edit, String podUid) {
    List<KernelOomKill> kills = kernelKills(resource, edit);
    assertEquals(1, kills.size());
    return incident(kills.get(0), podUid);
  }

  /** What the publisher would create for this observation of a kill of the gVisor pod {@code podUid}. */
  private static OOMIncident incident(Observation observation, String podUid) {
    WatchedPod pod = new WatchedPod(new PodRef("default", "app", podUid), "gvisor", OptionalLong.of(64L << 20));
    GvisorPods pods = GvisorPods.of(pod);
    IncidentFusion fusion = new IncidentFusion("node-a", Clock.fixed(BOOTED.plusSeconds(600), ZoneOffset.UTC),
        new PodCgroupLocator(), FusionSettings.forPollInterval(Duration.ofSeconds(1), 0.9, Duration.ofSeconds(10),
            Duration.ofMinutes(10)));
    List<Finding> findings = fusion.accept(observation, pods);
    assertEquals(1, findings.size(), findings.toString());
    return IncidentResources.toResource(((Finding.IncidentFound) findings.get(0)).incident());
  }

  /** The kills in a real capture, each record edited by {@code edit} first. */
  private static List<KernelOomKill> kernelKills(String resource, UnaryOperator<String> edit) {
    OomReportAssembler assembler = new OomReportAssembler("boot-1", micros -> BOOTED.plus(micros, ChronoUnit.MICROS));
    List<KernelOomKill> kills = new ArrayList<>();
    for (String line : text(resource).split("\n")) {
      if (!line.startsWith(" ")) {
        KmsgParser.parse(edit.apply(line)).flatMap(assembler::accept).ifPresent(kills::add);
      }
    }
    assembler.flushPending().ifPresent(kills::add);
    return kills;
  }

  private static String text(String resource) {
    try (InputStream in = OomMessagesTest.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("missing test resource " + resource);
      }
      return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
