package dev.oomwatch.source.runsc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.lab.LabPrerequisites;
import dev.oomwatch.lab.LabScenario;
import dev.oomwatch.lab.RunscSandbox;
import dev.oomwatch.lab.SandboxTestSupport;
import dev.oomwatch.lab.SandboxWorkload;
import dev.oomwatch.model.ContainerMemorySample;
import dev.oomwatch.model.Observation;
import dev.oomwatch.model.SandboxDied;
import dev.oomwatch.model.SandboxSeen;
import dev.oomwatch.model.SandboxUnlimited;
import dev.oomwatch.testing.Await;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The runsc source on real sandboxes (runsc, cgroup v1, root): a sandbox in a kubelet-like pod
 * cgroup is seen with its pod and sentry, sampled with {@code runsc events --stats}, and its death by
 * {@code runsc kill KILL} is reported exactly once, at the default 1 s poll.
 */
@Tag("sandbox")
class RunscStateSourceSandboxTest {

  private static final Logger log = LoggerFactory.getLogger(RunscStateSourceSandboxTest.class);
  private static final long MIB = 1024L * 1024L;

  @TempDir Path dir;
  private final List<Observation> sunk = new CopyOnWriteArrayList<>();

  private <T extends Observation> List<T> sunk(Class<T> type) {
    return sunk.stream().filter(type::isInstance).map(type::cast).toList();
  }

  private static void awaitPolls(RunscStateSource source, long more) {
    long target = source.stats().polls() + more;
    Await.orFail(more + " more polls", () -> source.stats().polls() >= target);
  }

  @Test
  void seesARealSandboxSamplesItAndReportsItsDeathOnce() throws Exception {
    SandboxTestSupport.requirePrerequisites(false);
    Path root = Files.createDirectories(dir.resolve("runsc-root"));
    try (RunscStateSource source = RunscStateSource.builder()
        .runscRoot(root)
        .runscBinary(LabPrerequisites.findRunsc().orElseThrow())
        .sampleEverySandbox(true)
        .statsInterval(Duration.ofSeconds(1))
        .podMemoryLimit(uid -> OptionalLong.of(64 * MIB))
        .build()) {
      source.start(sunk::add);
      try (LabScenario scenario = LabScenario.builder()
          .runscRoot(root)
          .memoryLimitMib(64)
          .workload(SandboxWorkload.sleepForever())
          .start()) {
        RunscSandbox sandbox = scenario.sandbox();

        Await.orFail("the sandbox to be seen", () -> !sunk(SandboxSeen.class).isEmpty(),
            sunk::toString);
        SandboxSeen seen = sunk(SandboxSeen.class).get(0);
        assertEquals(sandbox.id(), seen.sandbox().sandboxId());
        assertEquals(scenario.pod().uid(), seen.sandbox().podUid());
        assertEquals(scenario.pod().name(), seen.sandbox().podName());
        assertEquals(scenario.pod().namespace(), seen.sandbox().podNamespace());
        assertEquals(OptionalLong.of(sandbox.sentryPid()), seen.sandbox().sentryPid());
        assertTrue(seen.sandbox().goferPid().isPresent(), seen.toString());
        assertEquals(Optional.of(scenario.podCgroup().sandboxCgroupsPath(sandbox.id())),
            seen.sandbox().cgroupPath());

        Await.orFail("a memory sample", () -> !sunk(ContainerMemorySample.class).isEmpty(),
            () -> source.health() + " " + source.stats());
        ContainerMemorySample sample = sunk(ContainerMemorySample.class).get(0);
        assertEquals(sandbox.id(), sample.sandboxId());
        assertEquals(sandbox.id(), sample.containerId());
        assertTrue(sample.usageBytes() > 0, sample.toString());
        log.info("runsc events --stats of the live sandbox: {} bytes", sample.usageBytes());
        assertTrue(source.health().live(), source.health().toString());
        assertEquals(List.of(), sunk(SandboxUnlimited.class), "the pod cgroup has its limit");

        Instant killedAt = Instant.now();
        sandbox.kill();
        Duration killTook = Duration.between(killedAt, Instant.now());
        Await.orFail("the death", () -> !sunk(SandboxDied.class).isEmpty(), sunk::toString);
        SandboxDied died = sunk(SandboxDied.class).get(0);
        log.info("death noticed {} ms after runsc kill started (the command took {} ms), at a {} ms"
            + " poll: {}", Duration.between(killedAt, died.noticedAt()).toMillis(),
            killTook.toMillis(), RunscStateSource.DEFAULT_POLL_INTERVAL.toMillis(), died.how());
        assertEquals("sentry pid " + sandbox.sentryPid() + " exited", died.how());
        assertEquals(seen.sandbox(), died.sandbox());
        awaitPolls(source, 3);
      }
      // closing the scenario deletes the sandbox: its state file goes, no second death
      awaitPolls(source, 3);
      assertEquals(1, sunk(SandboxDied.class).size(), sunk.toString());
      assertEquals(1, source.stats().deathsSeen());
      assertEquals(1, source.stats().sandboxesSeen());
      log.info("runsc source stats: {}", source.stats());
    }
  }

  @Test
  void aSandboxInAnUnlimitedPodCgroupIsReportedUnlimited() throws Exception {
    SandboxTestSupport.requirePrerequisites(false);
    Path root = Files.createDirectories(dir.resolve("runsc-root"));
    try (RunscStateSource source = RunscStateSource.builder()
        .runscRoot(root)
        .podMemoryLimit(uid -> OptionalLong.of(64 * MIB))
        .podCgroup(uid -> Optional.of("/kubepods/burstable/pod" + uid))
        .build()) {
      source.start(sunk::add);
      try (LabScenario scenario = LabScenario.builder()
          .runscRoot(root)
          .noMemoryLimit()
          .workload(SandboxWorkload.sleepForever())
          .start()) {
        Await.orFail("the unlimited sandbox", () -> !sunk(SandboxUnlimited.class).isEmpty(),
            () -> source.health() + " " + sunk);
        SandboxUnlimited unlimited = sunk(SandboxUnlimited.class).get(0);
        String sandboxCgroup = scenario.podCgroup().sandboxCgroupsPath(scenario.sandbox().id());
        assertEquals(sandboxCgroup, unlimited.actualCgroup());
        assertEquals(scenario.podCgroup().cgroupPath(), unlimited.expectedCgroup());
        assertEquals(scenario.pod().uid(), unlimited.sandbox().podUid());
        awaitPolls(source, 3);
        assertEquals(1, sunk(SandboxUnlimited.class).size(), "once per sandbox");
      }
    }
  }
}
