package dev.oomwatch.publish;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.crd.EvidenceItem;
import dev.oomwatch.crd.OOMIncident;
import dev.oomwatch.metrics.AgentMetrics;
import dev.oomwatch.model.Evidence;
import dev.oomwatch.model.GvisorPods;
import dev.oomwatch.model.MemoryScope;
import dev.oomwatch.model.OomIncident;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.model.Verdict;
import dev.oomwatch.model.WatchedPod;
import dev.oomwatch.podreport.PodConditionWriter;
import dev.oomwatch.podreport.PodEventRecorder;
import dev.oomwatch.testing.Await;
import dev.oomwatch.testing.EmbeddedCluster;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Creating, and merging into, incidents against the API stand-in. */
class IncidentPublisherTest {
  private static final Instant KILLED = Instant.parse("2026-11-28T12:45:12.345Z");
  private static final Evidence KMSG = new Evidence("kmsg", "kernel OOM kill", KILLED);
  private static final Evidence CGROUP = new Evidence("cgroup", "oom_kill 0 → 1", KILLED.plusSeconds(1));
  private EmbeddedCluster cluster;
  private IncidentPublisher publisher;
  private final AgentMetrics metrics = new AgentMetrics();
  private PodRef pod;

  @BeforeEach
  void setUp() {
    cluster = new EmbeddedCluster();
    pod = cluster.createRunningPod("default", "app", "node-a", "gvisor", "c", "64Mi");
    WatchedPod watched = new WatchedPod(pod, "gvisor", OptionalLong.of(64L << 20));
    metrics.registerPodOomKills(new GvisorPods() {
      @Override
      public Optional<WatchedPod> byUid(String podUid) {
        return Optional.of(watched).filter(p -> p.ref().uid().equals(podUid));
      }

      @Override
      public Collection<WatchedPod> all() {
        return List.of(watched);
      }
    }, uid -> OptionalLong.empty());
    publisher = new IncidentPublisher(cluster.client(), new PodEventRecorder(cluster.client(), "node-a",
        Clock.systemUTC()), new PodConditionWriter(cluster.client()), metrics, 100, 50);
  }

  @AfterEach
  void tearDown() {
    publisher.close();
    cluster.close();
  }

  private OomIncident incident(Verdict verdict, List<Evidence> evidence) {
    return new OomIncident("app-oom-1", pod, "node-a", Optional.of("sandbox-1"), verdict, Optional.of("exe (pid 7)"),
        MemoryScope.cgroup("/kubepods/burstable/pod" + pod.uid()), OptionalLong.of(64L << 20), KILLED, KILLED, OomIncident.WHOLE_POD,
        OptionalDouble.empty(), evidence);
  }

  private List<EvidenceItem> evidence() {
    OOMIncident stored = cluster.client().resources(OOMIncident.class).inNamespace("default").withName("app-oom-1")
        .get();
    return stored == null ? List.of() : stored.getSpec().getEvidence();
  }

  private String metrics() {
    return metrics.text();
  }

  @Test
  void laterEvidenceIsMergedOnceAndARepeatChangesNothing() throws Exception {
    publisher.submit(incident(Verdict.LIKELY, List.of(CGROUP)));
    assertTrue(Await.until(() -> evidence().size() == 1, Duration.ofSeconds(10), Duration.ofMillis(20)));

    publisher.submit(incident(Verdict.CONFIRMED, List.of(KMSG, CGROUP)));
    assertTrue(Await.until(() -> evidence().size() == 2, Duration.ofSeconds(10), Duration.ofMillis(20)));
    publisher.submit(incident(Verdict.CONFIRMED, List.of(KMSG, CGROUP)));
    assertTrue(Await.until(() -> metrics().contains("oomwatch_incidents_seen_before_total 1.0"), Duration.ofSeconds(10),
        Duration.ofMillis(20)));

    OOMIncident stored = cluster.client().resources(OOMIncident.class).inNamespace("default").withName("app-oom-1")
        .get();
    assertEquals("Confirmed", stored.getSpec().getVerdict(), "the strongest verdict wins");
    assertEquals(List.of("cgroup", "kmsg"), stored.getSpec().getEvidence().stream().map(EvidenceItem::getSource)
        .toList(), "each piece of evidence once, oldest first");
    assertTrue(metrics().contains("oomwatch_incidents_merged_total 1.0"), metrics());
  }

  @Test
  void aWeakerVerdictNeverWeakensTheIncident() throws InterruptedException {
    publisher.submit(incident(Verdict.CONFIRMED, List.of(KMSG)));
    assertTrue(Await.until(() -> evidence().size() == 1, Duration.ofSeconds(10), Duration.ofMillis(20)));
    publisher.submit(incident(Verdict.POSSIBLE, List.of(KMSG, CGROUP)));
    assertTrue(Await.until(() -> evidence().size() == 2, Duration.ofSeconds(10), Duration.ofMillis(20)));
    assertEquals("Confirmed", cluster.client().resources(OOMIncident.class).inNamespace("default")
        .withName("app-oom-1").get().getSpec().getVerdict());
  }

  private static final Evidence KUBELET = new Evidence("pods",
      "kubelet: container c terminated with exit code 137 (OOMKilled)", KILLED.plusSeconds(1));

  private OomIncident named(String id, Optional<String> sandbox, Instant killedAt, List<Evidence> evidence) {
    return new OomIncident(id, pod, "node-a", sandbox, Verdict.CONFIRMED, Optional.empty(), MemoryScope.UNKNOWN,
        OptionalLong.of(64L << 20), killedAt, killedAt, OomIncident.WHOLE_POD, OptionalDouble.empty(), evidence);
  }

  private List<OOMIncident> stored() {
    return cluster.client().resources(OOMIncident.class).inNamespace("default").list().getItems();
  }

  /**
   * An agent restart re-sees kubelet's OOMKilled without the kernel log that named the incident: the
   * fusion names it after kubelet's termination, and the publisher finds the kill under its first name.
   */
  @Test
  void kubeletsNameOfAKillAlreadyReportedUnderItsSandboxsNameMergesIntoIt() throws Exception {
    publisher.submit(named("app-oom-sandbox", Optional.of("sandbox-1"), KILLED, List.of(KMSG)));
    assertTrue(Await.until(() -> stored().size() == 1, Duration.ofSeconds(10), Duration.ofMillis(20)));
    publisher.submit(named("app-oom-kubelet", Optional.empty(), KILLED.plusSeconds(1), List.of(KUBELET)));
    assertTrue(Await.until(() -> stored().get(0).getSpec().getEvidence().size() == 2, Duration.ofSeconds(10),
        Duration.ofMillis(20)));
    assertEquals(List.of("app-oom-sandbox"), stored().stream().map(i -> i.getMetadata().getName()).toList());
    assertEquals(pod.uid(), stored().get(0).getMetadata().getLabels().get(OOMIncident.POD_UID_LABEL));

    // and the other way round: kubelet's name first, the sandbox's name of the same kill after
    publisher.submit(named("app-oom-kubelet-2", Optional.empty(), KILLED.plusSeconds(600), List.of(KUBELET)));
    assertTrue(Await.until(() -> stored().size() == 2, Duration.ofSeconds(10), Duration.ofMillis(20)));
    publisher.submit(named("app-oom-sandbox-2", Optional.of("sandbox-2"), KILLED.plusSeconds(599), List.of(KMSG)));
    assertTrue(Await.until(() -> metrics().contains("oomwatch_incidents_merged_total 2.0"), Duration.ofSeconds(10),
        Duration.ofMillis(20)), metrics());
    assertEquals(java.util.Set.of("app-oom-sandbox", "app-oom-kubelet-2"),
        stored().stream().map(i -> i.getMetadata().getName()).collect(java.util.stream.Collectors.toSet()));
    OOMIncident second = cluster.client().resources(OOMIncident.class).inNamespace("default")
        .withName("app-oom-kubelet-2").get();
    assertEquals("sandbox-2", second.getSpec().getSandboxId(), "the unknown sandbox filled in");
    assertTrue(metrics().contains("oomwatch_pod_oom_kills_total{namespace=\"default\",pod=\"app\"} 2.0"),
        "two kills, each counted once under the name it is reported by: " + metrics());
  }

  @Test
  void killsOfOnePodInOtherSandboxesOrFarApartStayApart() throws Exception {
    publisher.submit(named("app-oom-a", Optional.of("sandbox-a"), KILLED, List.of(KMSG)));
    publisher.submit(named("app-oom-b", Optional.of("sandbox-b"), KILLED.plusSeconds(5), List.of(KMSG)));
    publisher.submit(named("app-oom-c", Optional.empty(), KILLED.plusSeconds(120), List.of(KUBELET)));
    assertTrue(Await.until(() -> stored().size() == 3, Duration.ofSeconds(10), Duration.ofMillis(20)),
        stored().toString());
  }

  /**
   * With the controller's cache synced, the same-kill check reads it instead of listing the pod's
   * incidents: a kill reported before a restart (in the cache) takes kubelet's later name of it, and no
   * list request is made; a cache that cannot answer falls back to the list.
   */
  @Test
  void theSameKillCheckReadsTheCacheWhenItCanAnswerAndListsWhenItCannot() throws Exception {
    OOMIncident before = cluster.client().resources(OOMIncident.class).inNamespace("default")
        .resource(IncidentResources.toResource(named("app-oom-sandbox", Optional.of("sandbox-1"), KILLED,
            List.of(KMSG))))
        .create();
    java.util.concurrent.atomic.AtomicBoolean cacheAnswers = new java.util.concurrent.atomic.AtomicBoolean(true);
    List<String> lists = new java.util.concurrent.CopyOnWriteArrayList<>();
    cluster.failRequests((method, path) -> {
      if (method.equals("GET") && path.contains("/oomincidents?")) {
        lists.add(path);
      }
      return false;
    });
    publisher.close();
    publisher = new IncidentPublisher(cluster.client(), new PodEventRecorder(cluster.client(), "node-a",
        Clock.systemUTC()), new PodConditionWriter(cluster.client()), metrics, 100, 50,
        (namespace, podUid) -> cacheAnswers.get() && podUid.equals(pod.uid()) ? Optional.of(List.of(before))
            : Optional.empty());

    publisher.submit(named("app-oom-kubelet", Optional.empty(), KILLED.plusSeconds(1), List.of(KUBELET)));
    assertTrue(Await.until(() -> stored().get(0).getSpec().getEvidence().size() == 2, Duration.ofSeconds(10),
        Duration.ofMillis(20)));
    assertEquals(List.of("app-oom-sandbox"), stored().stream().map(i -> i.getMetadata().getName()).toList());
    assertEquals(List.of(), lists.stream().filter(l -> l.contains(pod.uid())).toList());

    cacheAnswers.set(false);
    publisher.submit(named("app-oom-later", Optional.of("sandbox-2"), KILLED.plusSeconds(600), List.of(KMSG)));
    assertTrue(Await.until(() -> stored().size() == 2, Duration.ofSeconds(10), Duration.ofMillis(20)));
    assertEquals(1, lists.stream().filter(l -> l.contains(pod.uid())).count(), lists.toString());
  }
}
