package dev.oomwatch.source.pods;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.model.PodRef;
import dev.oomwatch.model.WatchedPod;
import dev.oomwatch.testing.Await;
import dev.oomwatch.testing.EmbeddedCluster;
import io.fabric8.kubernetes.api.model.PodBuilder;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The node-scoped pod cache against the API stand-in. */
class PodWatchTest {
  private EmbeddedCluster cluster;
  private PodWatch watch;

  @BeforeEach
  void setUp() {
    cluster = new EmbeddedCluster();
    cluster.createRuntimeClass("gvisor", "runsc");
    cluster.createRuntimeClass("runc-class", "runc");
    watch = new PodWatch(cluster.client(), "node-a", "runsc");
    watch.start();
  }

  @AfterEach
  void tearDown() {
    watch.close();
    cluster.close();
  }

  private Optional<WatchedPod> await(PodRef ref) throws InterruptedException {
    return Await.value(() -> watch.byUid(ref.uid()), Duration.ofSeconds(10), Duration.ofMillis(20));
  }

  @Test
  void gvisorPodOnThisNodeIsWatchedWithItsLimit() throws InterruptedException {
    PodRef ref = cluster.createRunningPod("default", "app", "node-a", "gvisor", "c", "64Mi");
    Optional<WatchedPod> pod = await(ref);
    assertTrue(pod.isPresent(), "pod not found in cache");
    assertEquals(ref, pod.get().ref());
    assertEquals("gvisor", pod.get().runtimeClassName());
    assertEquals(OptionalLong.of(64L << 20), pod.get().memoryLimitBytes());
  }

  /** A pod's model is made once per version of the pod; an update is seen at the next lookup. */
  @Test
  void aPodsModelIsReusedUntilThePodChanges() throws InterruptedException {
    PodRef ref = cluster.createRunningPod("default", "kept", "node-a", "gvisor", "c", "64Mi");
    // the stand-in creates the pod and then writes its status: wait for the last version, or the
    // status update would (rightly) make the model again between the lookups below
    String lastVersion = cluster.client().pods().inNamespace("default").withName("kept").get().getMetadata()
        .getResourceVersion();
    assertTrue(Await.until(() -> watch.cachedPod(ref.uid())
        .map(pod -> lastVersion.equals(pod.getMetadata().getResourceVersion())).orElse(false),
        Duration.ofSeconds(10), Duration.ofMillis(20)), "the pod's last version is not cached");
    WatchedPod first = await(ref).orElseThrow();
    assertSame(first, watch.byUid(ref.uid()).orElseThrow(), "made again for the same pod");
    assertTrue(watch.all().stream().anyMatch(pod -> pod == first), "all() makes it again");

    cluster.client().pods().inNamespace("default").withName("kept").edit(pod -> new PodBuilder(pod)
        .editStatus().withReason("Evicted").endStatus().build());

    assertTrue(Await.until(() -> watch.byUid(ref.uid()).map(WatchedPod::evicted).orElse(false),
        Duration.ofSeconds(10), Duration.ofMillis(20)), "the update is not seen");
    assertEquals(first.memoryLimitBytes(), watch.byUid(ref.uid()).orElseThrow().memoryLimitBytes());
  }

  /**
   * fabric8's informer cache updates its indices without the lock its lookups by index skip: while a
   * pod is being updated, its uid can be missing from the index for a moment. A lookup then must not
   * say the pod is not watched — the kill being judged would be dropped (kubelet updates a pod exactly
   * when its sandbox dies, so this is when kills arrive).
   */
  @Test
  void aPodBeingUpdatedIsNeverMissing() throws Exception {
    PodRef ref = cluster.createRunningPod("default", "busy", "node-a", "gvisor", "c", "64Mi");
    assertTrue(await(ref).isPresent());
    int updates = 300;
    AtomicReference<Throwable> failure = new AtomicReference<>();
    AtomicReference<String> lastVersion = new AtomicReference<>();
    Thread updater = new Thread(() -> {
      try {
        for (int i = 1; i <= updates; i++) {
          String n = Integer.toString(i);
          lastVersion.set(cluster.client().pods().inNamespace("default").withName("busy")
              .edit(pod -> new PodBuilder(pod).editMetadata().addToLabels("n", n).endMetadata().build())
              .getMetadata().getResourceVersion());
        }
      } catch (RuntimeException e) {
        failure.set(e);
      }
    }, "pod-updater");
    updater.start();
    long lookups = 0;
    long misses = 0;
    while (updater.isAlive() || !java.util.Objects.equals(lastVersion.get(), cachedVersion(ref))) {
      lookups++;
      if (watch.byUid(ref.uid()).isEmpty()) {
        misses++;
      }
      if (!updater.isAlive() && failure.get() != null) {
        throw new AssertionError("updating the pod failed", failure.get());
      }
    }
    assertEquals(0, misses, misses + " of " + lookups + " lookups missed the pod during " + updates + " updates");
  }

  /** The cache keeps no labels (TrimmedPodStore); its resourceVersion says which update it holds. */
  private String cachedVersion(PodRef ref) {
    return watch.cachedPod(ref.uid()).map(p -> p.getMetadata().getResourceVersion()).orElse(null);
  }

  @Test
  void podsOnOtherNodesOrOtherRuntimesAreNotOurs() throws InterruptedException {
    PodRef elsewhere = cluster.createRunningPod("default", "elsewhere", "node-b", "gvisor", "c", "64Mi");
    PodRef runc = cluster.createRunningPod("default", "runc", "node-a", "runc-class", "c", "64Mi");
    PodRef ours = cluster.createRunningPod("default", "ours", "node-a", "gvisor", "c", "64Mi");
    assertTrue(await(ours).isPresent());
    assertEquals(Optional.empty(), watch.byUid(elsewhere.uid()));
    assertEquals(Optional.empty(), watch.byUid(runc.uid()));
  }
}
