package dev.oomwatch.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.model.GvisorPods;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.model.WatchedPod;
import java.io.IOException;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

/**
 * {@code oomwatch_pod_oom_kills_total}: one series per gVisor pod from its first sight, each kill counted
 * once however often it is learnt, raised to the cgroup's count, never falling, gone with the pod — also
 * under pod churn.
 */
class PodOomKillCounterTest {
  private final Map<String, WatchedPod> pods = new ConcurrentHashMap<>();
  private final Map<String, Long> cgroupKills = new HashMap<>();
  private final AgentMetrics metrics = new AgentMetrics();

  PodOomKillCounterTest() {
    metrics.registerPodOomKills(new GvisorPods() {
      @Override
      public Optional<WatchedPod> byUid(String podUid) {
        return Optional.ofNullable(pods.get(podUid));
      }

      @Override
      public Collection<WatchedPod> all() {
        return pods.values();
      }
    }, uid -> cgroupKills.containsKey(uid) ? OptionalLong.of(cgroupKills.get(uid)) : OptionalLong.empty());
  }

  private PodRef pod(String name) {
    PodRef ref = new PodRef("team-a", name, "uid-" + name);
    pods.put(ref.uid(), new WatchedPod(ref, "gvisor", OptionalLong.of(64L << 20)));
    return ref;
  }

  private double value(PodRef pod) throws IOException {
    String line = "oomwatch_pod_oom_kills_total{namespace=\"team-a\",pod=\"" + pod.name() + "\"} ";
    return exposition().lines().filter(l -> l.startsWith(line))
        .mapToDouble(l -> Double.parseDouble(l.substring(line.length()))).findFirst().orElse(-1);
  }

  private String exposition() throws IOException {
    return metrics.text();
  }

  @Test
  void aPodStartsAtZeroSoThatItsFirstKillIsAnIncrease() throws IOException {
    assertEquals(0, value(pod("quiet")));
  }

  @Test
  void aKillLearntAgainIsCountedOnce() throws IOException {
    PodRef pod = pod("victim");
    metrics.killOf(pod, "victim-oom-1");
    metrics.killOf(pod, "victim-oom-1"); // the kernel log replayed after a restart
    metrics.killOf(pod, "victim-oom-2");
    assertEquals(2, value(pod));
  }

  @Test
  void theCgroupsCountRaisesItAndAFallingCountDoesNotLowerIt() throws IOException {
    PodRef pod = pod("v2");
    cgroupKills.put(pod.uid(), 3L); // v2 kept kills from before the agent started
    assertEquals(3, value(pod));
    cgroupKills.put(pod.uid(), 1L); // v1: the sandbox cgroup that counted them is gone
    metrics.killOf(pod, "v2-oom-1");
    assertEquals(3, value(pod));
  }

  @Test
  void aPodThatWentHasNoSeriesAndChurnKeepsItBounded() throws IOException {
    PodRef gone = pod("gone");
    metrics.killOf(gone, "gone-oom-1");
    assertEquals(1, value(gone));
    pods.remove(gone.uid());
    assertEquals(-1, value(gone));
    for (int i = 0; i < 10_000; i++) {
      PodRef churned = pod("churn-" + i);
      metrics.killOf(churned, "churn-oom-" + i);
      pods.remove(churned.uid());
    }
    PodRef kept = pod("kept");
    String text = exposition();
    assertEquals(1, text.lines().filter(l -> l.startsWith("oomwatch_pod_oom_kills_total{")).count(), text);
    assertTrue(text.contains("pod=\"kept\""));
    assertFalse(text.contains("churn-"));
    assertEquals(0, value(kept));
  }

  @Test
  void manyKillsOfOnePodKeepCounting() throws IOException {
    PodRef pod = pod("loop");
    for (int i = 0; i < PodOomKillCounter.NAMES_KEPT * 3; i++) {
      metrics.killOf(pod, "loop-oom-" + i);
    }
    assertEquals(PodOomKillCounter.NAMES_KEPT * 3, value(pod));
  }
}
