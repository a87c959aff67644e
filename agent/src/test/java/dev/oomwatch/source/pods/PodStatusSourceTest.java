package dev.oomwatch.source.pods;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.model.ContainerExit;
import dev.oomwatch.model.Observation;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.model.PodSandboxChanged;
import dev.oomwatch.testing.Await;
import dev.oomwatch.testing.EmbeddedCluster;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.EventList;
import io.fabric8.kubernetes.api.model.ListOptionsBuilder;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The pods source against the API stand-in, which applies Events' field selectors and {@code limit}
 * as a real API server does: kubelet's SandboxChanged Event is asked for per pod, when its containers
 * terminate, in one small page, and never watched.
 */
class PodStatusSourceTest {
  private static final Duration DEADLINE = Duration.ofSeconds(30);
  private EmbeddedCluster cluster;
  private PodWatch watch;
  private PodStatusSource source;
  private final List<Observation> seen = new CopyOnWriteArrayList<>();
  private final List<RecordedRequest> requests = new ArrayList<>();

  @BeforeEach
  void setUp() {
    cluster = new EmbeddedCluster();
    cluster.createRuntimeClass("gvisor", "runsc");
    watch = new PodWatch(cluster.client(), "node-a", "runsc");
    source = new PodStatusSource(cluster.client(), watch);
    watch.start();
    source.start(seen::add);
  }

  @AfterEach
  void tearDown() {
    source.close();
    watch.close();
    cluster.close();
  }

  private PodRef runningPod(String name) throws InterruptedException {
    PodRef ref = cluster.createRunningPod("default", name, "node-a", "gvisor", "app", "64Mi");
    assertTrue(Await.until(() -> watch.byUid(ref.uid()).isPresent(), DEADLINE, Duration.ofMillis(20)));
    return ref;
  }

  private Event sandboxChanged(PodRef pod, String name, Instant at, String message) {
    return cluster.client().v1().events().inNamespace(pod.namespace()).resource(new EventBuilder()
        .withNewMetadata().withNamespace(pod.namespace()).withName(name).endMetadata()
        .withNewInvolvedObject().withKind("Pod").withApiVersion("v1").withNamespace(pod.namespace())
          .withName(pod.name()).withUid(pod.uid()).endInvolvedObject()
        .withReason("SandboxChanged").withType("Normal").withMessage(message)
        .withNewSource().withComponent("kubelet").withHost("node-a").endSource()
        .withFirstTimestamp(at.toString()).withLastTimestamp(at.toString()).withCount(1)
        .build()).create();
  }

  private List<PodSandboxChanged> sandboxChanges() {
    return seen.stream().filter(PodSandboxChanged.class::isInstance).map(PodSandboxChanged.class::cast).toList();
  }

  /** The Event requests the stand-in received so far (decoded paths), the test's own included. */
  private List<String> eventRequests() throws InterruptedException {
    for (RecordedRequest r = cluster.server().takeRequest(100, TimeUnit.MILLISECONDS); r != null;
        r = cluster.server().takeRequest(100, TimeUnit.MILLISECONDS)) {
      requests.add(r);
    }
    return requests.stream().filter(r -> r.getMethod().equals("GET") && r.getPath().contains("/events"))
        .map(r -> URLDecoder.decode(r.getPath(), StandardCharsets.UTF_8)).toList();
  }

  @Test
  void aTerminationAsksForThatPodsSandboxChangedEventInOneSmallPage() throws Exception {
    PodRef pod = runningPod("victim");
    PodRef other = runningPod("bystander");
    Instant now = Instant.now();
    sandboxChanged(pod, "victim.1", now, "Pod sandbox changed, it will be killed and re-created.");
    sandboxChanged(other, "bystander.1", now, "Pod sandbox changed, it will be killed and re-created.");

    cluster.terminateContainersLikeKubelet(pod, 128);

    assertTrue(Await.until(() -> !sandboxChanges().isEmpty(), DEADLINE, Duration.ofMillis(50)), seen.toString());
    assertEquals(List.of(new PodSandboxChanged(pod, now)), sandboxChanges());
    assertTrue(seen.stream().anyMatch(o -> o instanceof ContainerExit exit && exit.exitCode() == 128), seen.toString());
    List<String> lookups = eventRequests().stream().filter(p -> p.contains("involvedObject.uid")).toList();
    assertEquals(1, lookups.size(), lookups.toString());
    String lookup = lookups.get(0);
    assertTrue(lookup.startsWith("/api/v1/namespaces/default/events?"), lookup);
    assertTrue(lookup.contains("involvedObject.uid=" + pod.uid()), lookup);
    assertTrue(lookup.contains("reason=SandboxChanged"), lookup);
    assertTrue(lookup.contains("limit=" + PodStatusSource.EVENTS_PER_LOOKUP), lookup);
    assertTrue(eventRequests().stream().noneMatch(p -> p.contains("watch=true")), "Events must never be watched");
  }

  @Test
  void anEventKubeletRecordsAfterTheStatusIsFoundByTheSecondLookup() throws Exception {
    PodRef pod = runningPod("late");
    cluster.terminateContainersLikeKubelet(pod, 128);
    assertTrue(Await.until(() -> {
      try {
        return eventRequests().stream().anyMatch(p -> p.contains("involvedObject.uid=" + pod.uid()));
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    }, DEADLINE, Duration.ofMillis(50)), "no first lookup");
    Instant at = Instant.now();
    sandboxChanged(pod, "late.1", at, "Pod sandbox changed, it will be killed and re-created.");

    assertTrue(Await.until(() -> !sandboxChanges().isEmpty(), DEADLINE, Duration.ofMillis(50)), seen.toString());
    assertEquals(List.of(new PodSandboxChanged(pod, at)), sandboxChanges());
  }

  @Test
  void aFloodOfForgedEventsNamingThePodIsReadOnePageAtMost() throws Exception {
    PodRef pod = runningPod("flooded");
    Instant now = Instant.now();
    String big = "x".repeat(64 * 1024);
    for (int i = 0; i < 20; i++) {
      sandboxChanged(pod, String.format("forged-%02d", i), now, big);
    }
    // the stand-in pages as the API server does
    EventList page = cluster.client().v1().events().inNamespace("default")
        .withField("involvedObject.uid", pod.uid()).withField("reason", "SandboxChanged")
        .list(new ListOptionsBuilder().withLimit(4L).build());
    assertEquals(4, page.getItems().size());
    assertEquals(16L, page.getMetadata().getRemainingItemCount());
    EventList rest = cluster.client().v1().events().inNamespace("default")
        .withField("involvedObject.uid", pod.uid()).withField("reason", "SandboxChanged")
        .list(new ListOptionsBuilder().withLimit(100L).withContinue(page.getMetadata().getContinue()).build());
    assertEquals(16, rest.getItems().size());
    assertEquals("forged-04", rest.getItems().get(0).getMetadata().getName());

    cluster.terminateContainersLikeKubelet(pod, 128);

    assertTrue(Await.until(() -> !sandboxChanges().isEmpty(), DEADLINE, Duration.ofMillis(50)), seen.toString());
    assertTrue(Await.until(() -> {
      try {
        return eventRequests().stream().filter(p -> p.contains("involvedObject.uid=" + pod.uid())
            && p.contains("limit=" + PodStatusSource.EVENTS_PER_LOOKUP)).count() == 1;
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    }, DEADLINE, Duration.ofMillis(50)));
    assertEquals(PodStatusSource.EVENTS_PER_LOOKUP, sandboxChanges().size(), "one page, and nothing more");
  }

  @Test
  void theFirstSightOfAPodWithOldTerminationsAsksForNothing() throws Exception {
    source.close();
    watch.close();
    PodRef pod = cluster.createRunningPod("default", "old", "node-a", "gvisor", "app", "64Mi");
    PodRef trigger = cluster.createRunningPod("default", "trigger", "node-a", "gvisor", "app", "64Mi");
    cluster.terminateContainersLikeKubelet(pod, 128);
    try (PodWatch fresh = new PodWatch(cluster.client(), "node-a", "runsc")) {
      List<Observation> freshSeen = new CopyOnWriteArrayList<>();
      PodStatusSource freshSource = new PodStatusSource(cluster.client(), fresh);
      fresh.start();
      freshSource.start(freshSeen::add);
      try {
        assertTrue(Await.until(() -> freshSeen.stream().anyMatch(ContainerExit.class::isInstance), DEADLINE,
            Duration.ofMillis(20)), "the termination is still reported");
        // a new termination of another pod: its lookup runs after any that the first sight would have
        // scheduled (one thread, the same delay)
        cluster.terminateContainersLikeKubelet(trigger, 137);
        assertTrue(Await.until(() -> {
          try {
            return eventRequests().stream().anyMatch(p -> p.contains("involvedObject.uid=" + trigger.uid()));
          } catch (InterruptedException e) {
            throw new IllegalStateException(e);
          }
        }, DEADLINE, Duration.ofMillis(50)), "the new termination was not looked up");
        assertTrue(eventRequests().stream().noneMatch(p -> p.contains("involvedObject.uid=" + pod.uid())),
            eventRequests().toString());
      } finally {
        freshSource.close();
      }
    }
  }

  /** The terminations of an agent restart are in the first sight of each pod; nothing may drop them. */
  private static void assertFirstSightReported(List<Observation> freshSeen) throws InterruptedException {
    assertTrue(Await.until(() -> freshSeen.stream().anyMatch(ContainerExit.class::isInstance), DEADLINE,
        Duration.ofMillis(20)), "the termination seen at the first sight is not reported");
  }

  @Test
  void aSourceStartedAfterThePodsAreCachedStillSeesTheirFirstSight() throws Exception {
    source.close();
    watch.close();
    PodRef pod = cluster.createRunningPod("default", "early", "node-a", "gvisor", "app", "64Mi");
    cluster.terminateContainersLikeKubelet(pod, 128);
    try (PodWatch fresh = new PodWatch(cluster.client(), "node-a", "runsc")) {
      fresh.start();
      assertTrue(Await.until(() -> fresh.byUid(pod.uid()).isPresent(), DEADLINE, Duration.ofMillis(20)));
      List<Observation> freshSeen = new CopyOnWriteArrayList<>();
      PodStatusSource freshSource = new PodStatusSource(cluster.client(), fresh);
      freshSource.start(freshSeen::add);
      try {
        assertFirstSightReported(freshSeen);
      } finally {
        freshSource.close();
      }
    }
  }

  @Test
  void aPodListedBeforeItsRuntimeClassIsStillTakenForAGvisorPod() throws Exception {
    source.close();
    watch.close();
    PodRef pod = cluster.createRunningPod("default", "slow-rc", "node-a", "gvisor", "app", "64Mi");
    cluster.terminateContainersLikeKubelet(pod, 128);
    // a slow answer for the RuntimeClasses: the pods' list must not be judged without them
    cluster.delayResponses((method, path) -> path.contains("/runtimeclasses"), Duration.ofSeconds(2));
    try (PodWatch fresh = new PodWatch(cluster.client(), "node-a", "runsc")) {
      List<Observation> freshSeen = new CopyOnWriteArrayList<>();
      PodStatusSource freshSource = new PodStatusSource(cluster.client(), fresh);
      freshSource.start(freshSeen::add);
      fresh.start();
      try {
        assertFirstSightReported(freshSeen);
      } finally {
        cluster.stopDelaying();
        freshSource.close();
      }
    }
  }

  /**
   * Kubelet's status of a gVisor OOM kill that a newer runsc shim reported ({@code pods/} fixtures, in
   * kubelet's shape): the termination in {@code lastState} reaches the sink once, reason and all, also
   * when a later update of the pod repeats it.
   */
  @Test
  void kubeletsOomKilledReachesTheSinkOnce() throws Exception {
    PodRef pod = cluster.createRunningPod("default", "oom-test", "node-a", "gvisor", "main", "64Mi");
    assertTrue(Await.until(() -> watch.byUid(pod.uid()).isPresent(), DEADLINE, Duration.ofMillis(20)));
    io.fabric8.kubernetes.api.model.Pod fixture;
    try (var in = getClass().getClassLoader().getResourceAsStream("pods/gvisor-oomkilled-restarted.yaml")) {
      fixture = io.fabric8.kubernetes.client.utils.Serialization.unmarshal(in, io.fabric8.kubernetes.api.model.Pod.class);
    }
    io.fabric8.kubernetes.api.model.Pod current = cluster.pod(pod);
    current.getStatus().setContainerStatuses(fixture.getStatus().getContainerStatuses());
    cluster.client().pods().resource(current).updateStatus();

    ContainerExit expected = new ContainerExit(pod, "main", 137, "OOMKilled", Instant.parse("2026-11-28T12:45:13Z"), 1);
    assertTrue(Await.until(() -> seen.contains(expected), DEADLINE, Duration.ofMillis(20)), seen.toString());
    assertTrue(expected.oomKilled());
    // kubelet writes the pod again (Ready turns True): the same termination is not reported again
    io.fabric8.kubernetes.api.model.Pod again = cluster.pod(pod);
    again.getStatus().getConditions().forEach(c -> c.setLastTransitionTime(Instant.now().toString()));
    cluster.client().pods().resource(again).updateStatus();
    String version = cluster.pod(pod).getMetadata().getResourceVersion();
    assertTrue(Await.until(() -> watch.byUid(pod.uid()).isPresent()
        && version.equals(cluster.pod(pod).getMetadata().getResourceVersion()), DEADLINE, Duration.ofMillis(20)));
    Thread.sleep(300);
    assertEquals(1, seen.stream().filter(expected::equals).count(), seen.toString());
  }
}
