package dev.oomwatch.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PodCgroupLocatorTest {
  private final PodCgroupLocator locator = new PodCgroupLocator();

  @ParameterizedTest(name = "[{index}] {0}")
  @CsvSource(nullValues = "NONE", value = {
      // the cgroup v1 fixture's oom_memcg and task_memcg (kmsg-sandbox-oom.txt)
      "/kubepods/burstable/pod1b2c3d4e-0000-4000-8000-00000000beef, 1b2c3d4e-0000-4000-8000-00000000beef",
      "/kubepods/burstable/pod1b2c3d4e-0000-4000-8000-00000000beef/9f8e7d6c5b4a, 1b2c3d4e-0000-4000-8000-00000000beef",
      // Guaranteed and BestEffort pods
      "/kubepods/pod2d9a6c1e-7f4b-4b8e-a1c3-5e6f7a8b9c0d, 2d9a6c1e-7f4b-4b8e-a1c3-5e6f7a8b9c0d",
      "/kubepods/besteffort/pod2d9a6c1e-7f4b-4b8e-a1c3-5e6f7a8b9c0d/abc, 2d9a6c1e-7f4b-4b8e-a1c3-5e6f7a8b9c0d",
      // systemd driver, burstable and guaranteed
      "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podc9611c80_7e7e_4c28_a30f_6ca723600e4a.slice/cri-containerd-0123.scope, c9611c80-7e7e-4c28-a30f-6ca723600e4a",
      "/kubepods.slice/kubepods-podc9611c80_7e7e_4c28_a30f_6ca723600e4a.slice, c9611c80-7e7e-4c28-a30f-6ca723600e4a",
      // a static pod's uid is a 32-digit config hash
      "/kubepods/burstable/pod0123456789abcdef0123456789abcdef, 0123456789abcdef0123456789abcdef",
      // not pods
      "/ceo-test, NONE",
      "/system.slice/containerd.service, NONE",
      "/, NONE",
      "'', NONE",
      "/kubepods, NONE",
      "/kubepods/burstable, NONE",
      "/elsewhere/pod1b2c3d4e-0000-4000-8000-00000000beef, NONE",
      "/kubepods/burstable/podnot-a-uid, NONE",
  })
  void mapsMemcgToPodUid(String memcg, String expectedUid) {
    assertEquals(Optional.ofNullable(expectedUid), locator.podUid(memcg));
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @CsvSource(nullValues = "NONE", value = {
      // the victim cgroups of the captured kills (task_memcg= in the v1 and v2 kernel logs)
      "/kubepods/burstable/pod1b2c3d4e-0000-4000-8000-00000000beef/9f8e7d6c5b4a, 9f8e7d6c5b4a",
      "/kubepods/burstable/podc9611c80-7e7e-4c28-a30f-6ca723600e4a/aaaa1111bbbb2222, aaaa1111bbbb2222",
      "/kubepods/podc9611c80-7e7e-4c28-a30f-6ca723600e4a/cccc3333dddd4444, cccc3333dddd4444",
      "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podc9611c80_7e7e_4c28_a30f_6ca723600e4a.slice/cri-containerd-eeee5555ffff6666.scope, eeee5555ffff6666",
      "/kubepods/besteffort/podc9611c80-7e7e-4c28-a30f-6ca723600e4a/abab1212cdcd3434, abab1212cdcd3434",
      // a real containerd id, and other runtimes' scopes
      "/kubepods/pod2d9a6c1e-7f4b-4b8e-a1c3-5e6f7a8b9c0d/ac7db26d411afc3a918811dafa6906ea333fc6621f7f6ea0f772502d2d553d6a, ac7db26d411afc3a918811dafa6906ea333fc6621f7f6ea0f772502d2d553d6a",
      "/kubepods.slice/kubepods-podc9611c80_7e7e_4c28_a30f_6ca723600e4a.slice/crio-0123abcd.scope, 0123abcd",
      "/kubepods.slice/kubepods-podc9611c80_7e7e_4c28_a30f_6ca723600e4a.slice/docker-0123abcd.scope, 0123abcd",
      // below the sandbox: still the sandbox
      "/kubepods/burstable/pod1b2c3d4e-0000-4000-8000-00000000beef/9f8e7d6c5b4a/sub, 9f8e7d6c5b4a",
      // the pod cgroup itself, and what is no sandbox
      "/kubepods/burstable/pod1b2c3d4e-0000-4000-8000-00000000beef, NONE",
      "/kubepods/burstable/pod1b2c3d4e-0000-4000-8000-00000000beef/, NONE",
      "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podc9611c80_7e7e_4c28_a30f_6ca723600e4a.slice, NONE",
      "/kubepods.slice/kubepods-podc9611c80_7e7e_4c28_a30f_6ca723600e4a.slice/crio-conmon-0123abcd.scope, NONE",
      "/kubepods.slice/kubepods-podc9611c80_7e7e_4c28_a30f_6ca723600e4a.slice/nested.slice, NONE",
      "/kubepods/burstable, NONE",
      "/system.slice/containerd.service, NONE",
      "/elsewhere/9f8e7d6c5b4a, NONE",
      "/, NONE",
      "'', NONE",
  })
  void mapsMemcgToSandboxId(String memcg, String expectedId) {
    assertEquals(Optional.ofNullable(expectedId), locator.sandboxId(memcg));
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @CsvSource(nullValues = "NONE", value = {
      "aaaa1111bbbb2222, aaaa1111bbbb2222",
      "cri-containerd-eeee5555ffff6666.scope, eeee5555ffff6666",
      "cri-containerd-.scope, NONE",
      "kubepods-burstable.slice, NONE",
      "has space, NONE",
      "'..', NONE",
      "'', NONE",
  })
  void takesTheSandboxIdFromAChildCgroupName(String name, String expectedId) {
    assertEquals(Optional.ofNullable(expectedId), PodCgroupLocator.sandboxIdOfChild(name));
  }
}
