package dev.oomwatch.source.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.oomwatch.model.Observation;
import dev.oomwatch.model.WatchedPod;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reading the kernel's own cgroup files, as on a node: on this machine's cgroup v1 memory hierarchy
 * (root only; skipped elsewhere), in a hierarchy of the test's own. Checks what the file-system
 * captures cannot: that a file kept open and read again from offset 0 gives fresh values, that
 * reading a removed cgroup vanishes instead of failing, and that no file descriptor is left open.
 */
class KernelCgroupFilesTest {

  private static final Path V1_MEMORY = Path.of("/sys/fs/cgroup/memory");

  @TempDir Path root;
  private Path hierarchy;

  @BeforeEach
  void makeHierarchy() throws IOException {
    assumeTrue(Files.isRegularFile(V1_MEMORY.resolve("memory.limit_in_bytes"))
            && Files.isWritable(V1_MEMORY),
        "needs a writable cgroup v1 memory hierarchy at " + V1_MEMORY + " (root on this project's machine)");
    hierarchy = Files.createDirectory(V1_MEMORY.resolve("oomwatch-test-" + UUID.randomUUID()));
    // The cgroup root the source is given: its memory hierarchy is the test's own cgroup.
    Files.createSymbolicLink(root.resolve("memory"), hierarchy);
  }

  @AfterEach
  void removeHierarchy() throws IOException {
    if (hierarchy == null || !Files.exists(hierarchy)) {
      return;
    }
    List<Path> cgroups;
    try (Stream<Path> paths = Files.walk(hierarchy)) {
      cgroups = paths.filter(Files::isDirectory).sorted(Comparator.reverseOrder()).toList();
    }
    for (Path cgroup : cgroups) {
      Files.delete(cgroup);
    }
  }

  @Test
  void aFileKeptOpenGivesFreshValues() throws IOException {
    Path cgroup = Files.createDirectory(hierarchy.resolve("fresh"));
    assertTrue(CgroupFileReader.isKernelCgroupFs(root.resolve("memory")));
    CgroupMemoryReader reader = new CgroupMemoryReader(new PollCounters());
    reader.keepFilesOpen(true);
    try (TrackedCgroup tracked = new TrackedCgroup(1, cgroup, "/fresh", Optional.empty())) {
      assertTrue(reader.readPodCounters(tracked, 1));
      assertEquals(MemoryFileParser.UNLIMITED, tracked.limit);
      assertTrue(tracked.open[TrackedCgroup.LIMIT_SLOT] != null, "kept open");

      Files.writeString(cgroup.resolve("memory.limit_in_bytes"), Long.toString(64L << 20));
      assertTrue(reader.readPodCounters(tracked, 1));
      assertEquals(64L << 20, tracked.limit);
      assertEquals(0, tracked.oomKill);
    }
  }

  @Test
  void removedCgroupsVanishAndTheirFilesAreClosed() throws Exception {
    String uid = UUID.randomUUID().toString();
    Path pod = Files.createDirectories(hierarchy.resolve("kubepods/burstable/pod" + uid));
    Files.writeString(pod.resolve("memory.limit_in_bytes"), Long.toString(64L << 20));
    Path sandbox = Files.createDirectory(pod.resolve("4a5b6c7d8e9f0a1b"));
    PollCounters counters = new PollCounters();
    CgroupPoller poller = new CgroupPoller(root, 0.9, Clock.systemUTC(), counters);
    List<WatchedPod> pods = List.of(CgroupFixtures.watched(uid));
    List<Observation> sunk = new ArrayList<>();

    poller.poll(pods, sunk::add);
    poller.poll(pods, sunk::add);
    assertEquals(5, openFilesUnder(hierarchy), "four files of the pod, one of the sandbox");
    assertEquals(4, counters.cgroupsRead.get());

    // runsc delete: the sandbox cgroup goes while its file is open
    Files.delete(sandbox);
    poller.poll(pods, sunk::add);
    assertEquals(1, counters.filesVanished.get());
    assertEquals(4, openFilesUnder(hierarchy));
    Path next = Files.createDirectory(pod.resolve("0f1e2d3c4b5a6978"));
    poller.poll(pods, sunk::add);
    assertEquals(5, openFilesUnder(hierarchy), "the new sandbox is followed (the pod had no child)");

    Files.delete(next);
    Files.delete(pod);
    poller.poll(pods, sunk::add);
    assertEquals(0, poller.followedPods());
    assertEquals(0, openFilesUnder(hierarchy));
    assertEquals(List.of(), sunk);
    assertEquals(0, counters.parseErrors.get() + counters.readErrors.get());

    Files.createDirectory(pod);
    poller.poll(pods, sunk::add);
    assertEquals(4, openFilesUnder(hierarchy));
    poller.close();
    assertEquals(0, openFilesUnder(hierarchy));
  }

  /** How many of this process's file descriptors are open on files below {@code dir}. */
  private static int openFilesUnder(Path dir) throws IOException {
    int count = 0;
    try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
      for (Path fd : fds) {
        try {
          if (Files.readSymbolicLink(fd).startsWith(dir)) {
            count++;
          }
        } catch (IOException closedMeanwhile) {
          // the directory stream's own descriptor, or one closed since the listing
        }
      }
    }
    return count;
  }
}
