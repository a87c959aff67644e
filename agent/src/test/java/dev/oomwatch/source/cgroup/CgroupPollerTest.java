package dev.oomwatch.source.cgroup;

import static dev.oomwatch.source.cgroup.CgroupFixtures.V1_LIFECYCLE_POD_UID;
import static dev.oomwatch.source.cgroup.CgroupFixtures.V1_LIFECYCLE_SANDBOX_ID;
import static dev.oomwatch.source.cgroup.CgroupFixtures.V1_POD_CGROUP;
import static dev.oomwatch.source.cgroup.CgroupFixtures.V1_POD_UID;
import static dev.oomwatch.source.cgroup.CgroupFixtures.V1_SANDBOX_ID;
import static dev.oomwatch.source.cgroup.CgroupFixtures.V2_POD_UID;
import static dev.oomwatch.source.cgroup.CgroupFixtures.watched;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.model.CgroupMemorySnapshot;
import dev.oomwatch.model.CgroupOomSignal;
import dev.oomwatch.model.MemorySample;
import dev.oomwatch.model.Observation;
import dev.oomwatch.model.WatchedPod;
import dev.oomwatch.source.cgroup.CgroupFixtures.Phase;
import dev.oomwatch.source.cgroup.CgroupFixtures.V2Layout;
import dev.oomwatch.testing.CapturedLog;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link CgroupPoller} driven poll by poll over the real captures laid out as the node mounts them:
 * each v2 layout running → after-kill → after-delete, and v1 with and without a poll that saw the
 * sandbox cgroup between the kill and its deletion.
 */
class CgroupPollerTest {

  private static final long MIB = 1024L * 1024L;
  private static final long LIMIT = 64 * MIB;
  private static final Instant NOW = Instant.parse("2026-11-28T12:00:00Z");

  @TempDir Path root;
  private final PollCounters counters = new PollCounters();
  private final List<Observation> sunk = new ArrayList<>();
  private CgroupPoller poller;

  @BeforeEach
  void makePoller() {
    poller = new CgroupPoller(root, 0.9, Clock.fixed(NOW, ZoneOffset.UTC), counters);
  }

  @AfterEach
  void closePoller() {
    poller.close();
  }

  /** Polls once, returning what was handed to the sink in that poll. */
  private List<Observation> poll(Collection<WatchedPod> pods) {
    sunk.clear();
    try {
      poller.poll(pods, sunk::add);
    } catch (CgroupUnavailableException e) {
      throw new AssertionError(e.getMessage(), e);
    }
    return List.copyOf(sunk);
  }

  private List<Observation> poll(String... podUids) {
    List<WatchedPod> pods = new ArrayList<>();
    for (String uid : podUids) {
      pods.add(watched(uid));
    }
    return poll(pods);
  }

  /** A signal in one line: {@code OOM_KILL oom_kill 0->1 sandbox=<id> in /kubepods/...}. */
  private static String describe(Observation observation) {
    if (observation instanceof CgroupOomSignal s) {
      return s.kind() + " " + s.counter() + " " + s.before() + "->" + s.after() + " sandbox="
          + s.sandboxId().orElse("?") + " in " + s.snapshot().cgroupPath();
    }
    MemorySample sample = (MemorySample) observation;
    return "sample " + sample.snapshot().usageBytes() + "/" + sample.snapshot().limitBytes().orElse(-1)
        + " in " + sample.snapshot().cgroupPath();
  }

  private static List<String> describe(List<Observation> observations) {
    return observations.stream().map(CgroupPollerTest::describe).toList();
  }

  @ParameterizedTest
  @EnumSource(V2Layout.class)
  void v2KillIsReportedOnceFromThePodCgroupAndSurvivesTheSandboxDeletion(V2Layout layout) {
    CgroupFixtures.layV2(root, layout, Phase.RUNNING);
    assertEquals(List.of(), poll(V2_POD_UID), "the first poll is a baseline");

    CgroupFixtures.layV2(root, layout, Phase.AFTER_KILL);
    List<Observation> afterKill = poll(V2_POD_UID);
    assertEquals(List.of(
            "OOM_KILL oom_kill 0->1 sandbox=" + layout.sandboxId + " in " + layout.podCgroup,
            "LIMIT_HIT oom 0->1 sandbox=" + layout.sandboxId + " in " + layout.podCgroup),
        describe(afterKill));
    CgroupOomSignal kill = (CgroupOomSignal) afterKill.get(0);
    assertEquals(V2_POD_UID, kill.podUid());
    CgroupMemorySnapshot snapshot = kill.snapshot();
    assertEquals(2, snapshot.version());
    assertEquals(NOW, snapshot.sampledAt());
    assertEquals(OptionalLong.of(LIMIT), snapshot.limitBytes());
    assertEquals(OptionalLong.of(LIMIT), snapshot.peakBytes());
    assertEquals(OptionalLong.of(1), snapshot.oomKill());
    assertEquals(OptionalLong.of(1), snapshot.eventsOom());
    assertEquals(OptionalLong.of(0), snapshot.oomGroupKill());
    assertTrue(snapshot.eventsMax().getAsLong() > 0, snapshot.toString());
    assertEquals(OptionalLong.empty(), snapshot.failcnt());
    assertEquals(OptionalDouble.of(0.0), snapshot.pressureSomeAvg10());

    CgroupFixtures.layV2(root, layout, Phase.AFTER_DELETE);
    assertEquals(List.of(), poll(V2_POD_UID), "the deletion is no new kill");
    assertEquals(List.of(), poll(V2_POD_UID));
    CgroupStats stats = counters.snapshot();
    assertEquals(2, stats.signalsEmitted());
    assertEquals(0, stats.parseErrors());
    assertEquals(0, stats.podsWithoutCgroup());
  }

  @ParameterizedTest
  @EnumSource(V2Layout.class)
  void v2KillAndDeletionBetweenTwoPollsIsCountedForThePreviousOnlySandbox(V2Layout layout) {
    CgroupFixtures.layV2(root, layout, Phase.RUNNING);
    poll(V2_POD_UID);

    CgroupFixtures.layV2(root, layout, Phase.AFTER_DELETE);
    assertEquals(List.of(
            "OOM_KILL oom_kill 0->1 sandbox=" + layout.sandboxId + " in " + layout.podCgroup,
            "LIMIT_HIT oom 0->1 sandbox=" + layout.sandboxId + " in " + layout.podCgroup),
        describe(poll(V2_POD_UID)));
  }

  @ParameterizedTest
  @EnumSource(V2Layout.class)
  void countsFromBeforeTheFirstPollAreABaselineNotAKill(V2Layout layout) {
    CgroupFixtures.layV2(root, layout, Phase.AFTER_KILL);
    assertEquals(List.of(), poll(V2_POD_UID));
    CgroupFixtures.layV2(root, layout, Phase.AFTER_DELETE);
    assertEquals(List.of(), poll(V2_POD_UID));
  }

  @Test
  void v1PodCgroupAloneGivesLimitHitForThePreviousOnlySandbox() {
    CgroupFixtures.layV1(root, "cgroup-running", "cgroup-running");
    assertEquals(List.of(), poll(V1_POD_UID));

    CgroupFixtures.layV1(root, "cgroup-after-oom", null);
    List<Observation> afterOom = poll(V1_POD_UID);
    assertEquals(List.of("LIMIT_HIT failcnt 0->108 sandbox=" + V1_SANDBOX_ID + " in " + V1_POD_CGROUP),
        describe(afterOom));
    CgroupMemorySnapshot snapshot = ((CgroupOomSignal) afterOom.get(0)).snapshot();
    assertEquals(1, snapshot.version());
    assertEquals(OptionalLong.of(LIMIT), snapshot.limitBytes());
    assertEquals(OptionalLong.of(LIMIT), snapshot.peakBytes());
    assertEquals(OptionalLong.of(108), snapshot.failcnt());
    assertEquals(OptionalLong.of(0), snapshot.oomKill());
    assertEquals(471040, snapshot.usageBytes());
    assertEquals(OptionalLong.empty(), snapshot.eventsOom());
    assertEquals(OptionalDouble.empty(), snapshot.pressureSomeAvg10());
  }

  @Test
  void v1SandboxCgroupSeenBetweenKillAndDeletionGivesTheKill() {
    String pod = "/kubepods/burstable/pod" + V1_LIFECYCLE_POD_UID;
    String sandbox = pod + "/" + V1_LIFECYCLE_SANDBOX_ID;
    CgroupFixtures.layV1Lifecycle(root, Phase.RUNNING);
    assertEquals(List.of(), poll(V1_LIFECYCLE_POD_UID));

    CgroupFixtures.layV1Lifecycle(root, Phase.AFTER_KILL);
    List<Observation> afterKill = poll(V1_LIFECYCLE_POD_UID);
    assertEquals(List.of(
            "OOM_KILL oom_kill 0->1 sandbox=" + V1_LIFECYCLE_SANDBOX_ID + " in " + sandbox,
            "LIMIT_HIT failcnt 0->103 sandbox=" + V1_LIFECYCLE_SANDBOX_ID + " in " + pod),
        describe(afterKill));
    CgroupMemorySnapshot sandboxSnapshot = ((CgroupOomSignal) afterKill.get(0)).snapshot();
    assertEquals(OptionalLong.empty(), sandboxSnapshot.limitBytes(), "the sandbox cgroup has no limit of its own");
    assertEquals(OptionalLong.of(67358720), sandboxSnapshot.peakBytes());
    assertEquals(OptionalLong.of(1), sandboxSnapshot.oomKill());

    CgroupFixtures.layV1Lifecycle(root, Phase.AFTER_DELETE);
    assertEquals(List.of(), poll(V1_LIFECYCLE_POD_UID));
  }

  @Test
  void v1SandboxDeletedBeforeAnyPollSawItsKillGivesOnlyTheLimitHit() {
    CgroupFixtures.layV1Lifecycle(root, Phase.RUNNING);
    poll(V1_LIFECYCLE_POD_UID);
    CgroupFixtures.layV1Lifecycle(root, Phase.AFTER_DELETE);
    assertEquals(List.of("LIMIT_HIT failcnt 0->103 sandbox=" + V1_LIFECYCLE_SANDBOX_ID
        + " in /kubepods/burstable/pod" + V1_LIFECYCLE_POD_UID), describe(poll(V1_LIFECYCLE_POD_UID)));
  }

  @Test
  void aSandboxCgroupMadeAfterTheBaselineIsComparedWithZero() {
    CgroupFixtures.layV1Lifecycle(root, Phase.AFTER_DELETE);
    assertEquals(List.of(), poll(V1_LIFECYCLE_POD_UID), "baseline: failcnt 103, no sandbox");
    // A new sandbox appears and, before the next poll, is killed: its whole count is new.
    CgroupFixtures.layV1Lifecycle(root, Phase.AFTER_KILL);
    assertEquals(List.of("OOM_KILL oom_kill 0->1 sandbox=" + V1_LIFECYCLE_SANDBOX_ID + " in /kubepods/burstable/pod"
        + V1_LIFECYCLE_POD_UID + "/" + V1_LIFECYCLE_SANDBOX_ID), describe(poll(V1_LIFECYCLE_POD_UID)));
  }

  @Test
  void aSandboxReplacedBetweenTwoPollsIsFollowedInTheSamePoll() {
    CgroupFixtures.layV1Lifecycle(root, Phase.RUNNING);
    Path pod = root.resolve("memory/kubepods/burstable/pod" + V1_LIFECYCLE_POD_UID);
    poll(V1_LIFECYCLE_POD_UID);
    poll(V1_LIFECYCLE_POD_UID);

    // the old sandbox is deleted, a new one starts and is killed before the next poll
    CgroupFixtures.deleteTree(pod.resolve(V1_LIFECYCLE_SANDBOX_ID));
    CgroupFixtures.copyTree(CgroupFixtures.resource(CgroupFixtures.V1_LIFECYCLE + "/after-kill/kubepods/burstable/pod"
        + V1_LIFECYCLE_POD_UID + "/" + V1_LIFECYCLE_SANDBOX_ID), pod.resolve("0f1e2d3c4b5a6978"));
    assertEquals(List.of("OOM_KILL oom_kill 0->1 sandbox=0f1e2d3c4b5a6978 in /kubepods/burstable/pod"
        + V1_LIFECYCLE_POD_UID + "/0f1e2d3c4b5a6978"), describe(poll(V1_LIFECYCLE_POD_UID)));
  }

  @Test
  void aChildAddedBesideAnotherIsFoundWithinTheRelistPeriod() {
    CgroupFixtures.layV1Lifecycle(root, Phase.RUNNING);
    Path pod = root.resolve("memory/kubepods/burstable/pod" + V1_LIFECYCLE_POD_UID);
    poll(V1_LIFECYCLE_POD_UID);

    CgroupFixtures.copyTree(CgroupFixtures.resource(CgroupFixtures.V1_LIFECYCLE + "/after-kill/kubepods/burstable/pod"
        + V1_LIFECYCLE_POD_UID + "/" + V1_LIFECYCLE_SANDBOX_ID), pod.resolve("0f1e2d3c4b5a6978"));
    List<String> seen = new ArrayList<>();
    for (int i = 0; i < CgroupPoller.RELIST_EVERY && seen.isEmpty(); i++) {
      seen.addAll(describe(poll(V1_LIFECYCLE_POD_UID)));
    }
    assertEquals(List.of("OOM_KILL oom_kill 0->1 sandbox=0f1e2d3c4b5a6978 in /kubepods/burstable/pod"
        + V1_LIFECYCLE_POD_UID + "/0f1e2d3c4b5a6978"), seen);
  }

  @Test
  void aPodNoLongerWatchedIsForgottenAndTakesANewBaseline() {
    CgroupFixtures.layV2(root, V2Layout.CGROUPFS_BURSTABLE, Phase.RUNNING);
    poll(V2_POD_UID);
    assertEquals(1, poller.followedPods());

    assertEquals(List.of(), poll());
    assertEquals(0, poller.followedPods());

    CgroupFixtures.layV2(root, V2Layout.CGROUPFS_BURSTABLE, Phase.AFTER_KILL);
    assertEquals(List.of(), poll(V2_POD_UID), "watched again: a new baseline");
  }

  @Test
  void aPodWhoseCgroupIsGoneIsForgottenAndCountedAsWithoutCgroup() throws IOException {
    CgroupFixtures.layV2(root, V2Layout.CGROUPFS_BURSTABLE, Phase.RUNNING);
    poll(V2_POD_UID, "00000000-0000-4000-8000-000000000001");
    assertEquals(1, counters.snapshot().podsWithoutCgroup(), "the second pod has no cgroup (yet)");

    CgroupFixtures.deleteTree(root.resolve(V2Layout.CGROUPFS_BURSTABLE.podCgroup.substring(1)));
    assertEquals(List.of(), poll(V2_POD_UID, "00000000-0000-4000-8000-000000000001"));
    assertEquals(0, poller.followedPods());
    // Polls are counted by the source; the poller counts what it read.
    assertEquals(new CgroupStats(0, 0, 2, 1, 0, 0, 0, 0, 2, 2), counters.snapshot());
  }

  @Test
  void samplesWhileNearTheLimitAndOnceMoreWhenBelow() {
    CgroupFixtures.layV2(root, V2Layout.CGROUPFS_BURSTABLE, Phase.RUNNING);
    Path current = root.resolve(V2Layout.CGROUPFS_BURSTABLE.podCgroup.substring(1)).resolve("memory.current");
    String pod = V2Layout.CGROUPFS_BURSTABLE.podCgroup;
    assertEquals(List.of(), poll(V2_POD_UID), "16 MiB of 64 MiB");

    long nearLimit = (long) Math.ceil(LIMIT * 0.9);
    CgroupFixtures.write(current, nearLimit + "\n");
    assertEquals(List.of("sample " + nearLimit + "/" + LIMIT + " in " + pod), describe(poll(V2_POD_UID)));
    CgroupFixtures.write(current, LIMIT + "\n");
    List<Observation> atLimit = poll(V2_POD_UID);
    assertEquals(List.of("sample " + LIMIT + "/" + LIMIT + " in " + pod), describe(atLimit));
    assertEquals(V2_POD_UID, ((MemorySample) atLimit.get(0)).podUid());
    assertEquals(OptionalLong.of(19247104), ((MemorySample) atLimit.get(0)).snapshot().peakBytes());

    CgroupFixtures.write(current, (nearLimit - 4096) + "\n");
    assertEquals(List.of("sample " + (nearLimit - 4096) + "/" + LIMIT + " in " + pod), describe(poll(V2_POD_UID)),
        "one more when it drops below");
    assertEquals(List.of(), poll(V2_POD_UID));
    assertEquals(3, counters.snapshot().samplesEmitted());
  }

  @Test
  void anUnlimitedPodIsNeverSampledNorLimitHit() {
    Path pod = CgroupFixtures.layV1(root, "cgroup-running", "cgroup-running");
    CgroupFixtures.write(pod.resolve("memory.limit_in_bytes"), CgroupFixtures.V1_NO_LIMIT);
    poll(V1_POD_UID);
    CgroupFixtures.layV1(root, "cgroup-after-oom", null);
    CgroupFixtures.write(pod.resolve("memory.limit_in_bytes"), CgroupFixtures.V1_NO_LIMIT);
    assertEquals(List.of(), poll(V1_POD_UID));
  }

  @ParameterizedTest(name = "[{index}] max_usage_in_bytes = limit {0} bytes -> {1}")
  @CsvSource({
      "0, true",
      // the kernel force-charges a dying task: a page or so over is still "at the limit"
      "4096, true",
      "65536, true",
      "-4096, false",
      "-33554432, false",
  })
  void v1FailcntCountsAsALimitHitOnlyWithThePeakAtTheLimit(long overLimit, boolean limitHit) {
    CgroupFixtures.layV1(root, "cgroup-running", "cgroup-running");
    poll(V1_POD_UID);
    Path pod = CgroupFixtures.layV1(root, "cgroup-after-oom", null);
    CgroupFixtures.write(pod.resolve("memory.max_usage_in_bytes"), (LIMIT + overLimit) + "\n");
    assertEquals(limitHit ? List.of("LIMIT_HIT failcnt 0->108 sandbox=" + V1_SANDBOX_ID + " in " + V1_POD_CGROUP)
        : List.of(), describe(poll(V1_POD_UID)));
  }

  @Test
  void v2KillIsAttributedToTheSandboxWhoseOwnCounterRose() throws IOException {
    V2Layout layout = V2Layout.CGROUPFS_BURSTABLE;
    CgroupFixtures.layV2(root, layout, Phase.RUNNING);
    Path pod = root.resolve(layout.podCgroup.substring(1));
    CgroupFixtures.copyTree(pod.resolve(layout.sandboxChild), pod.resolve("ffff0000ffff0000"));
    poll(V2_POD_UID);

    CgroupFixtures.layV2(root, layout, Phase.AFTER_KILL);
    CgroupFixtures.copyTree(CgroupFixtures.resource(CgroupFixtures.V2 + "/" + layout.directory + "/running"
        + layout.podCgroup + "/" + layout.sandboxChild), pod.resolve("ffff0000ffff0000"));
    assertEquals(List.of(
            "OOM_KILL oom_kill 0->1 sandbox=" + layout.sandboxId + " in " + layout.podCgroup,
            "LIMIT_HIT oom 0->1 sandbox=? in " + layout.podCgroup),
        describe(poll(V2_POD_UID)), "two sandboxes: the limit hit cannot name one");
  }

  @Test
  void garbageIsCountedAndTheBaselineKept() throws IOException {
    V2Layout layout = V2Layout.SYSTEMD_BURSTABLE;
    CgroupFixtures.layV2(root, layout, Phase.RUNNING);
    poll(V2_POD_UID);
    Path events = root.resolve(layout.podCgroup.substring(1)).resolve("memory.events");
    for (String garbage : List.of("", "low 0\nhigh 0\nmax 0\noom 0\noom_ki", "\u0000\u0001\u0002",
        "oom_kill -1\n", "oom_kill 99999999999999999999\n")) {
      CgroupFixtures.write(events, garbage);
      assertEquals(List.of(), poll(V2_POD_UID), garbage);
    }
    assertEquals(5, counters.snapshot().parseErrors());

    CgroupFixtures.layV2(root, layout, Phase.AFTER_KILL);
    assertEquals("OOM_KILL oom_kill 0->1 sandbox=" + layout.sandboxId + " in " + layout.podCgroup,
        describe(poll(V2_POD_UID).get(0)), "compared with the last good value");
  }

  @Test
  void aChildCgroupWhoseFilesVanishedIsDroppedNotThrown() throws IOException {
    V2Layout layout = V2Layout.CGROUPFS_GUARANTEED;
    CgroupFixtures.layV2(root, layout, Phase.RUNNING);
    Path pod = root.resolve(layout.podCgroup.substring(1));
    // A cgroup being removed: the directory is still listed, its files are gone.
    Files.createDirectory(pod.resolve("0123456789abcdef"));
    assertEquals(List.of(), poll(V2_POD_UID));
    assertEquals(1, counters.snapshot().filesVanished());

    CgroupFixtures.layV2(root, layout, Phase.AFTER_DELETE);
    assertEquals("OOM_KILL oom_kill 0->1 sandbox=" + layout.sandboxId + " in " + layout.podCgroup,
        describe(poll(V2_POD_UID).get(0)), "the vanished child was not taken for a second sandbox");
  }

  @Test
  void aPodFileThatVanishesMakesThePodGoneForThisPoll() throws IOException {
    V2Layout layout = V2Layout.CGROUPFS_BURSTABLE;
    CgroupFixtures.layV2(root, layout, Phase.RUNNING);
    poll(V2_POD_UID);
    Files.delete(root.resolve(layout.podCgroup.substring(1)).resolve("memory.events"));
    assertEquals(List.of(), poll(V2_POD_UID));
    assertEquals(0, poller.followedPods());
    assertEquals(1, counters.snapshot().filesVanished());
  }

  @Test
  void aMissingRootIsUnavailableWithAnActionableSentence() {
    CgroupPoller missing = new CgroupPoller(root.resolve("nope"), 0.9, Clock.systemUTC(), counters);
    CgroupUnavailableException e = assertThrows(CgroupUnavailableException.class,
        () -> missing.poll(List.of(), sunk::add));
    assertEquals("cannot read the cgroup root " + root.resolve("nope") + ": no such directory; mount the"
        + " host's /sys/fs/cgroup (read-only is enough) and pass its path with --cgroup-root", e.getMessage());
  }

  @Test
  void watchedPodsWithoutAnyKubepodsCgroupAreUnavailable() {
    CgroupFixtures.write(root.resolve("cgroup.controllers"), CgroupFixtures.V2_ROOT_CONTROLLERS);
    assertEquals(Optional.empty(), assertDoesNotThrowPoll(poller, List.of()).driver());
    CgroupUnavailableException e = assertThrows(CgroupUnavailableException.class,
        () -> poller.poll(List.of(watched(V2_POD_UID)), sunk::add));
    assertEquals("no kubepods cgroup under " + root + " while 1 gVisor pod(s) run on this node: mount the"
        + " host's /sys/fs/cgroup (not the agent container's own cgroup namespace) and pass its path with"
        + " --cgroup-root", e.getMessage());

    CgroupFixtures.layV2(root, V2Layout.SYSTEMD_BURSTABLE, Phase.RUNNING);
    assertEquals(Optional.of(CgroupLayout.Driver.SYSTEMD),
        assertDoesNotThrowPoll(poller, List.of(watched(V2_POD_UID))).driver(), "kubepods.slice appeared");
    assertEquals(1, poller.followedPods());
  }

  private CgroupLayout assertDoesNotThrowPoll(CgroupPoller poller, Collection<WatchedPod> pods) {
    try {
      return poller.poll(pods, sunk::add);
    } catch (CgroupUnavailableException e) {
      throw new AssertionError(e.getMessage(), e);
    }
  }

  @Test
  void anExceptionFromTheSinkDoesNotStopThePoll() {
    CgroupFixtures.layV2(root, V2Layout.CGROUPFS_BURSTABLE, Phase.RUNNING);
    List<Observation> delivered = new ArrayList<>();
    assertDoesNotThrowPoll(poller, List.of(watched(V2_POD_UID)));
    CgroupFixtures.layV2(root, V2Layout.CGROUPFS_BURSTABLE, Phase.AFTER_KILL);
    try (CapturedLog log = new CapturedLog()) {
      poller.poll(List.of(watched(V2_POD_UID)), observation -> {
        delivered.add(observation);
        throw new IllegalStateException("sink broke");
      });
      assertEquals(2, log.lines().stream().filter(line -> line.contains("the cgroup sink failed")).count());
    } catch (CgroupUnavailableException e) {
      throw new AssertionError(e);
    }
    assertEquals(2, delivered.size(), "both signals were still handed over");
  }
}
