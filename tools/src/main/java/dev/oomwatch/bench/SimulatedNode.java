package dev.oomwatch.bench;

import dev.oomwatch.lab.PodCgroupV1;
import dev.oomwatch.lab.PodQosClass;
import dev.oomwatch.lab.RunscSandbox;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.testing.EmbeddedCluster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;

/**
 * A node full of gVisor pods as the agent sees it, without running a sandbox for each: the pods in the
 * API stand-in (running, on this node, RuntimeClass {@code gvisor}, limited to 64 MiB), for each a real
 * cgroup v1 pod cgroup as kubelet lays it out ({@code /kubepods/burstable/pod<uid>}, limited to 64 MiB)
 * with a sandbox child cgroup (limited too), a process standing in for the sentry in that child cgroup
 * (a {@code sleep}, so that the pid in the state file is alive and in the right cgroup), and a runsc
 * state file in the given runsc root naming all of it. Everything is registered with the
 * {@link Teardown}: the stand-in processes are killed before their cgroups are removed; only cgroups
 * made here are removed. Not thread-safe.
 */
final class SimulatedNode {
  static final long LIMIT_BYTES = 64L << 20;

  /** One simulated gVisor pod. */
  record SimulatedPod(PodRef pod, String sandboxId, long sentryPid) {}

  private final String nodeName;
  private final Path runscRoot;
  private final List<SimulatedPod> pods;

  private SimulatedNode(String nodeName, Path runscRoot, List<SimulatedPod> pods) {
    this.nodeName = nodeName;
    this.runscRoot = runscRoot;
    this.pods = pods;
  }

  /** Lays out {@code count} pods of node {@code nodeName}. */
  static SimulatedNode lay(EmbeddedCluster cluster, String nodeName, int count, Path cgroupRoot, Path runscRoot,
      Teardown teardown) throws IOException, InterruptedException {
    Files.createDirectories(runscRoot);
    List<SimulatedPod> pods = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      PodRef pod = cluster.createRunningPod("default", nodeName + "-" + i, nodeName, Bench.RUNTIME_CLASS, "app", "64Mi");
      PodCgroupV1 podCgroup = teardown.add(PodCgroupV1.create(cgroupRoot, pod.uid(), PodQosClass.BURSTABLE,
          OptionalLong.of(LIMIT_BYTES)));
      String sandboxId = RunscSandbox.newSandboxId();
      Path sandboxCgroup = Files.createDirectory(podCgroup.sandboxMemoryDirectory(sandboxId));
      Files.writeString(sandboxCgroup.resolve("memory.limit_in_bytes"), Long.toString(LIMIT_BYTES));
      Process sentry = new ProcessBuilder("sleep", "infinity")
          .redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .redirectError(ProcessBuilder.Redirect.DISCARD)
          .start();
      teardown.add(() -> {
        sentry.destroyForcibly();
        sentry.waitFor(10, TimeUnit.SECONDS);
      });
      Files.writeString(sandboxCgroup.resolve("cgroup.procs"), Long.toString(sentry.pid()));
      RunscStateFiles.write(runscRoot, sandboxId, pod, sentry.pid(), sentry.pid(),
          podCgroup.sandboxCgroupsPath(sandboxId));
      pods.add(new SimulatedPod(pod, sandboxId, sentry.pid()));
    }
    return new SimulatedNode(nodeName, runscRoot, List.copyOf(pods));
  }

  String nodeName() {
    return nodeName;
  }

  Path runscRoot() {
    return runscRoot;
  }

  List<SimulatedPod> pods() {
    return pods;
  }
}
