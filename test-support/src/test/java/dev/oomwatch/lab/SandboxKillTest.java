package dev.oomwatch.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The decoy: a sandbox killed with an ordinary SIGKILL stops too, but its pod never hit its limit. */
@Tag("sandbox")
class SandboxKillTest {

  @Test
  void killedSandboxStopsWithoutTouchingItsPodLimit() throws Exception {
    SandboxTestSupport.requirePrerequisites(false);
    try (LabScenario scenario = LabScenario.builder()
        .memoryLimitMib(64)
        .workload(SandboxWorkload.sleepForever())
        .start()) {
      RunscSandbox sandbox = scenario.sandbox();
      assertTrue(sandbox.isRunning(), "status " + sandbox.status());
      assertTrue(sandbox.sentryPid() > 0, "sentry pid " + sandbox.sentryPid());

      sandbox.kill();

      assertTrue(sandbox.awaitStopped(SandboxTestSupport.STOP_TIMEOUT), "still " + sandbox.status());
      assertEquals(0, scenario.podCgroup().memoryFailCount());
      assertTrue(sandbox.log().contains("sleeping until killed"), sandbox.log());
    }
  }
}
