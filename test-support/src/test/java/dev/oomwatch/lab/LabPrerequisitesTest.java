package dev.oomwatch.lab;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LabPrerequisitesTest {
  @TempDir Path dir;

  @Test
  void saysWhatToInstallAndThatTheLabIsCgroupV1() throws Exception {
    Path cgroupRoot = Files.createDirectory(dir.resolve("cgroup"));
    LabPrerequisites prerequisites = new LabPrerequisites(cgroupRoot, dir.resolve("no-busybox"),
        dir.resolve("no-kmsg"));

    List<String> missing = prerequisites.missing();

    assertMentions(missing, "apt-get install busybox-static");
    assertMentions(missing, "cgroup v1 memory controller is not mounted at " + cgroupRoot.resolve("memory"));
    assertMentions(missing, "kernel log " + dir.resolve("no-kmsg"));
  }

  @Test
  void pointsCgroupV2MachinesToTheVmLab() throws Exception {
    Path cgroupRoot = Files.createDirectory(dir.resolve("cgroup"));
    Files.writeString(cgroupRoot.resolve("cgroup.controllers"), "cpu memory pids\n");

    List<String> missing = new LabPrerequisites(cgroupRoot, dir.resolve("bb"), dir.resolve("k"))
        .missing();

    assertMentions(missing, "gvisor-oom-lab-cgroupv2.sh");
  }

  @Test
  void dynamicBusyboxIsReported() throws Exception {
    Path busybox = Files.writeString(dir.resolve("busybox"), "#!/bin/sh\n");

    List<String> missing = new LabPrerequisites(dir, busybox, dir.resolve("k")).missing();

    assertMentions(missing, busybox + " is not an ELF executable");
  }

  @Test
  void kmsgCanBeLeftOut() {
    LabPrerequisites prerequisites = new LabPrerequisites(dir, dir.resolve("bb"), dir.resolve("k"));

    assertFalse(prerequisites.missingIgnoringKmsg().stream().anyMatch(m -> m.contains("kernel log")));
  }

  private static void assertMentions(List<String> missing, String text) {
    assertTrue(missing.stream().anyMatch(sentence -> sentence.contains(text)),
        "no sentence mentions \"" + text + "\" in " + missing);
  }
}
