package dev.oomwatch.source.cgroup;

import static dev.oomwatch.source.cgroup.CgroupFixtures.V2_POD_UID;
import static dev.oomwatch.source.cgroup.CgroupFixtures.watched;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.model.CgroupOomSignal;
import dev.oomwatch.model.Observation;
import dev.oomwatch.source.cgroup.CgroupFixtures.Phase;
import dev.oomwatch.source.cgroup.CgroupFixtures.V2Layout;
import dev.oomwatch.testing.Await;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * cgroup v2 notifications through the JDK's WatchService, on a temporary directory laid out like a
 * pod cgroup: {@code memory.events} written in place is what the kernel's {@code kernfs_notify} looks
 * like to inotify (a modification of that file in the watched directory).
 */
class CgroupV2NotifierTest {

  /** Long enough that no regular poll runs during a test: whatever is read early, a notification caused. */
  private static final Duration LONG_POLL = Duration.ofMinutes(10);
  private static final String QUIET = "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n";

  @TempDir Path root;

  @Test
  void wakesWhenOomOrOomKillRisesAndNotForTheOtherCounters() throws IOException {
    Path busy = pod("busy");
    Path killed = pod("killed");
    AtomicInteger wakeups = new AtomicInteger();
    try (CgroupNotifications notifications = new CgroupNotifications(true, wakeups::incrementAndGet, LONG_POLL)) {
      notifications.follow(v2(), Set.of(busy, killed));
      assertEquals(2, notifications.registered());
      assertTrue(notifications.active());

      // a pod working at its limit: max rises often, and says nothing about a kill
      Files.writeString(busy.resolve("memory.events"), QUIET.replace("max 0", "max 7"));
      Files.writeString(killed.resolve("memory.events"), QUIET.replace("oom 0", "oom 1").replace("oom_kill 0", "oom_kill 1"));
      Await.orFail("the kill's wakeup", () -> wakeups.get() >= 1);
      assertEquals(1, wakeups.get(), "only the kill woke the poller");
      assertEquals(1, notifications.received());

      Files.writeString(killed.resolve("memory.events"), QUIET.replace("oom 0", "oom 2").replace("oom_kill 0", "oom_kill 1"));
      Await.orFail("the next OOM's wakeup", () -> wakeups.get() == 2);
    }
  }

  @Test
  void followsThePodsAndReleasesTheOthers() throws IOException {
    Path one = pod("one");
    Path two = pod("two");
    AtomicInteger wakeups = new AtomicInteger();
    try (CgroupNotifications notifications = new CgroupNotifications(true, wakeups::incrementAndGet, LONG_POLL)) {
      notifications.follow(v2(), Set.of(one, two));
      assertEquals(2, notifications.registered());
      notifications.follow(v2(), Set.of(two));
      assertEquals(1, notifications.registered());
      // gone between the poll and the registration: left to the poll, and not a failure
      notifications.follow(v2(), Set.of(two, root.resolve("gone")));
      assertEquals(1, notifications.registered());
      assertFalse(notifications.active());
      assertEquals(0, notifications.failures(CgroupNotifications.OTHER));

      Files.writeString(one.resolve("memory.events"), QUIET.replace("oom_kill 0", "oom_kill 1"));
      Files.writeString(two.resolve("memory.events"), QUIET.replace("oom_kill 0", "oom_kill 1"));
      Await.orFail("the followed pod's wakeup", () -> wakeups.get() >= 1);
      assertEquals(1, wakeups.get(), "the released pod woke the poller");
    }
  }

  @Test
  void offRegistersNothing() throws IOException {
    Path one = pod("one");
    try (CgroupNotifications notifications = new CgroupNotifications(false, () -> {}, LONG_POLL)) {
      notifications.follow(v2(), Set.of(one));
      assertEquals(0, notifications.registered());
      assertFalse(notifications.active());
    }
  }

  /** The source with a 10-minute poll reports a kill at once: only the notification can have read it. */
  @Test
  void theSourceReportsAKillLongBeforeItsNextPoll() throws IOException {
    CgroupFixtures.layV2(root, V2Layout.CGROUPFS_BURSTABLE, Phase.RUNNING);
    List<Observation> sunk = new CopyOnWriteArrayList<>();
    try (CgroupSource source = new CgroupSource(root, () -> List.of(watched(V2_POD_UID)), LONG_POLL, 0.9, true)) {
      source.start(sunk::add);
      Await.orFail("the pod cgroup's watch", source::notificationsActive);
      assertEquals(1, source.stats().polls());

      // the kill as the fixtures captured it; memory.events is written in place, as the kernel does
      CgroupFixtures.moveV2(root, V2Layout.CGROUPFS_BURSTABLE, Phase.AFTER_KILL);
      Path events = root.resolve(V2Layout.CGROUPFS_BURSTABLE.podCgroup.substring(1)).resolve("memory.events");
      Files.writeString(events, Files.readString(events));

      Await.orFail("the kill", () -> sunk.stream().anyMatch(o -> o instanceof CgroupOomSignal s
          && s.kind() == CgroupOomSignal.Kind.OOM_KILL));
      CgroupOomSignal kill = sunk.stream().filter(CgroupOomSignal.class::isInstance).map(CgroupOomSignal.class::cast)
          .filter(s -> s.kind() == CgroupOomSignal.Kind.OOM_KILL).findFirst().orElseThrow();
      assertEquals(Optional.of(V2Layout.CGROUPFS_BURSTABLE.sandboxId), kill.sandboxId());
      assertTrue(source.notificationsReceived() >= 1);
      // the notification's poll counted the kill: the burst ended there (no 10-minute poll came)
      assertTrue(source.stats().polls() >= 2, source.stats().toString());
    }
  }

  private CgroupLayout v2() {
    return new CgroupLayout(2, root, Optional.empty());
  }

  private Path pod(String name) throws IOException {
    Path pod = Files.createDirectories(root.resolve(name));
    Files.writeString(pod.resolve("memory.events"), QUIET);
    return pod;
  }
}
