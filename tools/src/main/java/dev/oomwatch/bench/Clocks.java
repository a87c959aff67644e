package dev.oomwatch.bench;

import java.time.Instant;

/**
 * Converts wall-clock instants (what the agent writes in its incidents) to {@link System#nanoTime()}
 * (the kernel log's clock, on which the bench takes its latencies), by the offset between the two
 * measured once at the bench's start. Good to a few microseconds over a run of minutes (NTP slews the
 * wall clock by parts per million). Immutable.
 *
 * @param wallMinusMonotonicNanos wall-clock nanoseconds since the epoch minus {@code nanoTime()}
 */
record Clocks(long wallMinusMonotonicNanos) {
  /** Measures the offset now: the closest of a few paired readings. */
  static Clocks measure() {
    long best = Long.MAX_VALUE;
    long offset = 0;
    for (int i = 0; i < 20; i++) {
      long before = System.nanoTime();
      Instant wall = Instant.now();
      long after = System.nanoTime();
      if (after - before < best) {
        best = after - before;
        offset = epochNanos(wall) - (before + (after - before) / 2);
      }
    }
    return new Clocks(offset);
  }

  long monotonicNanosOf(Instant wall) {
    return epochNanos(wall) - wallMinusMonotonicNanos;
  }

  private static long epochNanos(Instant instant) {
    return instant.getEpochSecond() * 1_000_000_000L + instant.getNano();
  }
}
