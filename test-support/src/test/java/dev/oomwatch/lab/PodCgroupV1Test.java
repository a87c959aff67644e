package dev.oomwatch.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import java.util.UUID;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Pod cgroups on the real cgroup v1 memory hierarchy, in kubelet's cgroupfs layout. */
@Tag("sandbox")
class PodCgroupV1Test {
  private static final Path CGROUP_ROOT = LabPrerequisites.DEFAULT_CGROUP_ROOT;

  @ParameterizedTest
  @EnumSource(PodQosClass.class)
  void createsThePodCgroupWithItsLimitAndRemovesIt(PodQosClass qos) throws Exception {
    SandboxTestSupport.requirePrerequisites(false);
    List<Path> parentsBefore = SandboxTestSupport.cgroupDirectories(qos.parentCgroupPath());
    String uid = UUID.randomUUID().toString();
    PodCgroupV1 pod = PodCgroupV1.create(CGROUP_ROOT, uid, qos, OptionalLong.of(32L << 20));
    try {
      assertEquals(CGROUP_ROOT.resolve("memory" + qos.parentCgroupPath() + "/pod" + uid),
          pod.memoryDirectory());
      assertTrue(Files.isDirectory(pod.memoryDirectory()));
      assertEquals(32L << 20, pod.memoryLimitBytes());
      assertEquals(0, pod.memoryFailCount());
      assertEquals(qos.parentCgroupPath() + "/pod" + uid + "/sid", pod.sandboxCgroupsPath("sid"));
    } finally {
      pod.close();
    }
    pod.close(); // idempotent

    assertEquals(List.of(), SandboxTestSupport.cgroupDirectories(pod.cgroupPath()));
    assertEquals(parentsBefore, SandboxTestSupport.cgroupDirectories(qos.parentCgroupPath()));
  }

  @Test
  void neverTakesOverAnExistingPodCgroup() throws Exception {
    SandboxTestSupport.requirePrerequisites(false);
    String uid = UUID.randomUUID().toString();
    try (PodCgroupV1 first = PodCgroupV1.create(CGROUP_ROOT, uid, PodQosClass.BURSTABLE,
        OptionalLong.empty())) {
      assertThrows(FileAlreadyExistsException.class, () -> PodCgroupV1.create(CGROUP_ROOT, uid,
          PodQosClass.BURSTABLE, OptionalLong.empty()));
      assertTrue(Files.isDirectory(first.memoryDirectory()));
    }
  }
}
