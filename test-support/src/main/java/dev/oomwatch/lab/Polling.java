package dev.oomwatch.lab;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Waits for a condition by polling it against a deadline. Stateless and thread-safe. */
final class Polling {
  static final Duration INTERVAL = Duration.ofMillis(100);

  private Polling() {}

  /**
   * Polls {@code condition} every {@link #INTERVAL} until it holds or {@code timeout} has passed.
   *
   * @return whether the condition held (it is tested once more at the deadline)
   */
  static boolean until(BooleanSupplier condition, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline >= 0) {
        return condition.getAsBoolean();
      }
      Thread.sleep(INTERVAL.toMillis());
    }
    return true;
  }
}
