package dev.oomwatch.source.runsc;

import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Polls a condition until it holds or a generous deadline passes; tests never sleep a fixed time. */
final class Await {

  static final Duration DEADLINE = Duration.ofSeconds(30);

  private Await() {}

  static void until(String what, BooleanSupplier condition) {
    until(what, condition, () -> "");
  }

  /** Like {@link #until(String, BooleanSupplier)}; {@code state} is added to the failure message. */
  static void until(String what, BooleanSupplier condition, Supplier<String> state) {
    long deadline = System.nanoTime() + DEADLINE.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        fail("gave up after " + DEADLINE + " waiting for " + what + "; " + state.get());
      }
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        fail("interrupted waiting for " + what);
      }
    }
  }
}
