package dev.oomwatch.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.crd.OOMIncident;
import dev.oomwatch.crd.OOMIncidentStatus;
import dev.oomwatch.lab.LabScenario;
import dev.oomwatch.lab.PodCgroupV1;
import dev.oomwatch.lab.PodQosClass;
import dev.oomwatch.lab.SandboxTestSupport;
import dev.oomwatch.lab.SandboxWorkload;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.operator.OomIncidentReconciler;
import dev.oomwatch.testing.Await;
import dev.oomwatch.testing.DemoEnvironment;
import io.fabric8.kubernetes.api.model.Event;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The real-sandbox scenarios on cgroup v1: real runsc sandboxes in kubelet-like pod cgroups, the
 * whole agent, the API stand-in. With and without the kernel log; Guaranteed and Burstable layouts; a
 * restart loop; and the decoys that must never be called an OOM.
 */
@Tag("sandbox")
class GvisorScenariosEndToEndTest {
  private static final Duration DEADLINE = Duration.ofSeconds(60);
  private static final long LIMIT_MIB = 64;
  private DemoEnvironment env;

  @BeforeEach
  void prerequisites() {
    SandboxTestSupport.requirePrerequisites(true);
  }

  @AfterEach
  void tearDown() {
    if (env != null) {
      env.close();
    }
  }

  private void start(boolean kmsg) throws InterruptedException {
    env = DemoEnvironment.withoutAgent("scenario-node");
    env.startAgent(kmsg ? Optional.of(Path.of("/dev/kmsg")) : Optional.empty());
  }

  private List<OOMIncident> reported(PodRef pod) {
    return env.cluster().incidents(pod.namespace()).stream()
        .filter(i -> pod.uid().equals(i.getSpec().getPodUid()))
        .filter(i -> i.getStatus() != null && OOMIncidentStatus.REPORTED.equals(i.getStatus().getPhase()))
        .toList();
  }

  private OOMIncident awaitIncident(PodRef pod) throws InterruptedException {
    return Await.value(() -> reported(pod).stream().findFirst(), DEADLINE, Duration.ofMillis(100))
        .orElseThrow(() -> new AssertionError("no reported incident for " + pod + "; readiness:\n"
            + env.agent().readiness().body()));
  }

  private List<Event> oomEvents(PodRef pod) {
    return env.cluster().events(pod).stream().filter(e -> OomIncidentReconciler.REASON.equals(e.getReason())).toList();
  }

  private LabScenario oom(PodRef pod, PodQosClass qos) throws Exception {
    LabScenario scenario = env.runSandbox(pod, qos, LIMIT_MIB, SandboxWorkload.allocatePastLimit(512));
    assertTrue(scenario.sandbox().awaitStopped(DEADLINE), "the sandbox did not die: " + scenario.sandbox().log());
    return scenario;
  }

  /** Lets the agent see a few more cgroup polls and runsc checks, so a false alarm would have happened. */
  private void quietPeriod() throws InterruptedException {
    long polls = Math.round(env.agent().metricValue("oomwatch_cgroup_polls_total"));
    assertTrue(Await.until(() -> env.agent().metricValue("oomwatch_cgroup_polls_total") >= polls + 8, DEADLINE,
        Duration.ofMillis(200)), "the cgroup source stopped polling");
  }

  @Test
  void withoutTheKernelLogTheCgroupCountersReachConfirmedOnBurstableAndGuaranteedPods() throws Exception {
    start(false);
    PodRef burstable = env.createGvisorPod("burstable", LIMIT_MIB);
    oom(burstable, PodQosClass.BURSTABLE);
    OOMIncident first = awaitIncident(burstable);
    PodRef guaranteed = env.createGvisorPod("guaranteed", LIMIT_MIB);
    oom(guaranteed, PodQosClass.GUARANTEED);
    OOMIncident second = awaitIncident(guaranteed);

    for (OOMIncident incident : List.of(first, second)) {
      assertTrue(List.of("Confirmed", "Likely").contains(incident.getSpec().getVerdict()),
          incident.getSpec().getVerdict());
      assertTrue(incident.getSpec().getEvidence().stream().anyMatch(e -> "cgroup".equals(e.getSource())),
          "no cgroup evidence: " + incident.getSpec().getEvidence());
      assertTrue(incident.getSpec().getEvidence().stream().noneMatch(e -> "kmsg".equals(e.getSource())));
    }
    assertEquals(1, oomEvents(burstable).size());
    assertEquals(1, oomEvents(guaranteed).size());
  }

  @Test
  void withTheKernelLogEverySignalFoldsIntoOneConfirmedIncident() throws Exception {
    start(true);
    PodRef pod = env.createGvisorPod("all-signals", LIMIT_MIB);
    LabScenario scenario = oom(pod, PodQosClass.BURSTABLE);
    OOMIncident incident = awaitIncident(pod);
    // the cgroup poll and the sentry-death check come up to a second after the kernel log
    assertTrue(Await.until(() -> reported(pod).get(0).getSpec().getEvidence().stream().map(e -> e.getSource())
        .distinct().count() >= 3, DEADLINE, Duration.ofMillis(200)), reported(pod).get(0).getSpec().getEvidence()
        .toString());

    assertEquals(1, reported(pod).size());
    assertEquals("Confirmed", incident.getSpec().getVerdict());
    assertEquals(scenario.sandbox().id(), reported(pod).get(0).getSpec().getSandboxId());
    assertEquals(1, oomEvents(pod).size());
    assertEquals(1, oomEvents(pod).get(0).getCount());
  }

  @Test
  void aRestartLoopOfThreeKillsIsThreeIncidentsAndOneEventSeriesOfThree() throws Exception {
    start(true);
    PodRef pod = env.createGvisorPod("crashloop", LIMIT_MIB);
    for (int round = 1; round <= 3; round++) {
      try (LabScenario scenario = oom(pod, PodQosClass.BURSTABLE)) {
        int expected = round;
        assertTrue(Await.until(() -> reported(pod).size() == expected, DEADLINE, Duration.ofMillis(100)),
            "round " + round + ": " + reported(pod).size() + " incidents");
      }
    }
    assertTrue(Await.until(() -> oomEvents(pod).size() == 1 && oomEvents(pod).get(0).getCount() == 3, DEADLINE,
        Duration.ofMillis(100)), oomEvents(pod).toString());
  }

  @Test
  void aContainerThatSaysExitZeroCompletedWhileItsSandboxWasOomKilledIsStillAnOom() throws Exception {
    start(true);
    PodRef pod = env.createGvisorPod("said-completed", LIMIT_MIB);
    oom(pod, PodQosClass.BURSTABLE);
    env.cluster().terminateContainersLikeKubelet(pod, 0, "Completed");

    OOMIncident incident = awaitIncident(pod);
    assertEquals("Confirmed", incident.getSpec().getVerdict());
    assertEquals(1, oomEvents(pod).size());
  }

  @Test
  void killNineAndANormalExitNearTheLimitAreNoOom() throws Exception {
    start(true);
    PodRef killed = env.createGvisorPod("kill-nine", LIMIT_MIB);
    LabScenario decoy = env.runSandbox(killed, PodQosClass.BURSTABLE, LIMIT_MIB, SandboxWorkload.sleepForever());
    assertTrue(Await.until(decoy.sandbox()::isRunning, DEADLINE, Duration.ofMillis(100)));
    decoy.sandbox().kill();
    assertTrue(decoy.sandbox().awaitStopped(DEADLINE));
    env.cluster().terminateContainersLikeKubelet(killed, 137);

    PodRef exited = env.createGvisorPod("normal-exit", LIMIT_MIB);
    // about 90% of the limit: 43 MiB in tmpfs on top of the sentry's own ~14 MiB, then a normal exit
    LabScenario normal = env.runSandbox(exited, PodQosClass.BURSTABLE, LIMIT_MIB, new SandboxWorkload("90% then exit",
        "/bin/busybox sleep 1; /bin/busybox dd if=/dev/zero of=/dev/hog bs=1M count=43; /bin/busybox sleep 2; exit 0"));
    assertTrue(normal.sandbox().awaitStopped(DEADLINE));
    double peak = normal.podCgroup().memoryMaxUsageBytes() / (double) (LIMIT_MIB << 20);
    assertTrue(peak > 0.8 && normal.podCgroup().memoryFailCount() == 0, "peak " + peak);
    env.cluster().terminateContainersLikeKubelet(exited, 0, "Completed");

    quietPeriod();
    assertEquals(List.of(), env.cluster().incidents("default"));
    assertEquals(List.of(), oomEvents(killed));
    assertEquals(List.of(), oomEvents(exited));
  }

  @Test
  void anOomOfARuncPodOnTheSameNodeIsNotOurs() throws Exception {
    start(true);
    env.cluster().createRuntimeClass("runc", "runc");
    PodRef pod = env.cluster().createRunningPod("default", "runc-pod", env.nodeName(), "runc", "app", "64Mi");
    try (PodCgroupV1 cgroup = PodCgroupV1.create(Path.of("/sys/fs/cgroup"), pod.uid(), PodQosClass.BURSTABLE,
        OptionalLong.of(LIMIT_MIB << 20))) {
      double ignoredBefore = env.agent().metricValue("oomwatch_kernel_oom_kills_ignored_total");
      // an ordinary process in the runc pod's cgroup that grows until the kernel kills it
      Process hog = new ProcessBuilder("sh", "-c", "echo $$ > " + cgroup.memoryDirectory().resolve("cgroup.procs")
          + " && exec tail /dev/zero").redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      assertTrue(hog.waitFor(60, TimeUnit.SECONDS), "the hog was not killed");
      assertEquals(137, hog.exitValue(), "killed by the kernel's OOM killer (SIGKILL)");
      assertTrue(Await.until(() -> env.agent().metricValue("oomwatch_kernel_oom_kills_ignored_total")
          > ignoredBefore, DEADLINE, Duration.ofMillis(100)), "the agent did not see the kill");
      quietPeriod();
    }
    assertEquals(List.of(), env.cluster().incidents("default"));
  }
}
