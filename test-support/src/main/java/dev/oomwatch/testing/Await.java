package dev.oomwatch.testing;

import java.time.Duration;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Waits for something by polling it against a deadline, never by a fixed sleep. A probe that throws
 * counts as "not yet" (the thing may be half-written, or the API briefly unreachable). Stateless and
 * thread-safe.
 */
public final class Await {
  private Await() {}

  /** Polls {@code probe} every {@code interval} until it gives a value or {@code timeout} has passed. */
  public static <T> Optional<T> value(Supplier<Optional<T>> probe, Duration timeout, Duration interval)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      Optional<T> value = tryProbe(probe);
      if (value.isPresent() || System.nanoTime() - deadline >= 0) {
        return value;
      }
      Thread.sleep(interval.toMillis());
    }
  }

  /** Polls until {@code condition} holds; returns whether it did before the deadline. */
  public static boolean until(Supplier<Boolean> condition, Duration timeout, Duration interval)
      throws InterruptedException {
    return value(() -> Boolean.TRUE.equals(condition.get()) ? Optional.of(true) : Optional.empty(), timeout, interval)
        .isPresent();
  }

  private static <T> Optional<T> tryProbe(Supplier<Optional<T>> probe) {
    try {
      return probe.get();
    } catch (RuntimeException e) {
      return Optional.empty();
    }
  }
}
