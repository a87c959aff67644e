package dev.oomwatch.testing;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The one way tests, the lab and the tools wait: by polling against a deadline, never by a fixed sleep.
 * A probe that throws counts as "not yet" (the thing may be half-written, or the API briefly
 * unreachable); the last such exception is kept as the cause when a wait fails. Stateless and
 * thread-safe.
 */
public final class Await {
  /** What a test waits for at most when it names no deadline: generous, as these machines are shared. */
  public static final Duration DEADLINE = Duration.ofSeconds(30);
  /** How often {@link #orFail} looks: often, as most of what tests wait for is in-process. */
  private static final Duration FAST_POLL = Duration.ofMillis(5);

  private Await() {}

  /** Polls {@code probe} every {@code interval} until it gives a value or {@code timeout} has passed. */
  public static <T> Optional<T> value(Supplier<Optional<T>> probe, Duration timeout, Duration interval)
      throws InterruptedException {
    return value(probe, timeout, interval, new AtomicReference<>());
  }

  /** Polls until {@code condition} holds; returns whether it did before the deadline. */
  public static boolean until(BooleanSupplier condition, Duration timeout, Duration interval)
      throws InterruptedException {
    return value(asProbe(condition), timeout, interval).isPresent();
  }

  /** Polls until {@code condition} holds; fails the test if it does not within {@link #DEADLINE}. */
  public static void orFail(String what, BooleanSupplier condition) {
    orFail(what, condition, () -> "", DEADLINE);
  }

  /** Like {@link #orFail(String, BooleanSupplier)}, with a deadline of its own. */
  public static void orFail(String what, BooleanSupplier condition, Duration timeout) {
    orFail(what, condition, () -> "", timeout);
  }

  /** Like {@link #orFail(String, BooleanSupplier)}; {@code state} is added to the failure message. */
  public static void orFail(String what, BooleanSupplier condition, Supplier<String> state) {
    orFail(what, condition, state, DEADLINE);
  }

  /** Like {@link #orFail(String, BooleanSupplier, Supplier)}, with a deadline of its own. */
  public static void orFail(String what, BooleanSupplier condition, Supplier<String> state, Duration timeout) {
    AtomicReference<RuntimeException> lastFailure = new AtomicReference<>();
    boolean held;
    try {
      held = value(asProbe(condition), timeout, FAST_POLL, lastFailure).isPresent();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted waiting for " + what, e);
    }
    if (!held) {
      // an AssertionError is what JUnit reports as a failed test; the lab and tools never call this
      throw new AssertionError("gave up after " + timeout + " waiting for " + what + "; " + state.get(),
          lastFailure.get());
    }
  }

  private static <T> Optional<T> value(Supplier<Optional<T>> probe, Duration timeout, Duration interval,
      AtomicReference<RuntimeException> lastFailure) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      Optional<T> value = tryProbe(probe, lastFailure);
      if (value.isPresent() || System.nanoTime() - deadline >= 0) {
        return value;
      }
      Thread.sleep(interval.toMillis());
    }
  }

  private static Supplier<Optional<Boolean>> asProbe(BooleanSupplier condition) {
    return () -> condition.getAsBoolean() ? Optional.of(true) : Optional.empty();
  }

  private static <T> Optional<T> tryProbe(Supplier<Optional<T>> probe, AtomicReference<RuntimeException> lastFailure) {
    try {
      return probe.get();
    } catch (RuntimeException e) {
      lastFailure.set(e);
      return Optional.empty();
    }
  }
}
