package dev.oomwatch.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.model.CgroupMemorySnapshot;
import dev.oomwatch.model.CgroupOomSignal;
import dev.oomwatch.model.CgroupPolled;
import dev.oomwatch.model.ContainerExit;
import dev.oomwatch.model.ContainerMemorySample;
import dev.oomwatch.model.GvisorPods;
import dev.oomwatch.model.KernelOomKill;
import dev.oomwatch.model.MemorySample;
import dev.oomwatch.model.Observation;
import dev.oomwatch.model.PodCgroupLocator;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.model.SandboxDied;
import dev.oomwatch.model.SandboxRef;
import dev.oomwatch.model.SandboxSeen;
import dev.oomwatch.model.SandboxUnlimited;
import dev.oomwatch.model.WatchedPod;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * What the fusion remembers stays bounded by its windows, not by how many sandboxes and pods came and
 * went: every map keyed by pod uid, sandbox id or container id is pruned once its pod or sandbox is
 * gone and the window has passed. Counted in entries, not bytes or time.
 */
class IncidentFusionBoundsTest {
  private static final Instant T0 = Instant.parse("2026-11-28T12:45:12Z");
  private static final long LIMIT = 64L << 20;
  private static final int SANDBOXES = 100_000;
  private static final int SANDBOXES_PER_POD = 10;

  private Instant now = T0;
  private final Clock clock = new Clock() {
    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public ZoneId getZone() {
      return ZoneId.of("UTC");
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }
  };
  private final FusionSettings settings =
      FusionSettings.forPollInterval(Duration.ofSeconds(1), 0.9, Duration.ofSeconds(10), Duration.ofMinutes(10));
  private final IncidentFusion fusion = new IncidentFusion("node-a", clock, new PodCgroupLocator(), settings);
  private final Map<String, WatchedPod> watched = new HashMap<>();
  private final GvisorPods gvisorPods = new GvisorPods() {
    @Override
    public Optional<WatchedPod> byUid(String uid) {
      return Optional.ofNullable(watched.get(uid));
    }

    @Override
    public Collection<WatchedPod> all() {
      return watched.values();
    }
  };

  /**
   * 100,000 sandboxes, ten per pod, each seen, sampled, at its limit, OOM-killed (every tenth logged by
   * the kernel, the others Likely from the death at the limit), its pod deleted after its tenth: one a
   * second. What is tracked at any moment is what the last windows hold, and nothing once all is gone.
   */
  @Test
  void aHundredThousandSandboxesChurnedKeepTheFusionsStateBounded() {
    KernelOomKill template = FusionFixtures.kernelKills("kmsg/kmsg-sandbox-oom.txt").get(0);
    int most = 0;
    Set<String> incidents = new HashSet<>();
    WatchedPod pod = null;
    for (int i = 0; i < SANDBOXES; i++) {
      if (i % SANDBOXES_PER_POD == 0) {
        if (pod != null) {
          watched.remove(pod.ref().uid());
        }
        pod = new WatchedPod(new PodRef("default", "pod-" + i, new UUID(0, i).toString()), "gvisor",
            OptionalLong.of(LIMIT));
        watched.put(pod.ref().uid(), pod);
      }
      String sandboxId = String.format("%064x", i);
      String podCgroup = "/kubepods/burstable/pod" + pod.ref().uid();
      SandboxRef ref = new SandboxRef(sandboxId, pod.ref().uid(), "default", pod.ref().name(),
          OptionalLong.of(10_000 + i), OptionalLong.of(9_999 + i), Optional.of(podCgroup + "/" + sandboxId));
      CgroupMemorySnapshot atLimit = new CgroupMemorySnapshot(podCgroup, 1, now, OptionalLong.of(LIMIT), LIMIT,
          OptionalLong.of(LIMIT), OptionalLong.of(i + 1L), OptionalLong.of(0), OptionalLong.empty(),
          OptionalLong.empty(), OptionalLong.empty(), OptionalDouble.empty());
      List<Observation> observations = new java.util.ArrayList<>(List.of(
          new SandboxSeen(ref, now),
          new ContainerMemorySample(sandboxId, sandboxId + "-app", "app", 60L << 20, now),
          new ContainerMemorySample(sandboxId, sandboxId + "-sidecar", "sidecar", 4L << 20, now),
          new SandboxUnlimited(ref, "/system.slice/containerd.service", podCgroup),
          new MemorySample(pod.ref().uid(), atLimit),
          new CgroupOomSignal(pod.ref().uid(), Optional.of(sandboxId), CgroupOomSignal.Kind.LIMIT_HIT, "failcnt", i,
              i + 1L, atLimit)));
      if (i % 10 == 0) {
        observations.add(new KernelOomKill(template.bootId(), template.sequence() + i, 0, now, template.constraint(),
            Optional.of(podCgroup), podCgroup + "/" + sandboxId, "exe", 10_000 + i, 65534,
            template.limitBytes(), template.anonRssBytes()));
      }
      observations.add(new SandboxDied(ref, now.plusMillis(300), "sentry pid " + (10_000 + i) + " exited"));
      observations.add(new ContainerExit(pod.ref(), "app", 128, "Error", now, 0));
      for (Observation observation : observations) {
        count(fusion.accept(observation, gvisorPods), incidents);
      }
      now = now.plusSeconds(1);
      count(fusion.accept(new CgroupPolled(now), gvisorPods), incidents);
      count(fusion.tick(gvisorPods), incidents);
      most = Math.max(most, fusion.trackedEntries());
    }
    assertTrue(incidents.size() >= SANDBOXES / 10, "each kernel-logged kill is an incident: " + incidents.size());
    // the windows: 30 s of sandboxes (3 entries each) and of the signals of the pods they belong to
    assertTrue(most < 1_000, "most entries tracked at once: " + most);

    watched.clear();
    for (int s = 0; s < 60; s++) {
      now = now.plusSeconds(1);
      fusion.tick(gvisorPods);
    }
    assertEquals(0, fusion.trackedEntries(), "all pods and sandboxes gone, their windows passed");
  }

  private static void count(List<Finding> findings, Set<String> incidents) {
    findings.stream().filter(f -> f instanceof Finding.IncidentFound)
        .forEach(f -> incidents.add(((Finding.IncidentFound) f).incident().id()));
  }
}
