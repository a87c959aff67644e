package dev.oomwatch.source.pods;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.demo.Await;
import dev.oomwatch.demo.EmbeddedCluster;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.model.WatchedPod;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;
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
