package dev.oomwatch.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.model.Observation;
import dev.oomwatch.source.Source;
import dev.oomwatch.source.SourceHealth;
import dev.oomwatch.testing.Await;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class SourceSupervisorTest {
  /** Throws from start() the first {@code failures} times. */
  private static final class FlakySource implements Source {
    final AtomicInteger attempts = new AtomicInteger();
    final int failures;
    volatile boolean started;

    FlakySource(int failures) {
      this.failures = failures;
    }

    @Override
    public String name() {
      return "flaky";
    }

    @Override
    public boolean oomCapable() {
      return true;
    }

    @Override
    public void start(Consumer<Observation> sink) {
      if (attempts.incrementAndGet() <= failures) {
        throw new IllegalStateException("cgroup root vanished");
      }
      started = true;
    }

    @Override
    public SourceHealth health() {
      return new SourceHealth(name(), started ? SourceHealth.State.LIVE : SourceHealth.State.STARTING, "");
    }

    @Override
    public void close() {}
  }

  @Test
  void aSourceWhoseStartThrowsIsRetriedAndReportedFailedMeanwhile() throws InterruptedException {
    FlakySource flaky = new FlakySource(1);
    try (SourceSupervisor supervisor = new SourceSupervisor(List.of(flaky), o -> {})) {
      supervisor.start();
      SourceHealth failed = supervisor.health().get(0);
      assertEquals(SourceHealth.State.FAILED, failed.state());
      assertTrue(failed.detail().contains("cgroup root vanished"), failed.detail());
      assertFalse(supervisor.anyOomCapableLive());

      assertTrue(Await.until(() -> supervisor.health().get(0).live(), Duration.ofSeconds(30), Duration.ofMillis(50)));
      assertTrue(supervisor.anyOomCapableLive());
      assertEquals(2, flaky.attempts.get());
      assertEquals(1, supervisor.startRetries());
    }
  }
}
