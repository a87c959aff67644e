package dev.oomwatch.source.cgroup;

import static dev.oomwatch.source.cgroup.CgroupFixtures.V2_POD_UID;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.model.PodCgroupLocator;
import dev.oomwatch.source.cgroup.CgroupFixtures.Phase;
import dev.oomwatch.source.cgroup.CgroupFixtures.V2Layout;
import dev.oomwatch.source.cgroup.PodCgroupFinder.ChildCgroup;
import dev.oomwatch.source.cgroup.PodCgroupFinder.PodCgroup;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link PodCgroupFinder} on the captured trees and on each QoS class of both drivers. */
class PodCgroupFinderTest {

  private static final String UID = "2d9a6c1e-7f4b-4b8e-a1c3-5e6f7a8b9c0d";

  @TempDir Path root;
  private final PodCgroupFinder finder = new PodCgroupFinder();

  @ParameterizedTest
  @EnumSource(V2Layout.class)
  void findsThePodAndItsSandboxInEachCapturedLayout(V2Layout layout) throws Exception {
    CgroupFixtures.layV2(root, layout, Phase.RUNNING);
    PodCgroup pod = finder.find(CgroupLayout.detect(root), V2_POD_UID).orElseThrow();
    assertEquals(layout.podCgroup, pod.cgroupPath());
    assertEquals(root.resolve(layout.podCgroup.substring(1)), pod.directory());
    assertEquals(List.of(new ChildCgroup(layout.sandboxChild, pod.directory().resolve(layout.sandboxChild),
        layout.sandboxCgroup(), Optional.of(layout.sandboxId))), PodCgroupFinder.children(pod));

    CgroupFixtures.layV2(root, layout, Phase.AFTER_DELETE);
    assertEquals(List.of(), PodCgroupFinder.children(pod));
  }

  @Test
  void findsTheV1PodAndItsSandbox() throws Exception {
    CgroupFixtures.layV1(root, "cgroup-running", "cgroup-running");
    PodCgroup pod = finder.find(CgroupLayout.detect(root), CgroupFixtures.V1_POD_UID).orElseThrow();
    assertEquals(CgroupFixtures.V1_POD_CGROUP, pod.cgroupPath());
    assertEquals(List.of(Optional.of(CgroupFixtures.V1_SANDBOX_ID)),
        PodCgroupFinder.children(pod).stream().map(ChildCgroup::sandboxId).toList());
  }

  /** Every QoS class with both drivers, as kubelet names them (the captures have three of the six). */
  @ParameterizedTest(name = "[{index}] {0}")
  @CsvSource({
      "kubepods/pod" + UID,
      "kubepods/burstable/pod" + UID,
      "kubepods/besteffort/pod" + UID,
      "kubepods.slice/kubepods-pod2d9a6c1e_7f4b_4b8e_a1c3_5e6f7a8b9c0d.slice",
      "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod2d9a6c1e_7f4b_4b8e_a1c3_5e6f7a8b9c0d.slice",
      "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod2d9a6c1e_7f4b_4b8e_a1c3_5e6f7a8b9c0d.slice",
  })
  void findsEveryQosClassWithEitherDriver(String podCgroup) throws Exception {
    CgroupFixtures.write(root.resolve("cgroup.controllers"), "memory\n");
    Files.createDirectories(root.resolve(podCgroup));
    // a neighbour of another pod must not be taken for it
    Files.createDirectories(root.resolve("kubepods/burstable/pod11111111-2222-4333-8444-555555555555"));
    PodCgroup pod = finder.find(CgroupLayout.detect(root), UID).orElseThrow();
    assertEquals("/" + podCgroup, pod.cgroupPath());
    assertEquals(UID, new PodCgroupLocator().podUid(pod.cgroupPath()).orElseThrow());
  }

  @Test
  void looksAgainUntilThePodCgroupExistsThenCachesIt() throws Exception {
    CgroupFixtures.write(root.resolve("cgroup.controllers"), "memory\n");
    Files.createDirectories(root.resolve("kubepods/burstable"));
    CgroupLayout layout = CgroupLayout.detect(root);
    assertEquals(Optional.empty(), finder.find(layout, UID));
    assertEquals(0, finder.cachedPods());

    Path dir = Files.createDirectories(root.resolve("kubepods/burstable/pod" + UID));
    assertEquals(Optional.of(dir), finder.find(layout, UID).map(PodCgroup::directory));
    assertEquals(1, finder.cachedPods());
    Files.delete(dir);
    assertTrue(finder.find(layout, UID).isPresent(), "cached: a pod's cgroup does not move");
    finder.forget(UID);
    assertEquals(Optional.empty(), finder.find(layout, UID));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "../../etc", "a/b", "2d9a6c1e_7f4b", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0"})
  void neverLooksUpSomethingThatIsNoPodUid(String uid) throws Exception {
    CgroupFixtures.write(root.resolve("cgroup.controllers"), "memory\n");
    Files.createDirectories(root.resolve("kubepods/burstable/pod" + uid.replace("/", "_")));
    assertEquals(Optional.empty(), finder.find(CgroupLayout.detect(root), uid));
  }

  @Test
  void listsOnlyChildCgroupsNotControlFiles() throws IOException {
    Path pod = Files.createDirectories(root.resolve("pod"));
    for (String file : List.of("tasks", "notify_on_release", "cgroup.procs", "memory.oom_control", "memory.max")) {
      Files.writeString(pod.resolve(file), "");
    }
    for (String dir : List.of("4a5b6c7d8e9f0a1b", "cri-containerd-0123.scope", "crio-conmon-99.scope")) {
      Files.createDirectory(pod.resolve(dir));
    }
    // a file named like a container id is no cgroup
    Files.writeString(pod.resolve("deadbeef"), "");
    List<String> names = new ArrayList<>();
    assertTrue(PodCgroupFinder.listChildNames(pod, names));
    names.sort(null);
    assertEquals(List.of("4a5b6c7d8e9f0a1b", "cri-containerd-0123.scope", "crio-conmon-99.scope"), names);

    assertFalse(PodCgroupFinder.listChildNames(root.resolve("gone"), names));
  }
}
