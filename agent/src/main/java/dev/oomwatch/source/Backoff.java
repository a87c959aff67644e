package dev.oomwatch.source;

import java.time.Duration;

/**
 * Delays between retries: the first, then doubling up to the most, until {@link #reset()}. Shared by
 * every source that retries. Not thread-safe.
 */
public final class Backoff {

  private final Duration first;
  private final Duration most;
  private Duration next;

  public Backoff(Duration first, Duration most) {
    this.first = first;
    this.most = most.compareTo(first) < 0 ? first : most;
    this.next = first;
  }

  /** The delay to wait now; the one after it is twice as long, up to the most. */
  public Duration next() {
    Duration now = next;
    Duration doubled = next.multipliedBy(2);
    next = doubled.compareTo(most) > 0 ? most : doubled;
    return now;
  }

  public void reset() {
    next = first;
  }
}
