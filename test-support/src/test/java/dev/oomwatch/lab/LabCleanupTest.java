package dev.oomwatch.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.model.PodRef;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import java.util.UUID;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Closing the lab leaves no sandbox process, no cgroup in any hierarchy, and no temporary files. */
@Tag("sandbox")
class LabCleanupTest {

  @Test
  void closingARunningScenarioRemovesEverything() throws Exception {
    SandboxTestSupport.requirePrerequisites(false);
    LabScenario scenario = LabScenario.builder().workload(SandboxWorkload.sleepForever()).start();
    Snapshot before = Snapshot.of(scenario);
    assertFalse(SandboxTestSupport.processesMentioning(before.sandboxId).isEmpty());
    assertFalse(SandboxTestSupport.cgroupDirectories(before.podCgroupPath).isEmpty());

    scenario.close();
    scenario.close(); // idempotent: a shutdown hook may call it again

    before.assertNothingLeft();
  }

  @Test
  void closingAfterAnOomRemovesEverything() throws Exception {
    SandboxTestSupport.requirePrerequisites(false);
    LabScenario scenario = LabScenario.builder().start();
    Snapshot before = Snapshot.of(scenario);
    assertTrue(scenario.sandbox().awaitStopped(SandboxTestSupport.STOP_TIMEOUT));

    scenario.close();

    before.assertNothingLeft();
  }

  @Test
  void callersRunscRootIsKeptButTheSandboxStateIsGone(@TempDir Path runscRoot) throws Exception {
    SandboxTestSupport.requirePrerequisites(false);
    LabScenario scenario = LabScenario.builder()
        .runscRoot(runscRoot)
        .workload(SandboxWorkload.sleepForever())
        .start();
    Path stateFile = scenario.sandbox().stateFile();
    assertEquals(runscRoot, stateFile.getParent());
    assertTrue(Files.isRegularFile(stateFile), "no state file " + stateFile);

    scenario.close();

    assertTrue(Files.isDirectory(runscRoot));
    assertFalse(Files.exists(stateFile));
  }

  @Test
  void podCgroupCloseKillsASandboxLeftRunningInIt() throws Exception {
    SandboxTestSupport.requirePrerequisites(false);
    List<Path> besteffortBefore = SandboxTestSupport.cgroupDirectories("/kubepods/besteffort");
    PodRef pod = new PodRef("default", "left-running", UUID.randomUUID().toString());
    PodCgroupV1 podCgroup = PodCgroupV1.create(LabPrerequisites.DEFAULT_CGROUP_ROOT, pod.uid(),
        PodQosClass.BESTEFFORT, OptionalLong.empty());
    String id = RunscSandbox.newSandboxId();
    try (RunscSandbox sandbox = RunscSandbox
        .builder(id, pod, podCgroup.sandboxCgroupsPath(id), SandboxWorkload.sleepForever())
        .start()) {
      assertTrue(sandbox.isRunning());

      podCgroup.close(); // the wrong order: the sandbox still runs in it

      assertEquals(List.of(), SandboxTestSupport.cgroupDirectories(podCgroup.cgroupPath()));
      assertTrue(sandbox.awaitStopped(SandboxTestSupport.STOP_TIMEOUT));
    }
    assertEquals(List.of(), SandboxTestSupport.processesMentioning(id));
    // Shared parents the lab (or runsc) had to make are gone again; pre-existing ones stay.
    assertEquals(besteffortBefore, SandboxTestSupport.cgroupDirectories("/kubepods/besteffort"));
  }

  /** What to look for after close, taken while the scenario ran. */
  private record Snapshot(String sandboxId, String podCgroupPath, Path bundle, Path runscRoot) {
    static Snapshot of(LabScenario scenario) {
      return new Snapshot(scenario.sandbox().id(), scenario.podCgroup().cgroupPath(),
          scenario.sandbox().bundleDirectory(), scenario.sandbox().runscRoot());
    }

    void assertNothingLeft() throws Exception {
      assertEquals(List.of(), SandboxTestSupport.processesMentioning(sandboxId));
      assertEquals(List.of(), SandboxTestSupport.processesMentioning(bundle.toString()));
      assertEquals(List.of(), SandboxTestSupport.processesMentioning(runscRoot.toString()));
      assertEquals(List.of(), SandboxTestSupport.cgroupDirectories(podCgroupPath));
      assertFalse(Files.exists(bundle), "bundle left: " + bundle);
      assertFalse(Files.exists(runscRoot), "runsc root left: " + runscRoot);
    }
  }
}
