package dev.oomwatch.resilience;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.app.Agent;
import dev.oomwatch.app.AgentConfig;
import dev.oomwatch.app.ConfigLoader;
import dev.oomwatch.crd.OOMIncident;
import dev.oomwatch.crd.OOMIncidentStatus;
import dev.oomwatch.metrics.AgentMetrics;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.operator.OomIncidentReconciler;
import dev.oomwatch.podreport.PodConditionWriter;
import dev.oomwatch.podreport.PodEventRecorder;
import dev.oomwatch.testing.Await;
import dev.oomwatch.testing.DemoEnvironment;
import dev.oomwatch.testing.KernelLogs;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole agent, fed the real kernel-log fixture from a file (no root needed), against an API that
 * fails some writes: a restart while an incident is pending reports it once; a report the API refuses
 * for good ends as phase {@code Failed} instead of being retried forever; a transient one is retried.
 */
class ApiRefusalTest {
  private static final Duration DEADLINE = Duration.ofSeconds(60);
  private static final String INCIDENTS = "/namespaces/default/oomincidents";
  private static final String EVENTS = "/api/v1/namespaces/default/events";
  @TempDir Path dir;
  private DemoEnvironment env;
  private Agent restarted;

  @AfterEach
  void tearDown() {
    if (restarted != null) {
      restarted.close();
    }
    if (env != null) {
      env.close();
    }
  }

  private List<OOMIncident> inPhase(String phase) {
    return env.cluster().incidents("default").stream()
        .filter(i -> i.getStatus() != null && phase.equals(i.getStatus().getPhase())).toList();
  }

  @Test
  void anIncidentPendingAtARestartIsReportedOnceAfterIt() throws Exception {
    env = DemoEnvironment.withoutAgent("node-a");
    PodRef pod = env.createGvisorPod("victim", 64);
    Path kmsg = KernelLogs.sandboxOomOf(pod, dir);
    AtomicInteger creations = new AtomicInteger();
    env.cluster().failRequests((method, path) -> method.equals("POST") && path.contains(INCIDENTS)
        && creations.incrementAndGet() > 0, 503, Map.of());
    env.startAgent(Optional.of(kmsg));
    assertTrue(Await.until(() -> env.agent().metricValue("oomwatch_incidents_pending") == 1, DEADLINE,
        Duration.ofMillis(50)), env.agent().readiness().body());
    assertTrue(Await.until(() -> creations.get() >= 2, DEADLINE, Duration.ofMillis(50)), "not retried");
    env.agent().close();
    assertEquals(List.of(), env.cluster().incidents("default"));

    env.cluster().stopFailing();
    restarted = Agent.start(config(kmsg), Clock.systemUTC());

    assertTrue(Await.until(() -> inPhase(OOMIncidentStatus.REPORTED).size() == 1, DEADLINE, Duration.ofMillis(100)),
        "not reported after the restart:\n" + restarted.readiness().body());
    assertEquals(1, env.cluster().incidents("default").size());
    assertEquals(1, env.cluster().events(pod).size());
    assertEquals(1, env.cluster().events(pod).get(0).getCount());
    assertEquals(1, env.cluster().pod(pod).getStatus().getConditions().stream()
        .filter(c -> PodConditionWriter.CONDITION_TYPE.equals(c.getType())).count());
  }

  @Test
  void aReportRefusedForGoodEndsFailedAndIsNotRetried() throws Exception {
    env = DemoEnvironment.withoutAgent("node-a");
    PodRef pod = env.createGvisorPod("victim", 64);
    AtomicInteger eventCreations = new AtomicInteger();
    env.cluster().failRequests((method, path) -> method.equals("POST") && path.startsWith(EVENTS)
        && eventCreations.incrementAndGet() > 0, 403, Map.of());
    env.startAgent(Optional.of(KernelLogs.sandboxOomOf(pod, dir)));

    assertTrue(Await.until(() -> inPhase(OOMIncidentStatus.FAILED).size() == 1, DEADLINE, Duration.ofMillis(50)),
        "no Failed phase: " + env.cluster().incidents("default"));
    OOMIncidentStatus status = inPhase(OOMIncidentStatus.FAILED).get(0).getStatus();
    assertTrue(status.getMessage().contains("HTTP 403: injected by the test"), status.getMessage());
    assertEquals(1, eventCreations.get(), "the refused Event was asked for again");
    assertTrue(env.agent().metricValue("oomwatch_incidents_pending") == 0);
    assertTrue(Await.until(() -> env.agent().readiness().ready(), DEADLINE, Duration.ofMillis(50)));
  }

  @Test
  void aReportThatFailsForNowIsRetriedUntilItIsWritten() throws Exception {
    env = DemoEnvironment.withoutAgent("node-a");
    PodRef pod = env.createGvisorPod("victim", 64);
    AtomicInteger eventCreations = new AtomicInteger();
    env.cluster().failRequests((method, path) -> method.equals("POST") && path.startsWith(EVENTS)
        && eventCreations.incrementAndGet() > 0, 503, Map.of());
    env.startAgent(Optional.of(KernelLogs.sandboxOomOf(pod, dir)));

    assertTrue(Await.until(() -> eventCreations.get() >= 2, DEADLINE, Duration.ofMillis(50)), "not retried");
    assertEquals(List.of(), inPhase(OOMIncidentStatus.FAILED));
    env.cluster().stopFailing();
    assertTrue(Await.until(() -> inPhase(OOMIncidentStatus.REPORTED).size() == 1, DEADLINE, Duration.ofMillis(50)),
        "not reported once the API healed");
    assertEquals(1, env.cluster().events(pod).size());
  }

  @Test
  void onlyARefusalForGoodStopsTheFrameworksRetries() {
    env = DemoEnvironment.withoutAgent("node-a");
    OomIncidentReconciler reconciler = new OomIncidentReconciler(env.cluster().client(),
        new PodEventRecorder(env.cluster().client(), "node-a", Clock.systemUTC()),
        new PodConditionWriter(env.cluster().client()), new AgentMetrics(), Clock.systemUTC(), Duration.ofDays(7));
    for (int code : new int[] {400, 403, 404, 422}) {
      ErrorStatusUpdateControl<OOMIncident> control = reconciler.updateErrorStatus(incident(), null, refusal(code));
      assertTrue(control.isNoRetry(), "HTTP " + code);
      assertEquals(OOMIncidentStatus.FAILED, control.getResource().orElseThrow().getStatus().getPhase());
    }
    for (int code : new int[] {0, 401, 409, 429, 500, 503}) {
      ErrorStatusUpdateControl<OOMIncident> control = reconciler.updateErrorStatus(incident(), null, refusal(code));
      assertTrue(control.isDefaultErrorProcessing(), "HTTP " + code);
      assertTrue(control.getResource().isEmpty(), "HTTP " + code);
    }
    assertTrue(reconciler.updateErrorStatus(incident(), null, new IllegalStateException("Event appeared concurrently"))
        .isDefaultErrorProcessing());
  }

  private static OOMIncident incident() {
    OOMIncident incident = new OOMIncident();
    incident.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName("x").withNamespace("default")
        .withGeneration(1L).build());
    return incident;
  }

  private static KubernetesClientException refusal(int code) {
    return new KubernetesClientException("refused", code, new StatusBuilder().withCode(code).withMessage("refused")
        .build());
  }

  private AgentConfig config(Path kmsg) {
    Map<String, String> flags = new HashMap<>(Map.of(
        "nodeName", "node-a",
        "kubeconfig", env.cluster().kubeconfig().toString(),
        "runscRoot", env.runscRoot().toString(),
        "runtimeHandler", DemoEnvironment.HANDLER,
        "httpPort", "0",
        "kmsg", kmsg.toString()));
    return ConfigLoader.load(Optional.empty(), Map.of(), flags);
  }
}
