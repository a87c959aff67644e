package dev.oomwatch.inference;

import static dev.oomwatch.inference.FusionFixtures.V1_KMSG_POD_UID;
import static dev.oomwatch.inference.FusionFixtures.V1_KMSG_SANDBOX;
import static dev.oomwatch.inference.FusionFixtures.V2_POD_UID;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.model.CgroupMemorySnapshot;
import dev.oomwatch.model.CgroupOomSignal;
import dev.oomwatch.model.CgroupPolled;
import dev.oomwatch.model.ContainerExit;
import dev.oomwatch.model.ContainerMemorySample;
import dev.oomwatch.model.GvisorPods;
import dev.oomwatch.model.IncidentIds;
import dev.oomwatch.model.KernelOomKill;
import dev.oomwatch.model.MemorySample;
import dev.oomwatch.model.Observation;
import dev.oomwatch.model.OomIncident;
import dev.oomwatch.model.PodCgroupLocator;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.model.SandboxDied;
import dev.oomwatch.model.SandboxRef;
import dev.oomwatch.model.SandboxSeen;
import dev.oomwatch.model.SandboxUnlimited;
import dev.oomwatch.model.Verdict;
import dev.oomwatch.model.WatchedPod;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The fusion's verdicts, from observations built out of the real captures: what each layout and signal
 * reaches, that signals about one kill make one incident, and the decoys that must give nothing.
 */
class IncidentFusionTest {
  private static final Instant T0 = Instant.parse("2026-11-28T12:45:12Z");
  private static final long LIMIT = 64L << 20;
  private static final WatchedPod V1_POD = pod("oom-demo", V1_KMSG_POD_UID);
  private static final WatchedPod V2_POD = pod("v2-demo", V2_POD_UID);
  private static final WatchedPod OTHER = pod("other", "2d9a6c1e-7f4b-4b8e-a1c3-5e6f7a8b9c0d");

  private final MutableClock clock = new MutableClock(T0);
  private IncidentFusion fusion = new IncidentFusion("node-a", clock, new PodCgroupLocator(),
      FusionSettings.forPollInterval(Duration.ofSeconds(1), 0.9, Duration.ofSeconds(10), Duration.ofMinutes(10)));
  /** The gVisor pods as the pod cache has them now; a test may change one (a deletion, an eviction). */
  private final Map<String, WatchedPod> watched = new java.util.HashMap<>(Map.of(V1_POD.ref().uid(), V1_POD,
      V2_POD.ref().uid(), V2_POD, OTHER.ref().uid(), OTHER));
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

  private static WatchedPod pod(String name, String uid) {
    return new WatchedPod(new PodRef("default", name, uid), "gvisor", OptionalLong.of(LIMIT));
  }

  private static GvisorPods pods(WatchedPod... watched) {
    Map<String, WatchedPod> byUid = java.util.Arrays.stream(watched)
        .collect(Collectors.toMap(p -> p.ref().uid(), p -> p));
    return new GvisorPods() {
      @Override
      public Optional<WatchedPod> byUid(String uid) {
        return Optional.ofNullable(byUid.get(uid));
      }

      @Override
      public Collection<WatchedPod> all() {
        return byUid.values();
      }
    };
  }

  /** Feeds the observations at their times (the clock follows), ticking each second; all incidents found. */
  private List<OomIncident> feed(Observation... observations) {
    List<Finding> findings = new ArrayList<>();
    for (Observation o : observations) {
      findings.addAll(fusion.accept(o, gvisorPods));
    }
    return incidents(findings);
  }

  private List<OomIncident> passTime(Duration duration) {
    List<Finding> findings = new ArrayList<>();
    for (long s = 0; s < duration.toSeconds(); s++) {
      clock.advance(Duration.ofSeconds(1));
      findings.addAll(fusion.tick(gvisorPods));
    }
    return incidents(findings);
  }

  private static List<OomIncident> incidents(List<Finding> findings) {
    return findings.stream().filter(f -> f instanceof Finding.IncidentFound)
        .map(f -> ((Finding.IncidentFound) f).incident()).toList();
  }

  /** The latest version of each incident, by id. */
  private static Map<String, OomIncident> latest(List<OomIncident> versions) {
    return versions.stream().collect(Collectors.toMap(OomIncident::id, i -> i, (a, b) -> b));
  }

  private static SandboxRef sandbox(WatchedPod pod, String id, long pid) {
    return new SandboxRef(id, pod.ref().uid(), "default", pod.ref().name(), OptionalLong.of(pid),
        OptionalLong.of(pid - 1), Optional.empty());
  }

  private static CgroupOomSignal signal(WatchedPod pod, String sandbox, CgroupOomSignal.Kind kind, String counter,
      long before, long after, CgroupMemorySnapshot snapshot) {
    return new CgroupOomSignal(pod.ref().uid(), Optional.ofNullable(sandbox), kind, counter, before, after, snapshot);
  }

  // --- Confirmed --------------------------------------------------------------------------------------

  @Test
  void theV1KernelLogCaptureIsConfirmedAndNamedAfterItsSandbox() {
    List<KernelOomKill> kills = FusionFixtures.kernelKills("kmsg/kmsg-sandbox-oom.txt");
    assertEquals(1, kills.size());

    List<OomIncident> found = feed(kills.get(0));

    assertEquals(1, found.size());
    OomIncident incident = found.get(0);
    assertEquals(Verdict.CONFIRMED, incident.verdict());
    assertEquals(IncidentIds.forSandbox(V1_POD.ref(), V1_KMSG_SANDBOX), incident.id());
    assertEquals(Optional.of(V1_KMSG_SANDBOX), incident.sandboxId());
    assertEquals(Optional.of("exe (pid 7932, uid 65534, gVisor sandbox)"), incident.victim());
    assertEquals(OptionalLong.of(LIMIT), incident.limitBytes());
    assertEquals("kmsg", incident.evidence().get(0).source());
  }

  @Test
  void everyLayoutOfTheV2KernelLogCaptureIsAttributedToItsPod() {
    List<KernelOomKill> kills = FusionFixtures.kernelKills("kmsg/kmsg-cgroupv2-kernel6.1-boot.txt");
    assertEquals(4, kills.size(), "cgroupfs burstable, guaranteed, systemd, besteffort (parent annotation)");
    for (KernelOomKill kill : kills) {
      String uid = new PodCgroupLocator().podUid(kill.taskMemcg()).orElseThrow();
      IncidentFusion fresh = new IncidentFusion("node-a", clock, new PodCgroupLocator(),
          FusionSettings.forPollInterval(Duration.ofSeconds(1), 0.9, Duration.ofSeconds(10), Duration.ofMinutes(10)));
      List<Finding> findings = fresh.accept(kill, pods(pod("p", uid)));
      OomIncident incident = incidents(findings).get(0);
      assertEquals(Verdict.CONFIRMED, incident.verdict(), kill.taskMemcg());
      assertTrue(incident.sandboxId().isPresent(), "sandbox id from " + kill.taskMemcg());
      assertTrue(kill.taskMemcg().contains(incident.sandboxId().get()), kill.taskMemcg());
    }
  }

  @Test
  void theV2PodCgroupsOomKillCounterAloneIsConfirmed() {
    CgroupMemorySnapshot running = FusionFixtures.v2Pod("running", T0);
    CgroupMemorySnapshot killed = FusionFixtures.v2Pod("after-kill", T0.plusSeconds(1));
    clock.set(T0.plusSeconds(1));

    List<OomIncident> found = feed(signal(V2_POD, "aaaa1111bbbb2222", CgroupOomSignal.Kind.OOM_KILL, "oom_kill",
        running.oomKill().getAsLong(), killed.oomKill().getAsLong(), killed));

    assertEquals(1, found.size());
    assertEquals(Verdict.CONFIRMED, found.get(0).verdict());
    assertEquals(IncidentIds.forSandbox(V2_POD.ref(), "aaaa1111bbbb2222"), found.get(0).id());
    assertEquals("cgroup", found.get(0).evidence().get(0).source());
    assertTrue(found.get(0).evidence().get(0).detail().contains("oom_kill 0 → 1"), found.get(0).evidence().toString());
  }

  @Test
  void kernelLogCgroupRunscAndKubeletAboutOneKillMakeOneIncident() {
    KernelOomKill kill = FusionFixtures.kernelKills("kmsg/kmsg-sandbox-oom.txt").get(0);
    clock.set(kill.killedAt());
    List<OomIncident> versions = new ArrayList<>(feed(kill));
    clock.advance(Duration.ofMillis(800));
    versions.addAll(feed(
        signal(V1_POD, V1_KMSG_SANDBOX, CgroupOomSignal.Kind.LIMIT_HIT, "failcnt", 0, 108,
            FusionFixtures.v1Pod("after-oom", clock.instant())),
        new SandboxDied(sandbox(V1_POD, V1_KMSG_SANDBOX, 7932), clock.instant(), "sentry pid 7932 exited"),
        new ContainerExit(V1_POD.ref(), "app", 128, "Error", clock.instant(), 0)));

    Map<String, OomIncident> incidents = latest(versions);
    assertEquals(1, incidents.size());
    OomIncident incident = incidents.values().iterator().next();
    assertEquals(Verdict.CONFIRMED, incident.verdict());
    assertEquals(List.of("kmsg", "cgroup", "runsc", "pods"),
        incident.evidence().stream().map(e -> e.source()).toList());
  }

  // --- kubelet's OOMKilled (newer runsc shims on cgroup v2) ------------------------------------------------

  /** What a step of a scenario feeds; each is about the one kill of the scenario's pod. */
  enum Signal {
    /** The v1 kernel log capture's kill (names sandbox {@code V1_KMSG_SANDBOX}). */
    KMSG,
    /** Kubelet's OOMKilled status of {@code pods/gvisor-oomkilled-restarted.yaml}. */
    STATUS,
    /** The same kill's OOMKilled of a second container of the pod. */
    SIDECAR_STATUS,
    /** The v2 pod cgroup's oom_kill 0 → 1, read in the sandbox's child cgroup. */
    V2_OOM_KILL,
    /** The sandbox died at its limit (the Likely pair), then a cgroup poll counted no kill. */
    DEATH_AT_LIMIT,
    /** A weak exit of the same kill: 128 (Error). */
    WEAK_EXIT,
    /** One second passes (the fusion ticks). */
    SECOND,
    /** The agent restarts ten minutes later: a new fusion, nothing remembered. */
    RESTART
  }

  private List<OomIncident> play(WatchedPod pod, String sandbox, Signal signal) {
    return switch (signal) {
      case KMSG -> feed(FusionFixtures.kernelKills("kmsg/kmsg-sandbox-oom.txt").get(0));
      case STATUS -> feed(FusionFixtures.kubeletOomKilled("pods/gvisor-oomkilled-restarted.yaml", pod.ref()));
      case SIDECAR_STATUS -> {
        ContainerExit main = FusionFixtures.kubeletOomKilled("pods/gvisor-oomkilled-restarted.yaml", pod.ref());
        yield feed(new ContainerExit(pod.ref(), "sidecar", 137, "OOMKilled", main.finishedAt().plusSeconds(1), 1));
      }
      case V2_OOM_KILL -> {
        CgroupMemorySnapshot running = FusionFixtures.v2Pod("running", clock.instant());
        CgroupMemorySnapshot killed = FusionFixtures.v2Pod("after-kill", clock.instant());
        yield feed(signal(pod, sandbox, CgroupOomSignal.Kind.OOM_KILL, "oom_kill", running.oomKill().getAsLong(),
            killed.oomKill().getAsLong(), killed), new CgroupPolled(clock.instant()));
      }
      case DEATH_AT_LIMIT -> {
        List<OomIncident> found = new ArrayList<>(feed(signal(pod, sandbox, CgroupOomSignal.Kind.LIMIT_HIT,
            "failcnt", 0, 108, FusionFixtures.v1Pod("after-oom", clock.instant())),
            new SandboxDied(sandbox(pod, sandbox, 7932), clock.instant(), "sentry pid 7932 exited")));
        clock.advance(Duration.ofMillis(500));
        found.addAll(feed(new CgroupPolled(clock.instant())));
        yield found;
      }
      case WEAK_EXIT -> feed(new ContainerExit(pod.ref(), "main", 128, "Error", T0.plusSeconds(1), 1));
      case SECOND -> passTime(Duration.ofSeconds(1));
      case RESTART -> {
        clock.advance(Duration.ofMinutes(10));
        fusion = new IncidentFusion("node-a", clock, new PodCgroupLocator(),
            FusionSettings.forPollInterval(Duration.ofSeconds(1), 0.9, Duration.ofSeconds(10), Duration.ofMinutes(10)));
        yield List.of();
      }
    };
  }

  /**
   * One kill that kubelet reports OOMKilled and other signals see too, in every order (an agent restart
   * in between re-sees the status on first sight, and the kernel log replayed): always one incident,
   * Confirmed in every version, named after the sandbox whenever a signal naming it came within the
   * hold — the name the kernel log or the cgroup gives alone — else after kubelet's termination.
   */
  static List<org.junit.jupiter.params.provider.Arguments> kubeletOomKilledScenarios() {
    String v1 = IncidentIds.forSandbox(V1_POD.ref(), V1_KMSG_SANDBOX);
    String v2 = IncidentIds.forSandbox(V2_POD.ref(), "aaaa1111bbbb2222");
    String kubelet = IncidentIds.forKill("kubelet-oomkilled", V1_POD.ref(),
        Instant.parse("2026-11-28T12:45:13Z").toEpochMilli());
    return List.of(
        scenario("kernel log, then kubelet", V1_POD, V1_KMSG_SANDBOX, v1, Signal.KMSG, Signal.STATUS),
        scenario("kubelet, then the kernel log", V1_POD, V1_KMSG_SANDBOX, v1, Signal.STATUS, Signal.SECOND,
            Signal.KMSG),
        scenario("kubelet, then the v2 oom_kill counter", V2_POD, "aaaa1111bbbb2222", v2, Signal.STATUS,
            Signal.SECOND, Signal.V2_OOM_KILL),
        scenario("the v2 oom_kill counter, then kubelet", V2_POD, "aaaa1111bbbb2222", v2, Signal.V2_OOM_KILL,
            Signal.SECOND, Signal.STATUS),
        scenario("kubelet, then a death at the limit", V1_POD, V1_KMSG_SANDBOX, v1, Signal.STATUS,
            Signal.DEATH_AT_LIMIT),
        scenario("a death at the limit, then kubelet", V1_POD, V1_KMSG_SANDBOX, v1, Signal.DEATH_AT_LIMIT,
            Signal.STATUS),
        scenario("kubelet for two containers, weak exits, then the kernel log", V1_POD, V1_KMSG_SANDBOX, v1,
            Signal.STATUS, Signal.SIDECAR_STATUS, Signal.WEAK_EXIT, Signal.SECOND, Signal.KMSG),
        scenario("kubelet alone", V1_POD, null, kubelet, Signal.STATUS, Signal.WEAK_EXIT),
        scenario("restart: kubelet first sight, then the kernel log replayed", V1_POD, V1_KMSG_SANDBOX, v1,
            Signal.KMSG, Signal.STATUS, Signal.RESTART, Signal.STATUS, Signal.SECOND, Signal.KMSG),
        scenario("restart: the kernel log replayed, then kubelet first sight", V1_POD, V1_KMSG_SANDBOX, v1,
            Signal.STATUS, Signal.KMSG, Signal.RESTART, Signal.KMSG, Signal.STATUS),
        scenario("restart: kubelet alone, before and after", V1_POD, null, kubelet, Signal.STATUS,
            Signal.RESTART, Signal.STATUS));
  }

  private static org.junit.jupiter.params.provider.Arguments scenario(String name, WatchedPod pod, String sandbox,
      String expectedId, Signal... signals) {
    return org.junit.jupiter.params.provider.Arguments.of(name, pod, sandbox, expectedId, List.of(signals));
  }

  @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
  @org.junit.jupiter.params.provider.MethodSource("kubeletOomKilledScenarios")
  void kubeletsOomKilledAndTheOtherSignalsOfOneKillMakeOneConfirmedIncident(String name, WatchedPod pod,
      String sandbox, String expectedId, List<Signal> signals) {
    List<OomIncident> found = new ArrayList<>();
    for (Signal signal : signals) {
      found.addAll(play(pod, sandbox, signal));
    }
    found.addAll(passTime(Duration.ofMinutes(1)));

    assertEquals(java.util.Set.of(expectedId), latest(found).keySet(), found.toString());
    assertTrue(found.stream().allMatch(i -> i.verdict() == Verdict.CONFIRMED), found.toString());
    OomIncident last = found.get(found.size() - 1);
    assertTrue(last.evidence().stream().anyMatch(e -> e.source().equals("pods")
        && e.detail().equals("kubelet: container main terminated with exit code 137 (OOMKilled)")),
        last.evidence().toString());
    if (sandbox != null) {
      assertEquals(Optional.of(sandbox), last.sandboxId());
    }
  }

  @Test
  void kubeletsOomKilledAloneIsHeldForTheLikelyWindowThenConfirmed() {
    List<OomIncident> found = new ArrayList<>(feed(FusionFixtures.kubeletOomKilled(
        "pods/gvisor-oomkilled-never.yaml", V1_POD.ref())));
    found.addAll(passTime(Duration.ofSeconds(4)));
    assertEquals(List.of(), found, "waits for a signal naming the sandbox");
    found.addAll(passTime(Duration.ofSeconds(1)));
    assertEquals(1, found.size());
    assertEquals(Verdict.CONFIRMED, found.get(0).verdict());
    assertEquals(Optional.empty(), found.get(0).sandboxId());
  }

  @Test
  void kubeletsOomKilledIsConfirmedEvenForAPodBeingDeletedButNeverForAPodThatIsNotGvisor() {
    watched.put(V1_POD.ref().uid(), stopped(V1_POD, true, false));
    List<OomIncident> found = new ArrayList<>(feed(FusionFixtures.kubeletOomKilled(
        "pods/gvisor-oomkilled-restarted.yaml", V1_POD.ref())));
    WatchedPod runc = pod("runc-pod", "7d3e9f10-1111-4222-8333-444455556666"); // not in the gVisor pod set
    found.addAll(feed(FusionFixtures.kubeletOomKilled("pods/gvisor-oomkilled-restarted.yaml", runc.ref())));
    found.addAll(passTime(Duration.ofMinutes(1)));
    assertEquals(1, found.size(), found.toString());
    assertEquals(V1_POD.ref(), found.get(0).pod());
    assertEquals(Verdict.CONFIRMED, found.get(0).verdict());
  }

  // --- Likely and Possible -------------------------------------------------------------------------------

  @Test
  void aV1SandboxDeathAtTheLimitWithoutAKernelLogIsLikely() {
    CgroupMemorySnapshot after = FusionFixtures.v1Pod("after-oom", T0);
    assertEquals(after.limitBytes().getAsLong(), after.peakBytes().getAsLong(), "the capture: peak at the limit");
    assertEquals(0, after.oomKill().getAsLong(), "the capture: v1 pod cgroup does not count the kill");

    List<OomIncident> found = new ArrayList<>(feed(
        new SandboxDied(sandbox(V1_POD, V1_KMSG_SANDBOX, 7932), T0, "sentry pid 7932 exited")));
    assertEquals(List.of(), found, "a death alone waits for its cause");
    clock.advance(Duration.ofSeconds(1));
    found.addAll(feed(signal(V1_POD, null, CgroupOomSignal.Kind.LIMIT_HIT, "failcnt", 0,
        after.failcnt().getAsLong(), FusionFixtures.v1Pod("after-oom", clock.instant()))));
    assertEquals(List.of(), found, "waits for a deletion or eviction to show");
    found.addAll(passTime(Duration.ofSeconds(2)));

    assertEquals(1, found.size());
    assertEquals(Verdict.LIKELY, found.get(0).verdict());
    assertEquals(IncidentIds.forSandbox(V1_POD.ref(), V1_KMSG_SANDBOX), found.get(0).id());
    assertEquals(Optional.of("exe (pid 7932, gVisor sentry)"), found.get(0).victim());
  }

  @Test
  void theLimitHitFirstAndTheDeathAPollLaterIsLikelyOnceAPollAfterTheDeathCountedNoKill() {
    List<OomIncident> found = new ArrayList<>(feed(signal(V1_POD, V1_KMSG_SANDBOX, CgroupOomSignal.Kind.LIMIT_HIT,
        "failcnt", 0, 108, FusionFixtures.v1Pod("after-oom", T0)), new CgroupPolled(T0)));
    clock.advance(Duration.ofMillis(400));
    Instant died = clock.instant();
    found.addAll(feed(new SandboxDied(sandbox(V1_POD, V1_KMSG_SANDBOX, 7932), died, "sentry exited")));
    assertEquals(List.of(), found, "the next poll may still count the kill");
    clock.advance(Duration.ofMillis(600));
    found.addAll(feed(new CgroupPolled(died.minusMillis(1))));
    assertEquals(List.of(), found, "a poll that started before the death proves nothing");
    found.addAll(feed(new CgroupPolled(clock.instant())));
    assertEquals(List.of(), found, "polled, but kubelet may still say the pod is evicted");
    found.addAll(passTime(Duration.ofSeconds(3)));
    assertEquals(1, found.size());
    assertEquals(Verdict.LIKELY, found.get(0).verdict());
    assertEquals(List.of("cgroup", "runsc"), found.get(0).evidence().stream().map(e -> e.source()).toList());
  }

  /**
   * The race CI met on real cgroup v2: {@code memory.events} {@code max} rose while the app allocated,
   * the runsc source noticed the dead sentry between two polls, and the next poll read {@code oom_kill}
   * 0 → 1. The first report must already say Confirmed, not Likely then Confirmed.
   */
  @Test
  void aV2DeathBetweenALimitHitAndTheOomKillCounterIsConfirmedFromTheStart() {
    CgroupMemorySnapshot running = FusionFixtures.v2Pod("running", T0);
    CgroupMemorySnapshot killed = FusionFixtures.v2Pod("after-kill", T0.plusSeconds(1));
    List<OomIncident> found = new ArrayList<>(feed(signal(V2_POD, "aaaa1111bbbb2222", CgroupOomSignal.Kind.LIMIT_HIT,
        "max", 10, 12, running), new CgroupPolled(T0)));
    clock.advance(Duration.ofMillis(500));
    found.addAll(feed(new SandboxDied(sandbox(V2_POD, "aaaa1111bbbb2222", 1234), clock.instant(), "sentry exited")));
    clock.set(T0.plusSeconds(1));
    found.addAll(feed(signal(V2_POD, "aaaa1111bbbb2222", CgroupOomSignal.Kind.OOM_KILL, "oom_kill",
        running.oomKill().getAsLong(), killed.oomKill().getAsLong(), killed), new CgroupPolled(T0.plusSeconds(1))));
    found.addAll(passTime(Duration.ofMinutes(1)));

    assertTrue(found.stream().allMatch(i -> i.verdict() == Verdict.CONFIRMED), found.toString());
    assertEquals(1, latest(found).size(), found.toString());
    OomIncident last = found.get(found.size() - 1);
    assertEquals(List.of("cgroup", "cgroup", "runsc"), last.evidence().stream().map(e -> e.source()).toList());
    assertTrue(last.evidence().get(0).detail().contains("oom_kill 0 → 1"), last.evidence().toString());
    assertEquals(Optional.of("exe (pid 1234, gVisor sentry)"), last.victim());
  }

  @Test
  void aDeathAtTheLimitIsLikelyWithinTheWindowWhenNoPollComes() {
    feed(signal(V1_POD, V1_KMSG_SANDBOX, CgroupOomSignal.Kind.LIMIT_HIT, "failcnt", 0, 108,
        FusionFixtures.v1Pod("after-oom", T0)));
    clock.advance(Duration.ofMillis(500));
    assertEquals(List.of(), feed(new SandboxDied(sandbox(V1_POD, V1_KMSG_SANDBOX, 7932), clock.instant(), "exited")));
    List<OomIncident> found = passTime(Duration.ofSeconds(10));
    assertEquals(1, found.size(), "the cgroup source stalled: decided without its next poll");
    assertEquals(Verdict.LIKELY, found.get(0).verdict());
  }

  @Test
  void exitCodesNearTheLimitAloneArePossible() {
    CgroupMemorySnapshot high = FusionFixtures.v1Pod("after-oom", T0);
    CgroupMemorySnapshot near = new CgroupMemorySnapshot(high.cgroupPath(), 1, T0, high.limitBytes(),
        (long) (0.95 * LIMIT), high.peakBytes(), high.failcnt(), high.oomKill(), OptionalLong.empty(),
        OptionalLong.empty(), OptionalLong.empty(), OptionalDouble.empty());
    List<OomIncident> found = new ArrayList<>(feed(new MemorySample(V1_KMSG_POD_UID, near),
        new ContainerExit(V1_POD.ref(), "app", 128, "Error", T0.plusSeconds(1), 0)));
    assertEquals(List.of(), found, "waits for a deletion or eviction to show");
    found.addAll(passTime(Duration.ofSeconds(3)));
    assertEquals(1, found.size());
    assertEquals(Verdict.POSSIBLE, found.get(0).verdict());
  }

  // --- deletions and evictions ------------------------------------------------------------------------

  /** The v1 capture's death at the limit (the Likely case above), for a pod in the given state. */
  private List<OomIncident> deathAtTheLimit(WatchedPod pod) {
    watched.put(pod.ref().uid(), pod);
    List<OomIncident> found = new ArrayList<>(feed(signal(pod, V1_KMSG_SANDBOX, CgroupOomSignal.Kind.LIMIT_HIT,
        "failcnt", 0, 108, FusionFixtures.v1Pod("after-oom", T0)), new CgroupPolled(T0)));
    clock.advance(Duration.ofMillis(400));
    found.addAll(feed(new SandboxDied(sandbox(pod, V1_KMSG_SANDBOX, 7932), clock.instant(), "sentry pid 7932 exited")));
    clock.advance(Duration.ofMillis(600));
    found.addAll(feed(new CgroupPolled(clock.instant())));
    return found;
  }

  private static WatchedPod stopped(WatchedPod pod, boolean deletionRequested, boolean evicted) {
    return new WatchedPod(pod.ref(), pod.runtimeClassName(), pod.memoryLimitBytes(), deletionRequested, evicted);
  }

  @Test
  void aPodBeingDeletedWhoseSandboxDiesAtItsLimitIsNoOom() {
    List<OomIncident> found = deathAtTheLimit(stopped(V1_POD, true, false));
    found.addAll(passTime(Duration.ofMinutes(2)));
    assertEquals(List.of(), found);
  }

  @Test
  void anEvictedPodWhoseSandboxDiesAtItsLimitIsNoOom() {
    List<OomIncident> found = deathAtTheLimit(stopped(V1_POD, false, true));
    found.addAll(passTime(Duration.ofMinutes(2)));
    assertEquals(List.of(), found);
  }

  /**
   * Kubelet writes "Evicted" (or the deletion reaches the cache) after the sandbox is gone: the death
   * at the limit waits the stop wait (3 s at a 1 s poll) before it is called Likely, so an eviction
   * seen within it keeps it from being one.
   */
  @Test
  void anEvictionSeenShortlyAfterTheDeathAtTheLimitIsNoOom() {
    List<OomIncident> found = deathAtTheLimit(V1_POD);
    found.addAll(passTime(Duration.ofSeconds(1)));
    watched.put(V1_POD.ref().uid(), stopped(V1_POD, false, true));
    found.addAll(passTime(Duration.ofMinutes(2)));
    assertEquals(List.of(), found);
  }

  @Test
  void aDeletionSeenShortlyAfterExitCodesNearTheLimitIsNoOom() {
    CgroupMemorySnapshot high = FusionFixtures.v1Pod("after-oom", T0);
    CgroupMemorySnapshot near = new CgroupMemorySnapshot(high.cgroupPath(), 1, T0, high.limitBytes(),
        (long) (0.95 * LIMIT), high.peakBytes(), high.failcnt(), high.oomKill(), OptionalLong.empty(),
        OptionalLong.empty(), OptionalLong.empty(), OptionalDouble.empty());
    List<OomIncident> found = new ArrayList<>(feed(new MemorySample(V1_KMSG_POD_UID, near),
        new ContainerExit(V1_POD.ref(), "app", 143, "Error", T0.plusSeconds(1), 0)));
    found.addAll(passTime(Duration.ofSeconds(2)));
    watched.put(V1_POD.ref().uid(), stopped(V1_POD, true, false));
    found.addAll(passTime(Duration.ofMinutes(1)));
    assertEquals(List.of(), found);
  }

  /** How long the decision waits: not a moment past the stop wait, after which a Likely stands. */
  @Test
  void aDeathAtTheLimitIsLikelyOnceTheStopWaitPassedWithNoDeletionOrEviction() {
    List<OomIncident> found = deathAtTheLimit(V1_POD); // died at T0 + 0.4 s, polled at T0 + 1 s
    found.addAll(passTime(Duration.ofSeconds(2))); // T0 + 3 s: 2.6 s after the death
    assertEquals(List.of(), found);
    found.addAll(passTime(Duration.ofSeconds(1))); // 3.6 s after the death
    assertEquals(1, found.size());
    assertEquals(Verdict.LIKELY, found.get(0).verdict());
    watched.put(V1_POD.ref().uid(), stopped(V1_POD, false, true));
    found.addAll(passTime(Duration.ofMinutes(1)));
    assertEquals(1, found.size(), "an eviction seen later changes nothing already reported");
  }

  @Test
  void aKillTheKernelCountedIsConfirmedEvenWhileThePodIsBeingDeleted() {
    watched.put(V1_POD.ref().uid(), stopped(V1_POD, true, true));
    KernelOomKill kill = FusionFixtures.kernelKills("kmsg/kmsg-sandbox-oom.txt").get(0);
    List<OomIncident> found = feed(kill);
    assertEquals(1, found.size());
    assertEquals(Verdict.CONFIRMED, found.get(0).verdict());

    CgroupMemorySnapshot running = FusionFixtures.v2Pod("running", T0);
    CgroupMemorySnapshot killed = FusionFixtures.v2Pod("after-kill", T0.plusSeconds(1));
    watched.put(V2_POD.ref().uid(), stopped(V2_POD, false, true));
    List<OomIncident> counted = feed(signal(V2_POD, "aaaa1111bbbb2222", CgroupOomSignal.Kind.OOM_KILL, "oom_kill",
        running.oomKill().getAsLong(), killed.oomKill().getAsLong(), killed));
    assertEquals(Verdict.CONFIRMED, counted.get(0).verdict());
  }

  // --- decoys ---------------------------------------------------------------------------------------

  @Test
  void killNineOfASandboxFarBelowItsLimitIsNothing() {
    List<OomIncident> found = new ArrayList<>(feed(
        new SandboxSeen(sandbox(V1_POD, "decoy", 4242), T0),
        new SandboxDied(sandbox(V1_POD, "decoy", 4242), T0, "sentry pid 4242 exited"),
        new ContainerExit(V1_POD.ref(), "app", 137, "Error", T0, 0)));
    found.addAll(passTime(Duration.ofMinutes(2)));
    assertEquals(List.of(), found);
  }

  @Test
  void aNormalExitNearTheLimitIsNothing() {
    CgroupMemorySnapshot high = FusionFixtures.v1Pod("running", T0);
    CgroupMemorySnapshot near = new CgroupMemorySnapshot(high.cgroupPath(), 1, T0, OptionalLong.of(LIMIT),
        (long) (0.9 * LIMIT), OptionalLong.of((long) (0.9 * LIMIT)), high.failcnt(), high.oomKill(),
        OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(), OptionalDouble.empty());
    List<OomIncident> found = new ArrayList<>(feed(new MemorySample(V1_KMSG_POD_UID, near),
        new ContainerExit(V1_POD.ref(), "app", 0, "Completed", T0.plusSeconds(1), 0)));
    found.addAll(passTime(Duration.ofMinutes(1)));
    assertEquals(List.of(), found);
  }

  @Test
  void hittingTheLimitWithoutDyingIsNothing() {
    List<OomIncident> found = new ArrayList<>(feed(signal(V1_POD, V1_KMSG_SANDBOX, CgroupOomSignal.Kind.LIMIT_HIT,
        "failcnt", 0, 108, FusionFixtures.v1Pod("after-oom", T0))));
    found.addAll(passTime(Duration.ofMinutes(2)));
    assertEquals(List.of(), found);
  }

  @Test
  void anOomOfAProcessThatIsNotAGvisorPodsIsNotOurs() {
    assertEquals(List.of(), feed(FusionFixtures.kernelKills("kmsg/kmsg-plain-process-oom.txt").toArray(
        new Observation[0])));
    IncidentFusion onlyOthers = new IncidentFusion("node-a", clock, new PodCgroupLocator(),
        FusionSettings.forPollInterval(Duration.ofSeconds(1), 0.9, Duration.ofSeconds(10), Duration.ofMinutes(10)));
    // the same kernel record, but the pod runs with runc: not in the gVisor pod set
    assertEquals(List.of(), onlyOthers.accept(FusionFixtures.kernelKills("kmsg/kmsg-sandbox-oom.txt").get(0),
        pods(OTHER)));
  }

  // --- restart loops, culprits, warnings ------------------------------------------------------------

  @Test
  void aRestartLoopOfThreeKillsIsThreeIncidents() {
    List<OomIncident> found = new ArrayList<>();
    KernelOomKill template = FusionFixtures.kernelKills("kmsg/kmsg-sandbox-oom.txt").get(0);
    for (int i = 0; i < 3; i++) {
      String sandboxCgroup = "/kubepods/burstable/pod" + V1_KMSG_POD_UID + "/sandbox" + i;
      found.addAll(feed(new KernelOomKill(template.bootId(), template.sequence() + 100L * i, 0, clock.instant(),
          template.constraint(), template.oomMemcg(), sandboxCgroup, "exe", 7000 + i, 65534, template.limitBytes(),
          template.anonRssBytes())));
      clock.advance(Duration.ofSeconds(40));
    }
    assertEquals(3, latest(found).size());
  }

  @Test
  void theContainerWithTheMostMemoryIsNamedTheCulprit() {
    KernelOomKill kill = FusionFixtures.kernelKills("kmsg/kmsg-sandbox-oom.txt").get(0);
    List<OomIncident> found = feed(
        new ContainerMemorySample(V1_KMSG_SANDBOX, "c1", "sidecar", 4L << 20, T0),
        new ContainerMemorySample(V1_KMSG_SANDBOX, "c2", "app", 60L << 20, T0),
        kill);
    assertEquals("app", found.get(0).culprit());
    assertEquals(60.0 / 64, found.get(0).culpritConfidence().getAsDouble(), 1e-9);
    IncidentFusion withoutSamples = new IncidentFusion("node-a", clock, new PodCgroupLocator(),
        FusionSettings.forPollInterval(Duration.ofSeconds(1), 0.9, Duration.ofSeconds(10), Duration.ofMinutes(10)));
    OomIncident unknown = incidents(withoutSamples.accept(kill, gvisorPods)).get(0);
    assertEquals(OomIncident.WHOLE_POD, unknown.culprit());
    assertTrue(unknown.culpritConfidence().isEmpty());
  }

  @Test
  void nearOomWarnsOnceAfterTenSecondsAndNotAgainForTenMinutes() {
    List<Finding> warnings = new ArrayList<>();
    for (int s = 0; s <= 120; s++) {
      CgroupMemorySnapshot high = new CgroupMemorySnapshot("/kubepods/burstable/pod" + V1_KMSG_POD_UID, 1,
          T0.plusSeconds(s), OptionalLong.of(LIMIT), (long) (0.95 * LIMIT), OptionalLong.empty(), OptionalLong.of(0),
          OptionalLong.of(0), OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(), OptionalDouble.empty());
      warnings.addAll(fusion.accept(new MemorySample(V1_KMSG_POD_UID, high), gvisorPods));
    }
    assertEquals(1, warnings.size());
    Finding.NearOom near = (Finding.NearOom) warnings.get(0);
    assertEquals(T0, near.since());
    assertEquals(LIMIT, near.limitBytes());
  }

  @Test
  void aSandboxOutsideItsLimitedCgroupIsReportedOnce() {
    SandboxUnlimited unlimited = new SandboxUnlimited(sandbox(V1_POD, "sb", 99), "/system.slice/containerd.service",
        "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + V1_KMSG_POD_UID.replace('-', '_') + ".slice");
    assertEquals(1, fusion.accept(unlimited, gvisorPods).size());
    assertEquals(0, fusion.accept(unlimited, gvisorPods).size());
  }

  /** A clock the test moves. */
  private static final class MutableClock extends Clock {
    private Instant now;

    MutableClock(Instant now) {
      this.now = now;
    }

    void set(Instant instant) {
      now = instant;
    }

    void advance(Duration d) {
      now = now.plus(d);
    }

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
  }
}
