package dev.oomwatch.resilience;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.crd.OOMIncident;
import dev.oomwatch.crd.OOMIncidentStatus;
import dev.oomwatch.lab.LabScenario;
import dev.oomwatch.lab.SandboxTestSupport;
import dev.oomwatch.lab.SandboxWorkload;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.podreport.PodConditionWriter;
import dev.oomwatch.testing.AgentProcess;
import dev.oomwatch.testing.Await;
import dev.oomwatch.testing.DemoEnvironment;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exactly once across agent restarts, around real runsc OOMs: the agent runs in a JVM of its own and
 * is killed with SIGKILL; every kill still ends as one incident, one Event count and one condition.
 */
@Tag("sandbox")
class AgentRestartTest {
  private static final Duration DEADLINE = Duration.ofSeconds(60);
  @TempDir Path dir;
  private DemoEnvironment env;
  private final List<AgentProcess> agents = new java.util.ArrayList<>();

  @BeforeEach
  void setUp() {
    SandboxTestSupport.requirePrerequisites(true);
    env = DemoEnvironment.withoutAgent("restart-node");
  }

  @AfterEach
  void tearDown() throws InterruptedException {
    for (AgentProcess agent : agents) {
      agent.close();
    }
    env.close();
  }

  private AgentProcess startAgent(String name) throws Exception {
    AgentProcess agent = AgentProcess.start(List.of("--node-name", "restart-node",
        "--kubeconfig", env.cluster().kubeconfig().toString(), "--kmsg", "/dev/kmsg",
        "--runsc-root", env.runscRoot().toString()), dir.resolve(name + ".log"));
    agents.add(agent);
    assertTrue(agent.awaitReady(DEADLINE), "agent " + name + " not ready:\n" + agent.log());
    return agent;
  }

  private void oom(PodRef pod) throws Exception {
    LabScenario scenario = env.runSandbox(pod, 64, SandboxWorkload.allocatePastLimit(512));
    assertTrue(scenario.sandbox().awaitStopped(DEADLINE), "the sandbox did not die");
  }

  private Optional<OOMIncident> reported(PodRef pod) {
    return env.cluster().incidents(pod.namespace()).stream()
        .filter(i -> pod.uid().equals(i.getSpec().getPodUid()))
        .filter(i -> i.getStatus() != null && OOMIncidentStatus.REPORTED.equals(i.getStatus().getPhase()))
        .findFirst();
  }

  private void assertReportedExactlyOnce(PodRef pod) {
    assertEquals(1, env.cluster().incidents(pod.namespace()).stream()
        .filter(i -> pod.uid().equals(i.getSpec().getPodUid())).count());
    assertEquals(1, env.cluster().events(pod).size());
    assertEquals(1, env.cluster().events(pod).get(0).getCount());
    assertEquals(1, env.cluster().pod(pod).getStatus().getConditions().stream()
        .filter(c -> PodConditionWriter.CONDITION_TYPE.equals(c.getType())).count());
  }

  @Test
  void aKillWhileTheAgentIsDownIsReportedOnceAndNotAgainAfterAKillNine() throws Exception {
    PodRef pod = env.createGvisorPod("killed-while-down", 64);
    oom(pod);

    AgentProcess first = startAgent("first");
    assertTrue(Await.value(() -> reported(pod), DEADLINE, Duration.ofMillis(100)).isPresent(),
        "the kill from before the start was not reported:\n" + first.log());
    first.killNine();

    AgentProcess second = startAgent("second");
    // the second agent re-reads the kernel log: it must see the kill again and find its incident (with
    // nothing new, or with evidence the first agent had not gathered yet, such as the sentry's death)
    assertTrue(Await.until(() -> second.metric("oomwatch_incidents_seen_before_total")
            + second.metric("oomwatch_incidents_merged_total") >= 1, DEADLINE, Duration.ofMillis(100)),
        "the replayed kill was not recognised:\n" + second.log());
    assertReportedExactlyOnce(pod);
  }

  @Test
  void aKillNineBetweenTheIncidentAndTheEventEndsWithTheEventWrittenOnce() throws Exception {
    PodRef pod = env.createGvisorPod("killed-mid-report", 64);
    env.cluster().failRequests((method, path) -> path.contains("/events") && !method.equals("GET"));
    AgentProcess first = startAgent("first");
    oom(pod);
    assertTrue(Await.until(() -> env.cluster().incidents(pod.namespace()).size() == 1, DEADLINE,
        Duration.ofMillis(100)), "no incident:\n" + first.log());
    assertTrue(Await.until(() -> first.log().contains("injected by the test"), DEADLINE, Duration.ofMillis(100)),
        "the Event write was never tried:\n" + first.log());
    first.killNine();
    assertEquals(0, env.cluster().events(pod).size());
    env.cluster().stopFailing();

    AgentProcess second = startAgent("second");
    assertTrue(Await.value(() -> reported(pod), DEADLINE, Duration.ofMillis(100)).isPresent(),
        "not reported after the restart:\n" + second.log());
    assertReportedExactlyOnce(pod);
  }
}
