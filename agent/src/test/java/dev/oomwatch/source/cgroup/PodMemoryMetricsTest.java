package dev.oomwatch.source.cgroup;

import static dev.oomwatch.source.cgroup.CgroupFixtures.V2_POD_UID;
import static dev.oomwatch.source.cgroup.CgroupFixtures.watched;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.metrics.AgentMetrics;
import dev.oomwatch.model.WatchedPod;
import dev.oomwatch.source.cgroup.CgroupFixtures.Phase;
import dev.oomwatch.source.cgroup.CgroupFixtures.V2Layout;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Collection;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The per-pod memory series of gVisor pods (cAdvisor reports 0 for them) over the real v2 captures:
 * what the pod cgroup says at each phase, the kill the cgroup keeps counting after the sandbox is
 * deleted, and no series once the pod is no longer watched.
 */
class PodMemoryMetricsTest {
  private static final String LABELS = "{namespace=\"default\",pod=\"oom-lab\"}";

  @TempDir Path root;
  private final AgentMetrics metrics = new AgentMetrics();
  private CgroupPoller poller;

  @BeforeEach
  void setUp() {
    poller = new CgroupPoller(root, 0.9, Clock.fixed(Instant.parse("2026-11-28T12:00:00Z"), ZoneOffset.UTC),
        new PollCounters());
    poller.readings().register(metrics);
  }

  @AfterEach
  void tearDown() {
    poller.close();
  }

  private void poll(Collection<WatchedPod> pods) throws CgroupUnavailableException {
    poller.poll(pods, observation -> { });
  }

  private String exposition() throws IOException {
    return metrics.text();
  }

  @Test
  void eachPhaseOfARealKillShowsAsTheCgroupSaysIt() throws Exception {
    CgroupFixtures.layV2(root, V2Layout.CGROUPFS_BURSTABLE, Phase.RUNNING);
    poll(List.of(watched(V2_POD_UID)));
    String running = exposition();
    assertTrue(running.contains("oomwatch_pod_memory_usage_bytes" + LABELS + " 1.6572416E7"), running);
    assertTrue(running.contains("oomwatch_pod_memory_limit_bytes" + LABELS + " 6.7108864E7"), running);
    assertTrue(running.contains("oomwatch_pod_memory_near_limit" + LABELS + " 0.0"), running);
    assertEquals(OptionalLong.of(0), poller.readings().oomKills(V2_POD_UID));

    CgroupFixtures.moveV2(root, V2Layout.CGROUPFS_BURSTABLE, Phase.AFTER_KILL);
    poll(List.of(watched(V2_POD_UID)));
    assertEquals(OptionalLong.of(1), poller.readings().oomKills(V2_POD_UID));
    assertTrue(exposition().contains("oomwatch_pod_memory_usage_bytes" + LABELS + " 253952.0"), exposition());

    // the sandbox's cgroup is deleted; v2 keeps the kill in the pod cgroup
    CgroupFixtures.moveV2(root, V2Layout.CGROUPFS_BURSTABLE, Phase.AFTER_DELETE);
    poll(List.of(watched(V2_POD_UID)));
    assertEquals(OptionalLong.of(1), poller.readings().oomKills(V2_POD_UID));
  }

  @Test
  void aPodAtItsLimitIsNearIt() throws Exception {
    CgroupFixtures.layV2(root, V2Layout.CGROUPFS_BURSTABLE, Phase.RUNNING);
    Path pod = root.resolve(V2Layout.CGROUPFS_BURSTABLE.podCgroup.substring(1));
    CgroupFixtures.write(pod.resolve("memory.current"), "66000000\n");
    poll(List.of(watched(V2_POD_UID)));
    assertTrue(exposition().contains("oomwatch_pod_memory_near_limit" + LABELS + " 1.0"), exposition());
  }

  @Test
  void aPodNoLongerWatchedHasNoSeries() throws Exception {
    CgroupFixtures.layV2(root, V2Layout.CGROUPFS_BURSTABLE, Phase.RUNNING);
    poll(List.of(watched(V2_POD_UID)));
    assertTrue(exposition().contains(LABELS), exposition());
    poll(List.of());
    assertFalse(exposition().contains(LABELS), exposition());
    assertEquals(OptionalLong.empty(), poller.readings().oomKills(V2_POD_UID));
  }
}
