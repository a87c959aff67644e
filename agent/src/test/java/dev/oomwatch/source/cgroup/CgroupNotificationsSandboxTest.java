package dev.oomwatch.source.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.lab.LabScenario;
import dev.oomwatch.lab.PodQosClass;
import dev.oomwatch.lab.SandboxTestSupport;
import dev.oomwatch.lab.SandboxWorkload;
import dev.oomwatch.model.CgroupOomSignal;
import dev.oomwatch.model.CgroupOomSignal.Kind;
import dev.oomwatch.model.Observation;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.model.WatchedPod;
import dev.oomwatch.testing.Await;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * cgroup v1 OOM notifications on this machine's real memory cgroups: a real runsc sandbox OOM-killed
 * at its pod's 64 MiB limit is counted within moments although the poll runs every 30 s (so only a
 * notification can have made the cgroups be read); registrations follow the pods without leaking a
 * descriptor; a removed cgroup releases its registration and is not taken for an OOM; a read-only
 * mount leaves every pod to the poll, said by the failure counter and the active flag.
 */
@Tag("sandbox")
class CgroupNotificationsSandboxTest {

  private static final Logger log = LoggerFactory.getLogger(CgroupNotificationsSandboxTest.class);
  private static final Path MEMORY_ROOT = CgroupSource.HOST_CGROUP_ROOT.resolve("memory");
  private static final Duration LONG_POLL = Duration.ofSeconds(30);
  private static final long LIMIT_BYTES = 64L * 1024 * 1024;
  private static final Duration ALLOCATE_AFTER = Duration.ofSeconds(3);

  @Test
  void aRealSandboxOomIsCountedLongBeforeTheNextPoll() throws Exception {
    SandboxTestSupport.requirePrerequisites(false);
    PodRef pod = new PodRef("default", "oom-notify", UUID.randomUUID().toString());
    WatchedPod watched = new WatchedPod(pod, "gvisor", OptionalLong.of(LIMIT_BYTES));
    List<Observation> sunk = new CopyOnWriteArrayList<>();
    try (CgroupSource source = new CgroupSource(CgroupSource.HOST_CGROUP_ROOT, () -> List.of(watched), LONG_POLL,
        CgroupSource.DEFAULT_NEAR_LIMIT_SHARE, true);
        LabScenario scenario = LabScenario.builder().pod(pod).qos(PodQosClass.BURSTABLE).memoryLimitMib(64)
            .workload(SandboxWorkload.allocatePastLimit(512, ALLOCATE_AFTER)).start()) {
      long started = System.nanoTime();
      source.start(sunk::add);
      Await.orFail("the pod cgroup's notification registered", source::notificationsActive);
      assertEquals(1, source.stats().podsWatched());

      Await.orFail("the kill counted", () -> sunk.stream().anyMatch(CgroupNotificationsSandboxTest::isKill),
          () -> "notifications " + source.notificationsReceived() + ", stats " + source.stats(),
          LONG_POLL.minusSeconds(5));
      long elapsedMillis = (System.nanoTime() - started) / 1_000_000;
      log.info("kill counted {} ms after the start, {} polls, {} notification(s)", elapsedMillis,
          source.stats().polls(), source.notificationsReceived());
      assertTrue(source.notificationsReceived() >= 1, "no notification came");
      assertTrue(elapsedMillis < LONG_POLL.toMillis(), "counted by the regular poll, not a notification");
      assertTrue(scenario.sandbox().awaitStopped(SandboxTestSupport.STOP_TIMEOUT));
    }
  }

  @Test
  void registrationsFollowThePodsAndLeakNoDescriptor() throws Exception {
    SandboxTestSupport.requirePrerequisites(false);
    Path parent = Files.createDirectory(MEMORY_ROOT.resolve("oomwatch-notify-" + UUID.randomUUID()));
    AtomicInteger wakeups = new AtomicInteger();
    try {
      List<Path> cgroups = new ArrayList<>();
      for (int i = 0; i < 40; i++) {
        cgroups.add(Files.createDirectory(parent.resolve("pod" + i)));
      }
      CgroupLayout layout = CgroupLayout.detect(CgroupSource.HOST_CGROUP_ROOT);
      // once, so that JNA and its library are loaded before the count
      try (CgroupNotifications warmUp = new CgroupNotifications(true, () -> {}, LONG_POLL)) {
        warmUp.follow(layout, Set.of(cgroups.get(0)));
        Await.orFail("one registration", warmUp::active);
      }
      long before = openDescriptors();

      try (CgroupNotifications notifications = new CgroupNotifications(true, wakeups::incrementAndGet, LONG_POLL)) {
        for (int round = 0; round < 3; round++) {
          notifications.follow(layout, new HashSet<>(cgroups));
          Await.orFail("40 registrations", () -> registered(notifications) == 40);
          assertTrue(notifications.active());
          notifications.follow(layout, new HashSet<>(cgroups.subList(0, 10)));
          Await.orFail("10 registrations", () -> registered(notifications) == 10);
        }
        // a removed cgroup signals its eventfd: released, and not taken for an OOM
        Files.delete(cgroups.get(0));
        Await.orFail("the removed cgroup released", () -> registered(notifications) == 9);
        assertEquals(0, wakeups.get(), "a removal woke the poller");
        assertEquals(0, notifications.received());
      }
      assertEquals(before, openDescriptors(), "descriptors before and after");
    } finally {
      removeTree(parent);
    }
  }

  @Test
  void aReadOnlyMountLeavesThePodsToThePoll() throws Exception {
    SandboxTestSupport.requirePrerequisites(false);
    Path parent = Files.createDirectory(MEMORY_ROOT.resolve("oomwatch-notify-" + UUID.randomUUID()));
    Path mount = Files.createTempDirectory("oomwatch-ro-cgroup");
    boolean mounted = false;
    try {
      Files.createDirectory(parent.resolve("pod0"));
      run("mount", "--bind", MEMORY_ROOT.toString(), mount.toString());
      mounted = true;
      run("mount", "-o", "remount,bind,ro", mount.toString());
      CgroupLayout layout = CgroupLayout.detect(mount);
      try (CgroupNotifications notifications = new CgroupNotifications(true, () -> {}, LONG_POLL)) {
        notifications.follow(layout, Set.of(mount.resolve(parent.getFileName()).resolve("pod0")));
        Await.orFail("the failure counted", () -> notifications.failures(CgroupNotifications.READ_ONLY) == 1);
        assertFalse(notifications.active());
      }
    } finally {
      if (mounted) {
        run("umount", mount.toString());
      }
      Files.deleteIfExists(mount);
      removeTree(parent);
    }
  }

  private static boolean isKill(Observation observation) {
    return observation instanceof CgroupOomSignal s && s.kind() == Kind.OOM_KILL;
  }

  private static int registered(CgroupNotifications notifications) {
    return notifications.registered();
  }

  private static long openDescriptors() throws IOException {
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      return fds.count();
    }
  }

  private static void run(String... command) throws IOException, InterruptedException {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes());
    if (process.waitFor() != 0) {
      throw new IOException(String.join(" ", command) + " failed: " + output);
    }
  }

  private static void removeTree(Path parent) throws IOException {
    try (Stream<Path> children = Files.list(parent)) {
      for (Path child : children.filter(Files::isDirectory).toList()) {
        Files.deleteIfExists(child);
      }
    }
    Files.deleteIfExists(parent);
  }
}
