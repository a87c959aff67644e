package dev.oomwatch.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.crd.OOMIncident;
import dev.oomwatch.crd.OOMIncidentStatus;
import dev.oomwatch.lab.LabScenario;
import dev.oomwatch.lab.SandboxTestSupport;
import dev.oomwatch.lab.SandboxWorkload;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.operator.OomIncidentReconciler;
import dev.oomwatch.podreport.PodConditionWriter;
import dev.oomwatch.testing.Await;
import dev.oomwatch.testing.DemoEnvironment;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The product end to end, for real: runsc sandboxes in kubelet-like cgroup v1 pod cgroups, the real
 * {@code /dev/kmsg}, the agent as {@code agent} runs it, and the API stand-in. One sandbox really
 * OOMs; a decoy is killed with {@code runsc kill KILL} far below its limit and must not be called an OOM.
 */
@Tag("sandbox")
class SandboxOomEndToEndTest {
  private static final Duration DEADLINE = Duration.ofSeconds(60);
  private static final long LIMIT_MIB = 64;
  private static DemoEnvironment env;

  @BeforeAll
  static void startAgent() throws InterruptedException {
    SandboxTestSupport.requirePrerequisites(true);
    env = DemoEnvironment.start("e2e-node", Optional.of(Path.of("/dev/kmsg")));
  }

  @AfterAll
  static void tearDown() {
    if (env != null) {
      env.close();
    }
  }

  @Test
  void realSandboxOomIsReportedOnItsPod() throws Exception {
    PodRef pod = env.createGvisorPod("oom-victim", LIMIT_MIB);
    Pod before = env.cluster().pod(pod);
    LabScenario scenario = env.runSandbox(pod, LIMIT_MIB, SandboxWorkload.allocatePastLimit(512));
    long sentryPid = scenario.sandbox().sentryPid();
    assertTrue(scenario.sandbox().awaitStopped(DEADLINE), "the sandbox did not die: " + scenario.sandbox().log());
    assertTrue(scenario.podCgroup().memoryFailCount() > 0, "the pod cgroup never hit its limit");

    OOMIncident incident = Await.value(() -> env.cluster().incidents(pod.namespace()).stream()
            .filter(i -> pod.uid().equals(i.getSpec().getPodUid()))
            .filter(i -> i.getStatus() != null && OOMIncidentStatus.REPORTED.equals(i.getStatus().getPhase()))
            .findFirst(), DEADLINE, Duration.ofMillis(100))
        .orElseThrow(() -> new AssertionError("no reported OOMIncident for " + pod + "; readiness:\n"
            + env.agent().readiness().body()));

    // the incident: who, what, how sure, with the kernel's evidence
    assertEquals("e2e-node", incident.getMetadata().getLabels().get(OOMIncident.NODE_LABEL));
    assertEquals(pod.name(), incident.getSpec().getPodName());
    assertEquals("Confirmed", incident.getSpec().getVerdict());
    assertEquals("Confirmed", incident.getStatus().getVerdict());
    assertEquals("64Mi", incident.getStatus().getMemoryLimit());
    assertEquals(64L << 20, incident.getSpec().getMemoryLimitBytes());
    assertTrue(incident.getSpec().getVictim().startsWith("exe (pid " + sentryPid + ", uid 65534"),
        incident.getSpec().getVictim());
    assertEquals("kmsg", incident.getStatus().getEvidence().get(0).getSource());
    assertTrue(incident.getStatus().getEvidence().get(0).getDetail().contains("task=exe"));
    assertNotNull(incident.getStatus().getDetectedAt());
    Instant killed = Instant.parse(incident.getSpec().getKilledAt());
    Instant detected = Instant.parse(incident.getSpec().getDetectedAt());
    assertTrue(!detected.isBefore(killed.minusSeconds(1)), "detected before the kill? " + killed + " " + detected);

    // the Event kubectl describe pod shows
    List<Event> events = env.cluster().events(pod);
    Event event = events.stream().filter(e -> OomIncidentReconciler.REASON.equals(e.getReason())).findFirst()
        .orElseThrow(() -> new AssertionError("no OOMKilled Event: " + events));
    assertEquals("Warning", event.getType());
    assertEquals(1, event.getCount());
    assertEquals("e2e-node", event.getReportingInstance());
    assertTrue(event.getMessage().contains("memory limit of 64Mi"), event.getMessage());
    assertTrue(event.getMessage().contains("pid " + sentryPid), event.getMessage());
    assertEquals(incident.getStatus().getEventName(), event.getMetadata().getName());

    // the pod condition, with kubelet's own conditions untouched
    Pod after = env.cluster().pod(pod);
    List<PodCondition> conditions = after.getStatus().getConditions();
    PodCondition ours = conditions.stream().filter(c -> PodConditionWriter.CONDITION_TYPE.equals(c.getType()))
        .findFirst().orElseThrow(() -> new AssertionError("no pod condition: " + conditions));
    assertEquals("True", ours.getStatus());
    assertEquals(OomIncidentReconciler.REASON, ours.getReason());
    assertTrue(ours.getMessage().contains(incident.getMetadata().getName()), ours.getMessage());
    assertEquals(before.getStatus().getConditions(), conditions.stream()
        .filter(c -> !PodConditionWriter.CONDITION_TYPE.equals(c.getType())).toList());

    // and the metric
    String metrics = get("/metrics");
    assertTrue(metrics.contains("oomwatch_incidents_detected_total{verdict=\"Confirmed\"}"), metrics);
  }

  @Test
  void sandboxKilledWithKillNineFarBelowItsLimitIsNoOom() throws Exception {
    PodRef pod = env.createGvisorPod("kill-decoy", LIMIT_MIB);
    LabScenario scenario = env.runSandbox(pod, LIMIT_MIB, SandboxWorkload.sleepForever());
    assertTrue(Await.until(() -> scenario.sandbox().isRunning(), DEADLINE, Duration.ofMillis(100)));
    scenario.sandbox().kill();
    assertTrue(scenario.sandbox().awaitStopped(DEADLINE), "the decoy did not stop");

    // A real kill is reported within milliseconds; a decoy that is still quiet after the agent has
    // demonstrably processed later kernel records is quiet for good. Make such a record: a marker line.
    long recordsBefore = metricValue("oomwatch_kmsg_records_total");
    writeKmsg("oomwatch-e2e-decoy-" + pod.uid());
    assertTrue(Await.until(() -> metricValue("oomwatch_kmsg_records_total") > recordsBefore, DEADLINE,
        Duration.ofMillis(100)), "the agent did not read the marker record");
    assertEquals(List.of(), env.cluster().incidents(pod.namespace()).stream()
        .filter(i -> pod.uid().equals(i.getSpec().getPodUid())).toList());
    assertEquals(List.of(), env.cluster().events(pod).stream()
        .filter(e -> OomIncidentReconciler.REASON.equals(e.getReason())).toList());
  }

  private static long metricValue(String name) {
    return get("/metrics").lines().filter(l -> l.startsWith(name + " "))
        .mapToLong(l -> (long) Double.parseDouble(l.substring(name.length() + 1).trim())).findFirst().orElse(-1);
  }

  private static void writeKmsg(String text) throws IOException {
    java.nio.file.Files.writeString(Path.of("/dev/kmsg"), text + "\n");
  }

  private static String get(String path) {
    try {
      HttpResponse<String> response = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + env.agent().httpPort() + path)).build(),
          HttpResponse.BodyHandlers.ofString());
      return response.body();
    } catch (IOException | InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }
}
