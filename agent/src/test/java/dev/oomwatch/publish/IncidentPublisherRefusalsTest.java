package dev.oomwatch.publish;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.crd.OOMIncident;
import dev.oomwatch.metrics.AgentMetrics;
import dev.oomwatch.model.Evidence;
import dev.oomwatch.model.MemoryScope;
import dev.oomwatch.model.OomIncident;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.model.Verdict;
import dev.oomwatch.podreport.PodConditionWriter;
import dev.oomwatch.podreport.PodEventRecorder;
import dev.oomwatch.testing.Await;
import dev.oomwatch.testing.CapturedLog;
import dev.oomwatch.testing.EmbeddedCluster;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiPredicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What the publisher does with each answer of the API: a refusal for good (400, 403, 404, 422) drops
 * the write with a metric and a log line, a transient failure (429, 500, 503, a timeout) is retried
 * with the entry's own backoff, a 409 merges, and no entry holds up another. The incident of namespace
 * {@code closing} is the one whose creation the API stand-in fails; {@code default}'s is served.
 */
class IncidentPublisherRefusalsTest {
  private static final Instant KILLED = Instant.parse("2026-11-28T12:45:12.345Z");
  private static final Duration DEADLINE = Duration.ofSeconds(60);
  private static final Duration POLL = Duration.ofMillis(20);
  private static final String CLOSING_INCIDENTS = "/namespaces/closing/oomincidents";
  private static final String DEFAULT_INCIDENTS = "/namespaces/default/oomincidents";

  private EmbeddedCluster cluster;
  private IncidentPublisher publisher;
  private final AgentMetrics metrics = new AgentMetrics();
  private PodRef failing;
  private PodRef served;
  /** When each matching request arrived (System.nanoTime). */
  private final List<Long> attempts = new CopyOnWriteArrayList<>();

  @BeforeEach
  void setUp() {
    cluster = new EmbeddedCluster();
    failing = cluster.createRunningPod("closing", "first", "node-a", "gvisor", "c", "64Mi");
    served = cluster.createRunningPod("default", "second", "node-a", "gvisor", "c", "64Mi");
  }

  private void startPublisher(KubernetesClient client) {
    publisher = new IncidentPublisher(client, new PodEventRecorder(client, "node-a", Clock.systemUTC()),
        new PodConditionWriter(client), metrics, 100, 50);
  }

  @AfterEach
  void tearDown() {
    if (publisher != null) {
      publisher.close();
    }
    cluster.close();
  }

  private static OomIncident incident(String id, PodRef pod) {
    return new OomIncident(id, pod, "node-a", Optional.of("sandbox-" + id), Verdict.CONFIRMED,
        Optional.of("exe (pid 7)"), MemoryScope.cgroup("/kubepods/burstable/pod" + pod.uid()), OptionalLong.of(64L << 20), KILLED, KILLED, OomIncident.WHOLE_POD,
        OptionalDouble.empty(), List.of(new Evidence("kmsg", "kernel OOM kill", KILLED)));
  }

  private BiPredicate<String, String> counted(String method, String pathPart) {
    return (m, path) -> {
      boolean matches = m.equals(method) && path.contains(pathPart);
      if (matches) {
        attempts.add(System.nanoTime());
      }
      return matches;
    };
  }

  private OOMIncident stored(String namespace, String id) {
    return cluster.client().resources(OOMIncident.class).inNamespace(namespace).withName(id).get();
  }

  private String metrics() {
    return metrics.text();
  }

  @ParameterizedTest(name = "HTTP {0}")
  @ValueSource(ints = {400, 403, 404, 422})
  void aRefusalForGoodIsDroppedCountedAndLoggedOnceAndTheNextIncidentIsCreated(int code) throws Exception {
    startPublisher(IncidentPublisher.clientFor(cluster.client()));
    cluster.failRequests(counted("POST", CLOSING_INCIDENTS), code, Map.of());
    try (CapturedLog log = new CapturedLog()) {
      publisher.submit(incident("refused", failing));
      publisher.submit(incident("later", served));

      assertTrue(Await.until(() -> stored("default", "later") != null, DEADLINE, POLL), "the later incident waited");
      assertTrue(Await.until(() -> publisher.pendingCount() == 0, DEADLINE, POLL), "the refused write is still queued");
      assertEquals(1, attempts.size(), "a refused write is not retried");
      assertTrue(metrics().contains("oomwatch_incident_publish_rejected_total{code=\"" + code + "\"} 1.0"), metrics());
      assertTrue(metrics().contains("oomwatch_incident_publish_failures_total 0.0"), metrics());
      List<String> warnings = log.lines().stream().filter(l -> l.contains("WARN") && l.contains("refused")).toList();
      assertEquals(1, warnings.size(), log.lines().toString());
      assertTrue(warnings.get(0).contains("OOMIncident refused of pod closing/first"), warnings.get(0));
      assertTrue(warnings.get(0).contains("HTTP " + code + ": injected by the test"), warnings.get(0));
    }
    assertNull(stored("closing", "refused"));
  }

  @ParameterizedTest(name = "HTTP {0}")
  @ValueSource(ints = {500, 503})
  void aServerErrorIsRetriedUntilItSucceedsWhileLaterIncidentsGoOn(int code) throws Exception {
    startPublisher(IncidentPublisher.clientFor(cluster.client()));
    cluster.failRequests(counted("POST", CLOSING_INCIDENTS), code, Map.of());
    publisher.submit(incident("failing", failing));
    publisher.submit(incident("later", served));

    assertTrue(Await.until(() -> stored("default", "later") != null, DEADLINE, POLL), "the later incident waited");
    assertTrue(Await.until(() -> attempts.size() >= 2, DEADLINE, POLL), "the failing write was not retried");
    assertNull(stored("closing", "failing"));
    assertEquals(1, publisher.pendingCount(), "the failing write is kept");

    cluster.stopFailing();
    assertTrue(Await.until(() -> stored("closing", "failing") != null, DEADLINE, POLL), "not created once the API healed");
    assertTrue(Await.until(() -> publisher.pendingCount() == 0, DEADLINE, POLL));
    assertTrue(metrics().matches("(?s).*oomwatch_incident_publish_failures_total [1-9].*"), metrics());
    // fabric8's own retries are off for the publisher: each failed request is one failure of the
    // publisher's, retried with the entry's backoff, not ten requests inside one blocking call
    assertEquals(attempts.size(), failures(), metrics());
    assertFalse(metrics().contains("oomwatch_incident_publish_rejected_total{"), metrics());
  }

  private long failures() {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("oomwatch_incident_publish_failures_total ([0-9.]+)")
        .matcher(metrics());
    return m.find() ? (long) Double.parseDouble(m.group(1)) : -1;
  }

  @Test
  void aTooManyRequestsAnswerIsRetriedNoSoonerThanItsRetryAfter() throws Exception {
    startPublisher(IncidentPublisher.clientFor(cluster.client()));
    cluster.failRequests(counted("POST", CLOSING_INCIDENTS), 429, Map.of("Retry-After", "3"));
    publisher.submit(incident("throttled", failing));
    publisher.submit(incident("later", served));

    assertTrue(Await.until(() -> attempts.size() >= 2, DEADLINE, POLL), "the throttled write was not retried");
    // without the server's Retry-After the first retry comes after 1 s
    long gap = attempts.get(1) - attempts.get(0);
    assertTrue(gap >= Duration.ofMillis(2900).toNanos(), "retried after " + Duration.ofNanos(gap).toMillis() + " ms");
    assertNotNull(stored("default", "later"), "the later incident waited for the throttled one");

    cluster.stopFailing();
    assertTrue(Await.until(() -> stored("closing", "throttled") != null, DEADLINE, POLL));
    assertFalse(metrics().contains("oomwatch_incident_publish_rejected_total{"), metrics());
  }

  @Test
  void aConflictMergesIntoTheIncidentThatExists() throws Exception {
    startPublisher(IncidentPublisher.clientFor(cluster.client()));
    OomIncident first = incident("seen-twice", served);
    cluster.client().resources(OOMIncident.class).inNamespace("default")
        .resource(IncidentResources.toResource(first)).create();
    OomIncident more = new OomIncident(first.id(), served, "node-a", first.sandboxId(), Verdict.CONFIRMED,
        first.victim(), first.memcg(), first.limitBytes(), KILLED, KILLED, OomIncident.WHOLE_POD,
        OptionalDouble.empty(), List.of(new Evidence("kmsg", "kernel OOM kill", KILLED),
            new Evidence("cgroup", "oom_kill 0 → 1", KILLED.plusSeconds(1))));

    publisher.submit(more);

    assertTrue(Await.until(() -> stored("default", "seen-twice").getSpec().getEvidence().size() == 2, DEADLINE, POLL));
    assertTrue(Await.until(() -> metrics().contains("oomwatch_incidents_merged_total 1.0"), DEADLINE, POLL), metrics());
    assertFalse(metrics().contains("oomwatch_incident_publish_rejected_total{"), metrics());
  }

  @Test
  void aRefusedMergeLeavesTheIncidentAsItWas() throws Exception {
    startPublisher(IncidentPublisher.clientFor(cluster.client()));
    OomIncident first = incident("kept", served);
    cluster.client().resources(OOMIncident.class).inNamespace("default")
        .resource(IncidentResources.toResource(first)).create();
    // e.g. a webhook or the CRD's validation refusing the merged spec; the incident is unchanged, so
    // this 422 is no failed resourceVersion test
    cluster.failRequests(counted("PATCH", DEFAULT_INCIDENTS + "/kept"), 422, Map.of());
    publisher.submit(new OomIncident(first.id(), served, "node-a", first.sandboxId(), Verdict.CONFIRMED,
        first.victim(), first.memcg(), first.limitBytes(), KILLED, KILLED, OomIncident.WHOLE_POD,
        OptionalDouble.empty(), List.of(new Evidence("kmsg", "kernel OOM kill", KILLED),
            new Evidence("cgroup", "oom_kill 0 → 1", KILLED.plusSeconds(1)))));
    publisher.submit(incident("later", served));

    assertTrue(Await.until(() -> publisher.pendingCount() == 0, DEADLINE, POLL));
    assertEquals(1, attempts.size(), "a refused merge is not retried");
    assertTrue(metrics().contains("oomwatch_incident_publish_rejected_total{code=\"422\"} 1.0"), metrics());
    assertEquals(1, stored("default", "kept").getSpec().getEvidence().size(), "the incident is kept as it was");
    assertNotNull(stored("default", "later"));
  }

  @Test
  void aSlowApiServerNeitherBlocksSubmissionsNorMakesThePublisherGiveUp() throws Exception {
    startPublisher(IncidentPublisher.clientFor(cluster.client()));
    cluster.delayResponses(counted("POST", DEFAULT_INCIDENTS), Duration.ofSeconds(10));
    publisher.submit(incident("slow-1", served));
    assertTrue(Await.until(() -> attempts.size() == 1, DEADLINE, POLL));

    // the publisher's thread waits for the answer; detection must not
    assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
      publisher.submit(incident("slow-2", served));
      publisher.submitWarning(served, "NearOOM", "near", "near-1", Optional.empty(), KILLED);
    });

    assertTrue(Await.until(() -> publisher.pendingCount() == 0, DEADLINE, Duration.ofMillis(200)),
        "still pending: " + publisher.pendingCount());
    assertNotNull(stored("default", "slow-1"));
    assertNotNull(stored("default", "slow-2"));
    assertEquals(2, attempts.size(), "an answer after 10 s is within the request timeout: no retry");
    assertTrue(metrics().contains("oomwatch_incident_publish_failures_total 0.0"), metrics());
  }

  @Test
  void aRequestThatTimesOutIsRetriedAndFindsTheIncidentItCreated() throws Exception {
    startPublisher(IncidentPublisher.clientFor(cluster.client(), Duration.ofSeconds(2)));
    // the first creation is done by the server but answered after the client gave up
    cluster.delayResponses((m, path) -> counted("POST", DEFAULT_INCIDENTS).test(m, path) && attempts.size() == 1,
        Duration.ofSeconds(6));
    publisher.submit(incident("timed-out", served));

    assertTrue(Await.until(() -> publisher.pendingCount() == 0, DEADLINE, Duration.ofMillis(100)),
        "still pending; " + metrics());
    assertTrue(attempts.size() >= 2, "not retried after the timeout");
    assertTrue(metrics().matches("(?s).*oomwatch_incident_publish_failures_total [1-9].*"), metrics());
    assertTrue(metrics().contains("oomwatch_incidents_seen_before_total 1.0"), "the retry met a 409: " + metrics());
    assertEquals(1, cluster.incidents("default").size());
  }

  @Test
  void aWarningWhoseEventIsRefusedKeepsItsConditionAndIsDropped() throws Exception {
    startPublisher(IncidentPublisher.clientFor(cluster.client()));
    cluster.failRequests(counted("POST", "/api/v1/namespaces/default/events"), 403, Map.of());
    publisher.submitWarning(served, "MemoryLimitNotEnforced", "sandbox outside its pod's cgroup", "unlimited-1",
        Optional.of(PodConditionWriter.LIMIT_NOT_ENFORCED_TYPE), KILLED);
    publisher.submit(incident("later", served));

    assertTrue(Await.until(() -> publisher.pendingCount() == 0, DEADLINE, POLL));
    assertNotNull(stored("default", "later"));
    assertEquals(1, attempts.size(), "a refused Event is not retried");
    assertTrue(metrics().contains("oomwatch_incident_publish_rejected_total{code=\"403\"} 1.0"), metrics());
    assertTrue(cluster.pod(served).getStatus().getConditions().stream()
        .anyMatch(c -> PodConditionWriter.LIMIT_NOT_ENFORCED_TYPE.equals(c.getType())), "the condition was written");
    assertEquals(0, cluster.events(served).size());
  }

  @Test
  void backoffDoublesFromOneToThirtySeconds() {
    assertEquals(Duration.ofSeconds(1), IncidentPublisher.RETRY.delayAfter(1));
    assertEquals(Duration.ofSeconds(2), IncidentPublisher.RETRY.delayAfter(2));
    assertEquals(Duration.ofSeconds(16), IncidentPublisher.RETRY.delayAfter(5));
    assertEquals(Duration.ofSeconds(30), IncidentPublisher.RETRY.delayAfter(6));
    assertEquals(Duration.ofSeconds(30), IncidentPublisher.RETRY.delayAfter(1000));
  }
}
