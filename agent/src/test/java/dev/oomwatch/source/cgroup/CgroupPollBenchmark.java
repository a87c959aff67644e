package dev.oomwatch.source.cgroup;

import dev.oomwatch.model.Observation;
import dev.oomwatch.model.WatchedPod;
import dev.oomwatch.source.cgroup.CgroupFixtures.Phase;
import dev.oomwatch.source.cgroup.CgroupFixtures.V2Layout;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * What polling costs: lays out {@code pods} pod cgroups, each with one sandbox cgroup, and times
 * {@code polls} polls of all of them after a warm-up, reporting wall time, this thread's CPU time and
 * the bytes it allocated, per poll. Not a test (nothing here asserts a time); run it by hand:
 *
 * <pre>
 * mvn -o -q -Dbuild.dir=target-cgroup test-compile
 * mvn -o -q -Dbuild.dir=target-cgroup dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt
 * java -cp target-cgroup/test-classes:target-cgroup/classes:$(cat /tmp/cp.txt) \
 *     dev.oomwatch.source.cgroup.CgroupPollBenchmark [pods=110] [polls=2000] [tree=v1|v2|kernel-v1]
 * </pre>
 *
 * Trees: {@code v1} and {@code v2} copy the real captures into a temporary directory (the files then
 * are plain files of the temporary file system); {@code kernel-v1} makes real cgroups in this
 * machine's v1 memory hierarchy (root only) under {@code /sys/fs/cgroup/memory/oomwatch-bench-<pid>},
 * so the kernel generates every file read, as on a node, and removes them afterwards.
 */
public final class CgroupPollBenchmark {

  private CgroupPollBenchmark() {}

  public static void main(String[] args) throws Exception {
    int pods = args.length > 0 ? Integer.parseInt(args[0]) : 110;
    int polls = args.length > 1 ? Integer.parseInt(args[1]) : 2000;
    String tree = args.length > 2 ? args[2] : "v1";
    System.out.println(run(pods, polls, tree));
  }

  /** Runs the benchmark and returns its one-line report. */
  static String run(int podCount, int polls, String tree) throws Exception {
    Path root = Files.createTempDirectory("oomwatch-cgroup-bench-");
    Path kernelTree = null;
    try {
      List<WatchedPod> pods = new ArrayList<>();
      for (int i = 0; i < podCount; i++) {
        pods.add(CgroupFixtures.watched(new UUID(0x1234_5678_0000_4000L, 0x8000_0000_0000_0000L + i).toString()));
      }
      switch (tree) {
        case "v1" -> layV1(root, pods);
        case "v2" -> layV2(root, pods);
        case "kernel-v1" -> kernelTree = layKernelV1(root, pods);
        default -> throw new IllegalArgumentException("tree is v1, v2 or kernel-v1: " + tree);
      }
      PollCounters counters = new PollCounters();
      CgroupPoller poller = new CgroupPoller(root, 0.9, Clock.systemUTC(), counters);
      Consumer<Observation> sink = observation -> {};
      for (int i = 0; i < Math.max(100, polls / 10); i++) {
        poller.poll(pods, sink);
      }
      com.sun.management.ThreadMXBean threads =
          (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
      long thread = Thread.currentThread().getId();
      long readBefore = counters.cgroupsRead.get();
      long allocatedBefore = threads.getThreadAllocatedBytes(thread);
      long cpuBefore = threads.getCurrentThreadCpuTime();
      long wallBefore = System.nanoTime();
      for (int i = 0; i < polls; i++) {
        poller.poll(pods, sink);
      }
      long wall = System.nanoTime() - wallBefore;
      long cpu = threads.getCurrentThreadCpuTime() - cpuBefore;
      long allocated = threads.getThreadAllocatedBytes(thread) - allocatedBefore;
      long cgroupsPerPoll = (counters.cgroupsRead.get() - readBefore) / polls;
      double cpuMicros = cpu / 1000.0 / polls;
      return String.format(Locale.ROOT,
          "%s tree, %d pods (%d cgroups read per poll), %d polls: %.1f us wall, %.1f us CPU, %d bytes"
              + " allocated per poll; at one poll a second: %.3f %% of one core",
          tree, podCount, cgroupsPerPoll, polls, wall / 1000.0 / polls, cpuMicros, allocated / polls,
          cpuMicros / 1_000_000 * 100);
    } finally {
      if (kernelTree != null) {
        removeKernelTree(kernelTree);
      }
      CgroupFixtures.deleteTree(root);
    }
  }

  private static void layV1(Path root, List<WatchedPod> pods) {
    Path memory = root.resolve("memory");
    CgroupFixtures.write(memory.resolve("memory.limit_in_bytes"), CgroupFixtures.V1_NO_LIMIT);
    for (WatchedPod pod : pods) {
      Path dir = memory.resolve("kubepods/burstable/pod" + pod.ref().uid());
      CgroupFixtures.copyTree(CgroupFixtures.resource(CgroupFixtures.V1 + "/cgroup-running/pod"), dir);
      CgroupFixtures.copyTree(CgroupFixtures.resource(CgroupFixtures.V1 + "/cgroup-running/sandbox"),
          dir.resolve(sandboxId(pod)));
      addV1ControlFiles(dir);
      addV1ControlFiles(dir.resolve(sandboxId(pod)));
    }
  }

  /** The other files a v1 memory cgroup has, so that listing a pod cgroup costs what it does on a node. */
  private static void addV1ControlFiles(Path dir) {
    for (String name : List.of("cgroup.clone_children", "cgroup.event_control", "cgroup.procs",
        "memory.force_empty", "memory.kmem.failcnt", "memory.kmem.limit_in_bytes",
        "memory.kmem.max_usage_in_bytes", "memory.kmem.slabinfo", "memory.kmem.tcp.failcnt",
        "memory.kmem.tcp.limit_in_bytes", "memory.kmem.tcp.max_usage_in_bytes",
        "memory.kmem.tcp.usage_in_bytes", "memory.kmem.usage_in_bytes", "memory.memsw.failcnt",
        "memory.memsw.limit_in_bytes", "memory.memsw.max_usage_in_bytes", "memory.memsw.usage_in_bytes",
        "memory.move_charge_at_immigrate", "memory.numa_stat", "memory.pressure_level",
        "memory.soft_limit_in_bytes", "memory.swappiness", "memory.use_hierarchy", "notify_on_release",
        "tasks")) {
      if (!Files.exists(dir.resolve(name))) {
        CgroupFixtures.write(dir.resolve(name), "0\n");
      }
    }
  }

  private static void layV2(Path root, List<WatchedPod> pods) {
    CgroupFixtures.write(root.resolve("cgroup.controllers"), CgroupFixtures.V2_ROOT_CONTROLLERS);
    V2Layout layout = V2Layout.CGROUPFS_BURSTABLE;
    Path capture = CgroupFixtures.resource(CgroupFixtures.V2 + "/" + layout.directory + "/"
        + Phase.RUNNING.directory + layout.podCgroup);
    for (WatchedPod pod : pods) {
      Path dir = root.resolve("kubepods/burstable/pod" + pod.ref().uid());
      CgroupFixtures.copyTree(capture, dir);
      try {
        Files.move(dir.resolve(layout.sandboxChild), dir.resolve(sandboxId(pod)));
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  /** Real v1 cgroups; {@code root/memory} links to their own hierarchy directory. */
  private static Path layKernelV1(Path root, List<WatchedPod> pods) throws IOException {
    Path hierarchy = Path.of("/sys/fs/cgroup/memory/oomwatch-bench-" + ProcessHandle.current().pid());
    Files.createDirectory(hierarchy);
    Files.createSymbolicLink(root.resolve("memory"), hierarchy);
    Files.createDirectories(hierarchy.resolve("kubepods/burstable"));
    for (WatchedPod pod : pods) {
      Path dir = Files.createDirectory(hierarchy.resolve("kubepods/burstable/pod" + pod.ref().uid()));
      Files.writeString(dir.resolve("memory.limit_in_bytes"), Long.toString(64L << 20));
      Files.createDirectory(dir.resolve(sandboxId(pod)));
    }
    return hierarchy;
  }

  private static void removeKernelTree(Path hierarchy) throws IOException {
    // rmdir, deepest first; cgroup directories hold only control files, which rmdir ignores.
    List<Path> dirs;
    try (Stream<Path> paths = Files.walk(hierarchy)) {
      dirs = paths.filter(Files::isDirectory).sorted(Comparator.reverseOrder()).toList();
    }
    for (Path dir : dirs) {
      Files.delete(dir);
    }
  }

  private static String sandboxId(WatchedPod pod) {
    return "ac7db26d411afc3a918811dafa6906ea333fc6621f7f6ea0f772" + pod.ref().uid().substring(24);
  }
}
