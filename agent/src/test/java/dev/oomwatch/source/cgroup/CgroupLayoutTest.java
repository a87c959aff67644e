package dev.oomwatch.source.cgroup;

import static dev.oomwatch.source.cgroup.CgroupFixtures.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.oomwatch.source.cgroup.CgroupLayout.Driver;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@link CgroupLayout#detect} on trees shaped like the mounts of v1, v2 and hybrid nodes. */
class CgroupLayoutTest {

  private static final String ADVICE =
      "mount the host's /sys/fs/cgroup (read-only is enough) and pass its path with --cgroup-root";

  @TempDir Path root;

  /**
   * Each row: files to create under the root ({@code path=content;...}), then the expected version,
   * memory root (relative) and driver, or the failure.
   */
  @ParameterizedTest(name = "[{index}] {0}")
  @CsvSource(delimiter = '|', nullValues = "NONE", value = {
      // this machine: v1 memory hierarchy, a cgroup2 mount without controllers at unified/
      "memory/memory.limit_in_bytes=9223372036854771712;unified/cgroup.controllers= | 1 | memory | NONE",
      "memory/memory.limit_in_bytes=9223372036854771712;memory/kubepods/tasks= | 1 | memory | CGROUPFS",
      "memory/memory.limit_in_bytes=9223372036854771712;memory/kubepods.slice/tasks= | 1 | memory | SYSTEMD",
      // a pure v1 node without the unified mount
      "memory/memory.limit_in_bytes=1;cpu/tasks= | 1 | memory | NONE",
      // --cgroup-root pointing at the v1 memory hierarchy itself
      "memory.limit_in_bytes=9223372036854771712;kubepods/tasks= | 1 | . | CGROUPFS",
      // unified (pure v2) root
      "cgroup.controllers=cpuset cpu io memory hugetlb pids rdma misc | 2 | . | NONE",
      "cgroup.controllers=memory;kubepods/cgroup.procs= | 2 | . | CGROUPFS",
      "cgroup.controllers=cpu memory pids;kubepods.slice/cgroup.procs= | 2 | . | SYSTEMD",
      // hybrid with memory bound to v2 (rare, but the kernel allows it)
      "unified/cgroup.controllers=memory pids;unified/kubepods/cgroup.procs= | 2 | unified | CGROUPFS",
  })
  void detectsTheLayout(String files, int version, String memoryRoot, String driver) throws Exception {
    lay(files);
    CgroupLayout layout = CgroupLayout.detect(root);
    assertEquals(version, layout.version());
    assertEquals(root.resolve(memoryRoot).normalize(), layout.memoryRoot().normalize());
    assertEquals(Optional.ofNullable(driver).map(Driver::valueOf), layout.driver());
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @CsvSource(delimiter = '|', value = {
      // a container's own cgroup namespace on a v2 node where memory is not delegated
      "cgroup.controllers=cpu io pids",
      "cgroup.controllers=",
      // only the controller-less cgroup2 mount, no v1 memory (the host's tree is not mounted)
      "unified/cgroup.controllers=;cpu/tasks=",
      // a memory directory that is no hierarchy
      "memory/readme=",
      "empty=",
  })
  void failsWithoutAMemoryController(String files) throws IOException {
    lay(files);
    CgroupUnavailableException e = assertThrows(CgroupUnavailableException.class, () -> CgroupLayout.detect(root));
    assertEquals("no memory cgroup controller under " + root + ": " + ADVICE, e.getMessage());
  }

  @Test
  void failsForAMissingRootOrAFile() throws IOException {
    Path missing = root.resolve("sys/fs/cgroup");
    assertEquals("cannot read the cgroup root " + missing + ": no such directory; " + ADVICE,
        assertThrows(CgroupUnavailableException.class, () -> CgroupLayout.detect(missing)).getMessage());
    Path file = Files.writeString(root.resolve("file"), "");
    assertEquals("cannot read the cgroup root " + file + ": not a directory; " + ADVICE,
        assertThrows(CgroupUnavailableException.class, () -> CgroupLayout.detect(file)).getMessage());
  }

  @Test
  void seesTheDriverWhenKubeletMakesItsCgroupLater() throws Exception {
    lay("cgroup.controllers=memory");
    CgroupLayout before = CgroupLayout.detect(root);
    assertEquals(Optional.empty(), before.driver());
    assertSame(before, before.redetectDriver(), "nothing changed, nothing made");
    assertEquals("cgroup v2, no kubepods cgroup yet", before.describe());

    Files.createDirectory(root.resolve("kubepods.slice"));
    CgroupLayout after = before.redetectDriver();
    assertEquals(Optional.of(Driver.SYSTEMD), after.driver());
    assertEquals("cgroup v2, systemd driver", after.describe());
  }

  @Test
  void thisMachine() throws Exception {
    Path host = CgroupSource.HOST_CGROUP_ROOT;
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isRegularFile(host.resolve("memory/memory.limit_in_bytes")),
        "needs this project's build machine: a v1 memory hierarchy at /sys/fs/cgroup/memory");
    CgroupLayout layout = CgroupLayout.detect(host);
    assertEquals(1, layout.version());
    assertEquals(host.resolve("memory"), layout.memoryRoot());
  }

  private void lay(String files) {
    for (String entry : files.split(";")) {
      String[] pathAndContent = entry.split("=", 2);
      write(root.resolve(pathAndContent[0].strip()), pathAndContent.length > 1 ? pathAndContent[1] : "");
    }
  }
}
