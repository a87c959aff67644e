package dev.oomwatch.inference;

import dev.oomwatch.model.CgroupMemorySnapshot;
import dev.oomwatch.model.ContainerExit;
import dev.oomwatch.model.KernelOomKill;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.source.kmsg.KmsgParser;
import dev.oomwatch.source.kmsg.OomReportAssembler;
import io.fabric8.kubernetes.api.model.ContainerStateTerminated;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.stream.Collectors;

/** Observations built from the real captures in src/test/resources (copied from the shared fixtures). */
final class FusionFixtures {
  static final Instant BOOTED = Instant.parse("2026-11-28T12:37:38Z");
  /** The pod and sandbox of the cgroup v1 kernel log capture. */
  static final String V1_KMSG_POD_UID = "1b2c3d4e-0000-4000-8000-00000000beef";
  static final String V1_KMSG_SANDBOX = "9f8e7d6c5b4a";
  /** The pod of the v2 cgroupfs-burstable capture. */
  static final String V2_POD_UID = "c9611c80-7e7e-4c28-a30f-6ca723600e4a";
  private static final String V2_BURSTABLE = "cgroup/gvisor-20221219-cgroupv2-kernel6.1/cgroupfs-burstable/";

  private FusionFixtures() {}

  /** Every OOM kill in a real kernel log capture, as the kmsg source turns them out. */
  static List<KernelOomKill> kernelKills(String resource) {
    OomReportAssembler assembler = new OomReportAssembler("boot-1", micros -> BOOTED.plus(micros, ChronoUnit.MICROS));
    List<KernelOomKill> kills = new ArrayList<>();
    for (String line : text(resource).split("\n")) {
      if (!line.startsWith(" ")) {
        KmsgParser.parse(line).flatMap(assembler::accept).ifPresent(kills::add);
      }
    }
    assembler.flushPending().ifPresent(kills::add);
    return kills;
  }

  /** The v1 pod cgroup's files while the sandbox ran ({@code running}) or after the kill ({@code after-oom}). */
  static CgroupMemorySnapshot v1Pod(String phase, Instant at) {
    String dir = "cgroup/gvisor-20221219-cgroupv1/cgroup-" + phase + "/pod/";
    Map<String, Long> oom = keyValues(dir + "memory.oom_control");
    return new CgroupMemorySnapshot("/kubepods/burstable/pod" + V1_KMSG_POD_UID, 1, at,
        OptionalLong.of(number(dir + "memory.limit_in_bytes")), number(dir + "memory.usage_in_bytes"),
        OptionalLong.of(number(dir + "memory.max_usage_in_bytes")), OptionalLong.of(number(dir + "memory.failcnt")),
        OptionalLong.of(oom.get("oom_kill")), OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(),
        OptionalDouble.empty());
  }

  /** The v2 pod cgroup's files in one phase of the cgroupfs-burstable capture. */
  static CgroupMemorySnapshot v2Pod(String phase, Instant at) {
    String dir = V2_BURSTABLE + phase + "/kubepods/burstable/pod" + V2_POD_UID + "/";
    Map<String, Long> events = keyValues(dir + "memory.events");
    String max = text(dir + "memory.max").trim();
    return new CgroupMemorySnapshot("/kubepods/burstable/pod" + V2_POD_UID, 2, at,
        max.equals("max") ? OptionalLong.empty() : OptionalLong.of(Long.parseLong(max)),
        number(dir + "memory.current"), OptionalLong.of(number(dir + "memory.peak")), OptionalLong.empty(),
        OptionalLong.of(events.get("oom_kill")), OptionalLong.of(events.get("max")), OptionalLong.of(events.get("oom")),
        OptionalLong.of(events.get("oom_group_kill")), OptionalDouble.empty());
  }

  /**
   * The OOMKilled termination of the first container in a pod status of {@code pods/} (kubelet's shape),
   * as the pods source turns it out, for {@code pod}.
   */
  static ContainerExit kubeletOomKilled(String resource, PodRef pod) {
    Pod status = Serialization.unmarshal(text(resource), Pod.class);
    ContainerStatus container = status.getStatus().getContainerStatuses().get(0);
    ContainerStateTerminated terminated = container.getLastState() != null
        && container.getLastState().getTerminated() != null
        ? container.getLastState().getTerminated() : container.getState().getTerminated();
    return new ContainerExit(pod, container.getName(), terminated.getExitCode(), terminated.getReason(),
        Instant.parse(terminated.getFinishedAt()), container.getRestartCount());
  }

  private static long number(String resource) {
    return Long.parseLong(text(resource).trim());
  }

  private static Map<String, Long> keyValues(String resource) {
    return text(resource).lines().map(l -> l.split(" "))
        .collect(Collectors.toMap(p -> p[0], p -> Long.parseLong(p[1])));
  }

  static String text(String resource) {
    try (InputStream in = FusionFixtures.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("missing test resource " + resource);
      }
      return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
