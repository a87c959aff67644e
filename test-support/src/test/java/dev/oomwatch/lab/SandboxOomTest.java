package dev.oomwatch.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A real sandbox, really OOM-killed by the host kernel at its burstable pod's 64 MiB limit. */
@Tag("sandbox")
class SandboxOomTest {
  private static final Logger log = LoggerFactory.getLogger(SandboxOomTest.class);
  private static final long LIMIT_BYTES = 64L * 1024 * 1024;
  private static final long MAX_OVERSHOOT_BYTES = 64L * 1024;

  @Test
  void sandboxPastItsPodLimitIsKilledAndThePodCgroupCountsTheFailures() throws Exception {
    SandboxTestSupport.requirePrerequisites(false);
    try (LabScenario scenario = LabScenario.builder().memoryLimitMib(64).start()) {
      assertEquals(PodQosClass.BURSTABLE, scenario.podCgroup().qos());

      assertTrue(scenario.sandbox().awaitStopped(SandboxTestSupport.STOP_TIMEOUT),
          "sandbox still running; its log: " + scenario.sandbox().log());
      log.info("sandbox OOM-killed {} ms after the scenario started", scenario.elapsed().toMillis());

      PodCgroupV1 pod = scenario.podCgroup();
      assertEquals(LIMIT_BYTES, pod.memoryLimitBytes());
      assertTrue(pod.memoryFailCount() > 0, "memory.failcnt " + pod.memoryFailCount());
      // At the limit; the kernel force-charges a dying task, so a page or so over happens too.
      long maxUsage = pod.memoryMaxUsageBytes();
      assertTrue(maxUsage >= LIMIT_BYTES && maxUsage <= LIMIT_BYTES + MAX_OVERSHOOT_BYTES,
          "memory.max_usage_in_bytes " + maxUsage + " is not at the limit " + LIMIT_BYTES);
      assertTrue(scenario.sandbox().log().contains("allocating 512 MiB"), scenario.sandbox().log());
      assertFalse(scenario.sandbox().log().contains("still alive"), scenario.sandbox().log());
    }
  }

  @Test
  void kernelLogNamesThePodCgroupAndTheSandboxCgroup() throws Exception {
    SandboxTestSupport.requirePrerequisites(true);
    try (LabScenario scenario = LabScenario.builder().memoryLimitMib(64).start()) {
      assertTrue(scenario.sandbox().awaitStopped(SandboxTestSupport.STOP_TIMEOUT));
      String podCgroup = scenario.podCgroup().cgroupPath();
      String sandboxCgroup = scenario.podCgroup().sandboxCgroupsPath(scenario.sandbox().id());

      Optional<String> oomKill = SandboxTestSupport.awaitKernelLogLine(
          SandboxTestSupport.KERNEL_LOG_TIMEOUT,
          "oom-kill:constraint=CONSTRAINT_MEMCG", "oom_memcg=" + podCgroup + ",",
          "task_memcg=" + sandboxCgroup + ",", "task=exe,");

      assertTrue(oomKill.isPresent(), "no oom-kill line for " + podCgroup + " in the kernel log");
      log.info("kernel log: {} (sentry pid was {})", oomKill.get(), scenario.sandbox().sentryPid());
    }
  }
}
