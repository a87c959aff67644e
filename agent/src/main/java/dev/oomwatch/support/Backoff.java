package dev.oomwatch.support;

import java.time.Duration;

/**
 * Delays between retries: the first, then doubling up to the most. The one backoff of the agent:
 * sources, the source supervisor and the incident publisher all retry with it.
 *
 * <p>{@link #delayAfter(int)} is a pure function of the number of failures in a row and is
 * thread-safe; {@link #next()} and {@link #reset()} keep that count for a caller that retries on one
 * thread and are not thread-safe.
 */
public final class Backoff {
  private final Duration first;
  private final Duration most;
  private int failures;

  public Backoff(Duration first, Duration most) {
    if (first.isNegative() || first.isZero()) {
      throw new IllegalArgumentException("the first delay must be positive, was " + first);
    }
    this.first = first;
    this.most = most.compareTo(first) < 0 ? first : most;
  }

  /** The delay after {@code failures} failures in a row: the first after one (or none), doubling, at most the most. */
  public Duration delayAfter(int failures) {
    Duration delay = first;
    // doubling stops at the most (within ~90 doublings for any durations), so it cannot overflow
    for (int i = 1; i < failures && delay.compareTo(most) < 0; i++) {
      delay = delay.multipliedBy(2);
    }
    return delay.compareTo(most) > 0 ? most : delay;
  }

  /** Counts one more failure and returns the delay to wait now. */
  public Duration next() {
    if (failures < Integer.MAX_VALUE) {
      failures++;
    }
    return delayAfter(failures);
  }

  /** After a success: the next failure waits the first delay again. */
  public void reset() {
    failures = 0;
  }
}
