package dev.oomwatch.e2e.deployed;

import dev.oomwatch.lab.LabScenario;
import dev.oomwatch.lab.PodQosClass;
import dev.oomwatch.lab.SandboxWorkload;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.testing.DemoEnvironment;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A gVisor pod that sits at its memory limit and does not die: its runsc sandbox sleeps, and a plain
 * host process in the pod's memory cgroup (as a second container's process would be) writes files on
 * disk through the page cache in a loop. Page cache is reclaimable, so each charge past the limit
 * reclaims instead of OOM-killing: {@code memory.failcnt} rises and usage stays at the limit while
 * nothing is killed. The files are written synchronously ({@code oflag=dsync}), so the cache holds clean
 * pages (dirty ones could not be reclaimed and would make a real OOM), and rewritten with truncation,
 * alternating two files, so each round charges anew while the other file's pages keep the cgroup full.
 *
 * <p>{@link #close} kills the writer and removes its files; the sandbox and the pod cgroup belong to
 * the {@link DemoEnvironment} that made them. Not thread-safe.
 */
final class HeldPod implements AutoCloseable {
  /** Per file and round: more than the room the sleeping sandbox (~15 MiB) leaves in 64 MiB. */
  private static final int WRITE_MIB = 72;

  private final PodRef pod;
  private final LabScenario scenario;
  private final Process writer;
  private final Path diskDir;

  private HeldPod(PodRef pod, LabScenario scenario, Process writer, Path diskDir) {
    this.pod = pod;
    this.scenario = scenario;
    this.writer = writer;
    this.diskDir = diskDir;
  }

  /**
   * Creates the pod {@code name} limited to {@code limitMib}, its sleeping sandbox, and the writer, whose
   * files go to {@code diskDir} (on disk, not a tmpfs).
   */
  static HeldPod start(DemoEnvironment env, String name, long limitMib, Path diskDir) throws IOException {
    PodRef pod = env.createGvisorPod(name, limitMib);
    LabScenario scenario = env.runSandbox(pod, PodQosClass.BURSTABLE, limitMib, SandboxWorkload.sleepForever());
    Files.createDirectories(diskDir);
    String procs = scenario.podCgroup().memoryDirectory().resolve("cgroup.procs").toString();
    String loop = "while :; do for f in a b; do dd if=/dev/zero of=" + NamespacedAgent.q(diskDir.toString())
        + "/$f bs=1M count=" + WRITE_MIB + " oflag=dsync 2>/dev/null; sleep 2; done; done";
    // the shell joins the pod's memory cgroup first, then becomes the loop: everything it starts is charged there
    Process writer = new ProcessBuilder("sh", "-c", "echo $$ > " + NamespacedAgent.q(procs) + " && exec sh -c "
        + NamespacedAgent.q(loop))
        .redirectErrorStream(true)
        .redirectOutput(diskDir.resolve("writer.log").toFile())
        .start();
    return new HeldPod(pod, scenario, writer, diskDir);
  }

  PodRef pod() {
    return pod;
  }

  LabScenario scenario() {
    return scenario;
  }

  boolean writerAlive() {
    return writer.isAlive();
  }

  long failCount() throws IOException {
    return scenario.podCgroup().memoryFailCount();
  }

  long usageBytes() throws IOException {
    return scenario.podCgroup().memoryUsageBytes();
  }

  long limitBytes() throws IOException {
    return scenario.podCgroup().memoryLimitBytes();
  }

  /** The pod cgroup's {@code oom_kill} count ({@code memory.oom_control}): kills in it or below it. */
  long oomKills() throws IOException {
    for (String line : Files.readAllLines(scenario.podCgroup().memoryDirectory().resolve("memory.oom_control"))) {
      if (line.startsWith("oom_kill ")) {
        return Long.parseLong(line.substring("oom_kill ".length()).strip());
      }
    }
    throw new IOException("no oom_kill line in memory.oom_control of " + pod);
  }

  /**
   * Kills the writer and whatever it runs (every process left directly in the pod cgroup: the sandbox
   * is in a cgroup below it) and removes its files.
   */
  @Override
  public void close() throws IOException, InterruptedException {
    writer.destroyForcibly();
    writer.waitFor(30, TimeUnit.SECONDS);
    Path procs = scenario.podCgroup().memoryDirectory().resolve("cgroup.procs");
    if (Files.exists(procs)) {
      for (String pid : Files.readAllLines(procs)) {
        if (!pid.isBlank()) {
          ProcessHandle.of(Long.parseLong(pid.strip())).ifPresent(ProcessHandle::destroyForcibly);
        }
      }
    }
    for (String file : new String[] {"a", "b", "writer.log"}) {
      Files.deleteIfExists(diskDir.resolve(file));
    }
    Files.deleteIfExists(diskDir);
  }
}
