package dev.oomwatch.source.cgroup;

import static dev.oomwatch.source.cgroup.CgroupFixtures.V2_POD_UID;
import static dev.oomwatch.source.cgroup.CgroupFixtures.watched;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.model.CgroupOomSignal;
import dev.oomwatch.model.CgroupPolled;
import dev.oomwatch.model.Observation;
import dev.oomwatch.model.WatchedPod;
import dev.oomwatch.source.SourceHealth;
import dev.oomwatch.source.SourceHealth.State;
import dev.oomwatch.source.cgroup.CgroupFixtures.Phase;
import dev.oomwatch.source.cgroup.CgroupFixtures.V2Layout;
import dev.oomwatch.testing.Await;
import dev.oomwatch.testing.CapturedLog;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link CgroupSource} with its thread: health, recovery, stats and the contract of {@code Source}. */
class CgroupSourceTest {

  private static final Duration FAST = Duration.ofMillis(10);
  private static final String ADVICE =
      "mount the host's /sys/fs/cgroup (read-only is enough) and pass its path with --cgroup-root";

  @TempDir Path root;
  /** What the source sent, but the marker that closes each poll. */
  private final List<Observation> sunk = new CopyOnWriteArrayList<>();
  /** Everything it sent, in order. */
  private final List<Observation> all = new CopyOnWriteArrayList<>();
  private CgroupSource source;

  private void collect(Observation observation) {
    all.add(observation);
    if (!(observation instanceof CgroupPolled)) {
      sunk.add(observation);
    }
  }

  @AfterEach
  void closeSource() {
    if (source != null) {
      source.close();
    }
  }

  private CgroupSource fast(Path cgroupRoot, Supplier<Collection<WatchedPod>> pods) {
    source = new CgroupSource(cgroupRoot, pods, FAST, 0.9);
    return source;
  }

  @Test
  void reportsAKillFromItsThreadAndStaysLive() {
    CgroupFixtures.layV2(root, V2Layout.SYSTEMD_BURSTABLE, Phase.RUNNING);
    fast(root, () -> List.of(watched(V2_POD_UID)));
    assertEquals(State.STARTING, source.health().state());
    assertEquals("cgroup", source.name());
    assertTrue(source.oomCapable());
    source.start(this::collect);
    // the counters rise during the poll, the health after it
    Await.orFail("a baseline poll", () -> source.stats().cgroupsRead() >= 2 && source.health().live());
    assertEquals(new SourceHealth("cgroup", State.LIVE, "reading memory cgroups under " + root
        + " (cgroup v2, systemd driver) every 10 ms"), source.health());
    assertEquals(List.of(), sunk);

    CgroupFixtures.moveV2(root, V2Layout.SYSTEMD_BURSTABLE, Phase.AFTER_KILL);
    Await.orFail("the kill", () -> sunk.size() == 2);
    CgroupOomSignal kill = (CgroupOomSignal) sunk.get(0);
    assertEquals(CgroupOomSignal.Kind.OOM_KILL, kill.kind());
    assertEquals("eeee5555ffff6666", kill.sandboxId().orElseThrow());
    assertEquals(2, source.stats().signalsEmitted());
    assertEquals(1, source.stats().podsWatched());
    assertEquals(2, source.layout().orElseThrow().version());

    // the poll that saw the kill is closed by a marker after its signals, stamped no later than they
    Await.orFail("the poll's marker", () -> all.indexOf(sunk.get(1)) < all.size() - 1);
    Observation next = all.get(all.indexOf(sunk.get(1)) + 1);
    assertTrue(next instanceof CgroupPolled, "after the poll's signals: " + next);
    assertTrue(!((CgroupPolled) next).startedAt().isAfter(kill.snapshot().sampledAt()), next + " vs " + kill);
  }

  @Test
  void aMissingRootFailsWithOneWarningAndIsPolledUntilItAppears() {
    Path missing = root.resolve("host/sys/fs/cgroup");
    try (CapturedLog log = new CapturedLog()) {
      fast(missing, List::of).start(this::collect);
      Await.orFail("several failed polls", () -> source.stats().failedPolls() >= 5);
      String sentence = "cannot read the cgroup root " + missing + ": no such directory; " + ADVICE;
      assertEquals(new SourceHealth("cgroup", State.FAILED, sentence), source.health());
      List<String> warnings = log.lines().stream().filter(line -> line.contains("WARN")).toList();
      assertEquals(1, warnings.size(), () -> "expected one WARN, got " + warnings);
      assertTrue(warnings.get(0).endsWith(sentence), warnings.get(0));
    }

    CgroupFixtures.layV1(missing, "cgroup-running", "cgroup-running");
    Await.orFail("the source to read the tree once it exists", () -> source.health().live());
    assertEquals(1, source.layout().orElseThrow().version());
    assertEquals(0, source.stats().podsWatched());
  }

  @Test
  void aTreeWithoutMemoryControllerFails() {
    CgroupFixtures.write(root.resolve("cgroup.controllers"), "cpuset cpu io pids\n");
    fast(root, List::of).start(this::collect);
    Await.orFail("a failed poll", () -> source.stats().failedPolls() >= 1);
    assertEquals(new SourceHealth("cgroup", State.FAILED, "no memory cgroup controller under " + root + ": "
        + ADVICE), source.health());
  }

  @Test
  void aFailingPollIsCountedAndPollingGoesOn() {
    CgroupFixtures.layV2(root, V2Layout.CGROUPFS_BURSTABLE, Phase.RUNNING);
    AtomicReference<RuntimeException> failure = new AtomicReference<>(new IllegalStateException("informer broke"));
    try (CapturedLog log = new CapturedLog()) {
      fast(root, () -> {
        RuntimeException e = failure.get();
        if (e != null) {
          throw e;
        }
        return List.of(watched(V2_POD_UID));
      }).start(this::collect);
      Await.orFail("several failed polls", () -> source.stats().failedPolls() >= 3);
      assertEquals(State.FAILED, source.health().state());
      assertEquals("polling the memory cgroups under " + root + " failed: java.lang.IllegalStateException:"
          + " informer broke; retrying every 10 ms", source.health().detail());
    }

    failure.set(null);
    Await.orFail("a good poll", () -> source.health().live() && source.stats().cgroupsRead() >= 2);
    CgroupFixtures.moveV2(root, V2Layout.CGROUPFS_BURSTABLE, Phase.AFTER_KILL);
    Await.orFail("the kill", () -> sunk.size() == 2);
  }

  @Test
  void aFailingSinkDoesNotStopTheSource() {
    CgroupFixtures.layV2(root, V2Layout.CGROUPFS_BURSTABLE, Phase.RUNNING);
    fast(root, () -> List.of(watched(V2_POD_UID))).start(observation -> {
      collect(observation);
      throw new IllegalStateException("sink broke");
    });
    Await.orFail("a baseline", () -> source.stats().cgroupsRead() >= 2);
    try (CapturedLog log = new CapturedLog()) {
      CgroupFixtures.moveV2(root, V2Layout.CGROUPFS_BURSTABLE, Phase.AFTER_KILL);
      Await.orFail("both signals", () -> sunk.size() == 2);
      long polls = source.stats().polls();
      Await.orFail("more polls", () -> source.stats().polls() > polls + 2);
      assertEquals(2, log.lines().stream()
          .filter(line -> line.contains("the cgroup sink failed on CgroupOomSignal")).count());
      assertTrue(log.lines().stream().anyMatch(line -> line.contains("the cgroup sink failed on CgroupPolled")));
    }
    assertEquals(0, source.stats().failedPolls());
    assertTrue(source.health().live());
  }

  @Test
  void startsOnceClosesIdempotentlyAndIsSilentAfterClose() {
    CgroupFixtures.layV2(root, V2Layout.CGROUPFS_BURSTABLE, Phase.RUNNING);
    fast(root, () -> List.of(watched(V2_POD_UID))).start(this::collect);
    assertThrows(IllegalStateException.class, () -> source.start(this::collect));
    Await.orFail("a poll", () -> source.stats().polls() >= 1);
    source.close();
    source.close();
    long polls = source.stats().polls();
    CgroupFixtures.moveV2(root, V2Layout.CGROUPFS_BURSTABLE, Phase.AFTER_KILL);
    assertEquals(polls, source.stats().polls(), "the thread has stopped");
    assertEquals(List.of(), sunk);
    assertThrows(IllegalStateException.class, () -> source.start(this::collect));
  }

  @Test
  void rejectsNonsenseSettings() {
    assertThrows(IllegalArgumentException.class, () -> new CgroupSource(root, List::of, Duration.ZERO, 0.9));
    assertThrows(IllegalArgumentException.class, () -> new CgroupSource(root, List::of, FAST, 0));
    assertThrows(IllegalArgumentException.class, () -> new CgroupSource(root, List::of, FAST, 1.5));
    assertThrows(IllegalArgumentException.class, () -> new CgroupSource(root, List::of, FAST, Double.NaN));
  }
}
