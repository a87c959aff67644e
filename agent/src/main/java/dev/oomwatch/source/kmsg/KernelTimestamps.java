package dev.oomwatch.source.kmsg;

import java.time.Clock;
import java.time.Instant;
import java.util.function.LongFunction;
import java.util.function.LongSupplier;

/**
 * Converts a kernel log timestamp (microseconds since boot) to wall-clock time: the wall clock now,
 * minus how long ago the monotonic clock read that timestamp. Thread-safe.
 *
 * <p>Why this works: HotSpot's {@link System#nanoTime()} on Linux is {@code CLOCK_MONOTONIC}, and
 * kmsg timestamps come from the kernel's {@code local_clock()}, which also counts from boot, at
 * nearly the same rate, and neither counts time suspended. Measured on this project's machine
 * (Linux 6.18 VM, tsc clocksource; {@code KmsgDeviceTest.kmsgTimestampsRunOnTheJvmMonotonicClock}
 * and a probe writing to {@code /dev/kmsg}, at 8, 16 and 18 minutes of uptime): a written line is
 * stamped 0.45 to 0.57 ms before the {@code nanoTime()} read just before the write, steadily, so
 * kmsg runs a constant half millisecond behind {@code CLOCK_MONOTONIC} here and converted times are
 * early by that much. Where NTP corrects the clock's frequency, {@code CLOCK_MONOTONIC} is slewed
 * and {@code local_clock()} is not, so the gap grows by the correction (a few parts per million:
 * about a second after a few days of uptime). That is fine for telling kills apart and matching
 * them to pods; it is not a precise timestamp. Converting anew at each call, rather than fixing an
 * offset once, follows steps of the wall clock.
 */
final class KernelTimestamps implements LongFunction<Instant> {

  private final Clock wallClock;
  private final LongSupplier monotonicNanos;

  KernelTimestamps() {
    this(Clock.systemUTC(), System::nanoTime);
  }

  KernelTimestamps(Clock wallClock, LongSupplier monotonicNanos) {
    this.wallClock = wallClock;
    this.monotonicNanos = monotonicNanos;
  }

  @Override
  public Instant apply(long monotonicMicros) {
    long nowNanos = monotonicNanos.getAsLong();
    Instant now = wallClock.instant();
    long thenNanos = monotonicMicros > Long.MAX_VALUE / 1000 ? Long.MAX_VALUE : monotonicMicros * 1000;
    return now.minusNanos(nowNanos - thenNanos);
  }
}
