package dev.oomwatch.source.runsc;

import java.time.Duration;

/**
 * Delays between retries: the first, then doubling up to the most, until {@link #reset()}. (The kmsg
 * source has its own, package-private, copy.) Not thread-safe.
 */
final class Backoff {

  private final Duration first;
  private final Duration most;
  private Duration next;

  Backoff(Duration first, Duration most) {
    this.first = first;
    this.most = most.compareTo(first) < 0 ? first : most;
    this.next = first;
  }

  /** The delay to wait now; the one after it is twice as long, up to the most. */
  Duration next() {
    Duration now = next;
    Duration doubled = next.multipliedBy(2);
    next = doubled.compareTo(most) > 0 ? most : doubled;
    return now;
  }

  void reset() {
    next = first;
  }
}
