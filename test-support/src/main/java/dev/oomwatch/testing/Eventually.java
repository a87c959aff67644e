package dev.oomwatch.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Polls a condition until it holds or a generous deadline passes; tests never sleep a fixed time. */
public final class Eventually {

  public static final Duration DEADLINE = Duration.ofSeconds(30);

  private Eventually() {}

  public static void until(String what, BooleanSupplier condition) {
    until(what, condition, () -> "");
  }

  /** Like {@link #until(String, BooleanSupplier)}, with a deadline of its own. */
  public static void until(String what, BooleanSupplier condition, Duration timeout) {
    until(what, condition, () -> "", timeout);
  }

  /** Like {@link #until(String, BooleanSupplier)}; {@code state} is added to the failure message. */
  public static void until(String what, BooleanSupplier condition, Supplier<String> state) {
    until(what, condition, state, DEADLINE);
  }

  private static void until(String what, BooleanSupplier condition, Supplier<String> state, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        fail("gave up after " + timeout + " waiting for " + what + "; " + state.get());
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
