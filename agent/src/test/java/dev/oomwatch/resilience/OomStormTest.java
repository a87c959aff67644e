package dev.oomwatch.resilience;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.crd.OOMIncident;
import dev.oomwatch.crd.OOMIncidentStatus;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.testing.Await;
import dev.oomwatch.testing.DemoEnvironment;
import dev.oomwatch.testing.ScriptedSource;
import io.fabric8.kubernetes.api.model.Event;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * An OOM storm: 1,000 kills of 10 gVisor pods arrive at once (a minute's worth of a 1,000-a-minute
 * storm, all in one burst). Every kill gets its own incident, written at the configured pace; the
 * Events aggregate into one series per pod whose count is that pod's number of kills.
 */
class OomStormTest {
  private static final int PODS = 10;
  private static final int KILLS_PER_POD = 100;
  private static final int WRITES_PER_SECOND = 100;
  private DemoEnvironment env;

  @AfterEach
  void tearDown() {
    if (env != null) {
      env.close();
    }
  }

  @Test
  void everyKillIsOneIncidentAndEventsAggregatePerPod() throws Exception {
    env = DemoEnvironment.withoutAgent("storm-node")
        .withSetting("incidentWritesPerSecond", Integer.toString(WRITES_PER_SECOND));
    List<PodRef> pods = new ArrayList<>();
    for (int i = 0; i < PODS; i++) {
      pods.add(env.createGvisorPod("storm-" + i, 64));
    }
    ScriptedSource kernel = new ScriptedSource();
    env.startAgent(Optional.empty(), List.of(kernel));

    Instant started = Instant.now();
    int pid = 10_000;
    for (int k = 0; k < KILLS_PER_POD; k++) {
      for (PodRef pod : pods) {
        kernel.emit(ScriptedSource.kernelKillOf(pod, "sandbox-" + pid, pid++));
      }
    }

    assertTrue(Await.until(() -> reportedCount() == PODS * KILLS_PER_POD, Duration.ofSeconds(240),
        Duration.ofSeconds(1)), "reported " + reportedCount() + " of " + PODS * KILLS_PER_POD + "; readiness:\n"
        + env.agent().readiness().body());
    Duration took = Duration.between(started, Instant.now());

    List<OOMIncident> incidents = env.cluster().incidents("default");
    assertEquals(PODS * KILLS_PER_POD, incidents.size());
    for (PodRef pod : pods) {
      List<Event> events = env.cluster().events(pod);
      assertEquals(1, events.size(), "one Event series per pod");
      assertEquals(KILLS_PER_POD, events.get(0).getCount(), "the series counts every kill of " + pod);
    }
    // paced: no second saw more creations than the configured rate (with one second of slack for the
    // second-resolution timestamps), so the burst took at least kills / rate seconds to write
    Map<String, Long> perSecond = incidents.stream()
        .collect(Collectors.groupingBy(i -> i.getMetadata().getCreationTimestamp(), Collectors.counting()));
    long busiest = perSecond.values().stream().mapToLong(Long::longValue).max().orElse(0);
    assertTrue(busiest <= 2L * WRITES_PER_SECOND, "busiest second had " + busiest + " creations");
    assertTrue(took.toSeconds() >= PODS * KILLS_PER_POD / WRITES_PER_SECOND - 1, "too fast: " + took);
  }

  private long reportedCount() {
    return env.cluster().incidents("default").stream()
        .filter(i -> i.getStatus() != null && OOMIncidentStatus.REPORTED.equals(i.getStatus().getPhase()))
        .count();
  }
}
