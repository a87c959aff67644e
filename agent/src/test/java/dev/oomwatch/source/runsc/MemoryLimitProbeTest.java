package dev.oomwatch.source.runsc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MemoryLimitProbeTest {

  private static final String V2_POD = "/kubepods/burstable/pod" + RunscFixtures.V2_POD_UID;
  private static final String SYSTEMD_POD = "/kubepods.slice/kubepods-burstable.slice/"
      + "kubepods-burstable-pod" + RunscFixtures.V2_POD_UID.replace('-', '_') + ".slice";

  @TempDir Path dir;

  private static MemoryCgroup v1(String path) {
    return new MemoryCgroup(MemoryCgroup.Version.V1, path);
  }

  private static MemoryCgroup v2(String path) {
    return new MemoryCgroup(MemoryCgroup.Version.V2, path);
  }

  /** The captured v1 pod and sandbox cgroups, laid out where they were: pod<uid>/<sandbox-id>. */
  private Path v1Tree() throws IOException {
    Path pod = dir.resolve("memory").resolve(RunscFixtures.V1_CGROUP.substring(1)).getParent();
    copy(RunscFixtures.path("cgroupv1/cgroup-running/pod"), pod);
    copy(RunscFixtures.path("cgroupv1/cgroup-running/sandbox"),
        pod.resolve(RunscFixtures.V1_SANDBOX_ID));
    return pod;
  }

  private static void copy(Path from, Path to) throws IOException {
    Files.createDirectories(to);
    try (var files = Files.list(from)) {
      for (Path file : files.toList()) {
        Files.copy(file, to.resolve(file.getFileName().toString()), StandardCopyOption.COPY_ATTRIBUTES);
      }
    }
  }

  @Test
  void v1SandboxInALimitedPodCgroupIsLimited() throws IOException {
    v1Tree();
    MemoryLimitProbe.Finding finding = new MemoryLimitProbe(dir).check(v1(RunscFixtures.V1_CGROUP));
    assertEquals(new MemoryLimitProbe.Limited(
        RunscFixtures.V1_CGROUP.substring(0, RunscFixtures.V1_CGROUP.lastIndexOf('/')), 67108864),
        finding);
  }

  @Test
  void v1SandboxWhosePodIsUnlimitedTooIsUnlimited() throws IOException {
    Path pod = v1Tree();
    // the sandbox's own captured value: what the kernel shows for "no limit"
    Files.copy(pod.resolve(RunscFixtures.V1_SANDBOX_ID).resolve("memory.limit_in_bytes"),
        pod.resolve("memory.limit_in_bytes"), StandardCopyOption.REPLACE_EXISTING);
    for (Path parent = pod.getParent(); !parent.equals(dir.resolve("memory"));
        parent = parent.getParent()) {
      Files.writeString(parent.resolve("memory.limit_in_bytes"), "9223372036854771712\n");
    }
    assertEquals(new MemoryLimitProbe.Unlimited(),
        new MemoryLimitProbe(dir).check(v1(RunscFixtures.V1_CGROUP)));
  }

  @ParameterizedTest
  @ValueSource(strings = {"9223372036854771712", "9223372036854710272", "4611686018427387904"})
  void v1UnlimitedValuesOfEveryPageSize(String value) throws IOException {
    Path cgroup = Files.createDirectories(dir.resolve("memory/outside"));
    Files.writeString(cgroup.resolve("memory.limit_in_bytes"), value + "\n");
    assertEquals(new MemoryLimitProbe.Unlimited(), new MemoryLimitProbe(dir).check(v1("/outside")));
  }

  @Test
  void v2CgroupfsSandboxFindsThePodsLimit() {
    MemoryLimitProbe probe = new MemoryLimitProbe(
        RunscFixtures.path("cgroupv2/cgroupfs-burstable/running"));
    assertEquals(new MemoryLimitProbe.Limited(V2_POD, 67108864),
        probe.check(v2(V2_POD + "/aaaa1111bbbb2222")));
  }

  @Test
  void v2SystemdSandboxFindsTheSlicesLimit() {
    MemoryLimitProbe probe = new MemoryLimitProbe(
        RunscFixtures.path("cgroupv2/systemd-burstable/running"));
    assertEquals(new MemoryLimitProbe.Limited(SYSTEMD_POD, 67108864),
        probe.check(v2(SYSTEMD_POD + "/cri-containerd-eeee5555ffff6666.scope")));
  }

  @Test
  void v2SandboxOutsideThePodSliceIsUnlimited() throws IOException {
    // systemd driver, old runsc without systemd-cgroup: the sandbox lands in a cgroup of its own
    Path scope = Files.createDirectories(dir.resolve("system.slice/runsc-x.scope"));
    Files.writeString(scope.resolve("memory.max"), "max\n");
    Files.writeString(scope.getParent().resolve("memory.max"), "max\n");
    assertEquals(new MemoryLimitProbe.Unlimited(),
        new MemoryLimitProbe(dir).check(v2("/system.slice/runsc-x.scope")));
  }

  @Test
  void theRootCgroupHasNoLimit() {
    assertEquals(new MemoryLimitProbe.Unlimited(), new MemoryLimitProbe(dir).check(v2("/")));
  }

  @Test
  void aMissingCgroupIsUnknownWithAdvice() {
    MemoryLimitProbe.Finding finding = new MemoryLimitProbe(dir).check(v2("/kubepods/pod1/x"));
    String reason = assertInstanceOf(MemoryLimitProbe.Unknown.class, finding).reason();
    assertTrue(reason.contains("mount the host's"), reason);
  }

  @ParameterizedTest
  @ValueSource(strings = {"/../../kubepods.slice/x.scope", "/a/./b", "/a//b", "relative", "/a/"})
  void pathsOutsideTheNamespaceAreUnknown(String path) {
    assertInstanceOf(MemoryLimitProbe.Unknown.class, new MemoryLimitProbe(dir).check(v2(path)));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "garbage", "-1", "99999999999999999999999", "12 34"})
  void garbageInALimitFileIsUnknown(String content) throws IOException {
    Path cgroup = Files.createDirectories(dir.resolve("a"));
    Files.writeString(cgroup.resolve("memory.max"), content);
    assertInstanceOf(MemoryLimitProbe.Unknown.class, new MemoryLimitProbe(dir).check(v2("/a")));
  }
}
