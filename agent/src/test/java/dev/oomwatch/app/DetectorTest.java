package dev.oomwatch.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.inference.FusionSettings;
import dev.oomwatch.inference.IncidentFusion;
import dev.oomwatch.metrics.AgentMetrics;
import dev.oomwatch.model.GvisorPods;
import dev.oomwatch.model.KernelOomKill;
import dev.oomwatch.model.PodCgroupLocator;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.model.WatchedPod;
import dev.oomwatch.podreport.PodConditionWriter;
import dev.oomwatch.podreport.PodEventRecorder;
import dev.oomwatch.publish.IncidentPublisher;
import dev.oomwatch.testing.Await;
import dev.oomwatch.testing.EmbeddedCluster;
import dev.oomwatch.testing.ScriptedSource;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The detector's second look at a kernel kill whose pod the first lookup did not find, and its
 * skipping of replayed kernel kills older than the incident TTL.
 */
class DetectorTest {
  private static final String NODE = "node-a";
  private static final Duration INCIDENT_TTL = Duration.ofDays(7);
  private final EmbeddedCluster cluster = new EmbeddedCluster();
  private final AgentMetrics metrics = new AgentMetrics();
  private IncidentPublisher publisher;
  private Detector detector;

  @AfterEach
  void tearDown() {
    if (detector != null) {
      detector.close();
    }
    if (publisher != null) {
      publisher.close();
    }
    cluster.close();
  }

  /**
   * The pod cache misses the pod at the fusion's lookup and has it again right after (fabric8's index
   * while the pod is updated, see PodWatch): the kill is still reported, a grace period later.
   */
  @Test
  void aKillWhosePodTheCacheMissedForAMomentIsStillReported() throws Exception {
    cluster.createRuntimeClass("gvisor", "runsc");
    PodRef ref = cluster.createRunningPod("default", "app", NODE, "gvisor", "c", "64Mi");
    WatchedPod pod = new WatchedPod(ref, "gvisor", OptionalLong.of(64L << 20));
    AtomicInteger lookups = new AtomicInteger();
    GvisorPods missingOnce = new GvisorPods() {
      @Override
      public Optional<WatchedPod> byUid(String uid) {
        return uid.equals(ref.uid()) && lookups.incrementAndGet() > 1 ? Optional.of(pod) : Optional.empty();
      }

      @Override
      public Collection<WatchedPod> all() {
        return List.of(pod);
      }
    };
    detector = detector(missingOnce);

    detector.accept(ScriptedSource.kernelKillOf(ref, "sandbox-4242", 4242));

    assertTrue(Await.until(() -> cluster.incidents("default").size() == 1,
        Detector.POD_CACHE_GRACE.plusSeconds(20), Duration.ofMillis(100)), "no incident");
    assertTrue(lookups.get() >= 2, "looked again: " + lookups.get());
    assertEquals(ref.uid(), cluster.incidents("default").get(0).getSpec().getPodUid());
    assertTrue(metricsText().contains("oomwatch_kernel_oom_kills_ignored_total 0.0"), metricsText());
  }

  @Test
  void aKillOfAPodThatIsStillNotWatchedAfterTheGraceIsIgnored() throws Exception {
    PodRef stranger = new PodRef("default", "runc-pod", "0a1b2c3d-0000-4000-8000-000000000001");
    detector = detector(GvisorPods.of());

    detector.accept(ScriptedSource.kernelKillOf(stranger, "sandbox-1", 1));

    assertTrue(Await.until(() -> metricsText().contains("oomwatch_kernel_oom_kills_ignored_total 1.0"),
        Detector.POD_CACHE_GRACE.plusSeconds(20), Duration.ofMillis(100)), metricsText());
    assertEquals(List.of(), cluster.incidents("default"));
  }

  /**
   * The kernel log is replayed from the start of its ring buffer at every start; the incident of a kill
   * older than the TTL was deleted for its age and must not come back as new. A kill just inside the
   * TTL is still reported.
   */
  @Test
  void aReplayedKillOlderThanTheIncidentTtlIsNotReportedAgain() throws Exception {
    cluster.createRuntimeClass("gvisor", "runsc");
    PodRef ref = cluster.createRunningPod("default", "app", NODE, "gvisor", "c", "64Mi");
    WatchedPod pod = new WatchedPod(ref, "gvisor", OptionalLong.of(64L << 20));
    detector = detector(new GvisorPods() {
      @Override
      public Optional<WatchedPod> byUid(String uid) {
        return uid.equals(ref.uid()) ? Optional.of(pod) : Optional.empty();
      }

      @Override
      public Collection<WatchedPod> all() {
        return List.of(pod);
      }
    });
    Instant now = Instant.now();

    detector.accept(killedAt(ScriptedSource.kernelKillOf(ref, "sandbox-expired", 4001),
        now.minus(INCIDENT_TTL).minus(Duration.ofHours(1))));
    detector.accept(killedAt(ScriptedSource.kernelKillOf(ref, "sandbox-recent", 4002),
        now.minus(INCIDENT_TTL).plus(Duration.ofHours(1))));

    // the detector judges in order: once the younger kill's incident exists, the older one was judged
    assertTrue(Await.until(() -> cluster.incidents("default").size() == 1, Duration.ofSeconds(30),
        Duration.ofMillis(100)), "no incident for the kill within the TTL");
    assertTrue(Await.until(() -> metricsText().contains("oomwatch_kernel_oom_kills_expired_total 1.0"),
        Duration.ofSeconds(30), Duration.ofMillis(100)), metricsText());
    assertEquals("sandbox-recent", cluster.incidents("default").get(0).getSpec().getSandboxId());
    assertTrue(metricsText().contains("oomwatch_kernel_oom_kills_ignored_total 0.0"), metricsText());
  }

  private static KernelOomKill killedAt(KernelOomKill kill, Instant at) {
    return new KernelOomKill(kill.bootId(), kill.sequence(), kill.monotonicMicros(), at, kill.constraint(),
        kill.oomMemcg(), kill.taskMemcg(), kill.task(), kill.pid(), kill.uid(), kill.limitBytes(),
        kill.anonRssBytes());
  }

  private Detector detector(GvisorPods pods) {
    Clock clock = Clock.systemUTC();
    PodCgroupLocator locator = new PodCgroupLocator();
    publisher = new IncidentPublisher(cluster.client(), new PodEventRecorder(cluster.client(), NODE, clock),
        new PodConditionWriter(cluster.client()), metrics, 100, 100);
    FusionSettings settings = FusionSettings.forPollInterval(Duration.ofSeconds(1), 0.9, Duration.ofSeconds(10),
        Duration.ofMinutes(10));
    return new Detector(new IncidentFusion(NODE, clock, locator, settings), pods, locator, publisher, metrics,
        () -> true, clock, INCIDENT_TTL);
  }

  private String metricsText() {
    return metrics.text();
  }
}
