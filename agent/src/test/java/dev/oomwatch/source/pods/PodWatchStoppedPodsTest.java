package dev.oomwatch.source.pods;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.model.PodRef;
import dev.oomwatch.model.WatchedPod;
import dev.oomwatch.testing.Await;
import dev.oomwatch.testing.EmbeddedCluster;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A pod being deleted or evicted reaches inference as such, through the informer's (trimmed) cache:
 * the deletion as the API server marks it ({@code deletionTimestamp}, while a finalizer holds the pod),
 * the eviction as kubelet writes it through {@code pods/status}.
 */
class PodWatchStoppedPodsTest {
  private EmbeddedCluster cluster;
  private PodWatch watch;

  @BeforeEach
  void setUp() {
    cluster = new EmbeddedCluster();
    cluster.createRuntimeClass("gvisor", "runsc");
    watch = new PodWatch(cluster.client(), "node-a", "runsc");
    watch.start();
  }

  @AfterEach
  void tearDown() {
    watch.close();
    cluster.close();
  }

  private WatchedPod await(PodRef ref, Predicate<WatchedPod> state) throws InterruptedException {
    Optional<WatchedPod> pod = Await.value(() -> watch.byUid(ref.uid()).filter(state), Duration.ofSeconds(20),
        Duration.ofMillis(20));
    assertTrue(pod.isPresent(), "pod not seen in the expected state: " + watch.byUid(ref.uid()));
    return pod.get();
  }

  @Test
  void aRunningPodIsNeitherBeingDeletedNorEvicted() throws InterruptedException {
    PodRef ref = cluster.createRunningPod("default", "app", "node-a", "gvisor", "c", "64Mi");
    WatchedPod pod = await(ref, p -> true);
    assertFalse(pod.deletionRequested());
    assertFalse(pod.evicted());
    assertFalse(pod.beingStopped());
  }

  @Test
  void aPodBeingDeletedIsSaidToBe() throws InterruptedException {
    PodRef ref = cluster.createRunningPod("default", "app", "node-a", "gvisor", "c", "64Mi");
    await(ref, p -> true);
    // a finalizer keeps the pod while it is being deleted, as kubelet's graceful termination does
    cluster.client().pods().inNamespace("default").withName("app").edit(p -> new PodBuilder(p).editMetadata()
        .addToFinalizers("example.com/hold").endMetadata().build());
    cluster.client().pods().inNamespace("default").withName("app").delete();

    WatchedPod pod = await(ref, WatchedPod::deletionRequested);
    assertTrue(pod.beingStopped());
    assertFalse(pod.evicted());
  }

  @Test
  void aPodKubeletEvictedIsSaidToBe() throws InterruptedException {
    PodRef ref = cluster.createRunningPod("default", "app", "node-a", "gvisor", "c", "64Mi");
    await(ref, p -> true);
    Pod pod = cluster.pod(ref);
    pod.getStatus().setPhase("Failed");
    pod.getStatus().setReason("Evicted");
    pod.getStatus().setMessage("The node was low on resource: memory.");
    cluster.client().pods().resource(pod).updateStatus();

    assertTrue(await(ref, WatchedPod::evicted).beingStopped());
  }

  @Test
  void aDisruptionTargetConditionIsAnEviction() throws InterruptedException {
    PodRef ref = cluster.createRunningPod("default", "app", "node-a", "gvisor", "c", "64Mi");
    await(ref, p -> true);
    Pod pod = cluster.pod(ref);
    pod.getStatus().getConditions().add(new PodConditionBuilder().withType("DisruptionTarget").withStatus("True")
        .withReason("EvictionByEvictionAPI").withMessage("Eviction API: evicting")
        .withLastTransitionTime(Instant.now().toString()).build());
    cluster.client().pods().resource(pod).updateStatus();

    assertTrue(await(ref, WatchedPod::evicted).beingStopped());
  }
}
