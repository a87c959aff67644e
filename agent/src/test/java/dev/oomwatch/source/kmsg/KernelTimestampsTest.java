package dev.oomwatch.source.kmsg;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class KernelTimestampsTest {

  private static final Instant NOW = Instant.parse("2025-01-01T12:00:00Z");

  @Test
  void subtractsHowLongAgoTheTimestampWas() {
    long monotonicNowNanos = 3_600_000_000_123L; // an hour after boot
    KernelTimestamps timestamps =
        new KernelTimestamps(Clock.fixed(NOW, ZoneOffset.UTC), () -> monotonicNowNanos);

    assertEquals(NOW.minusNanos(123), timestamps.apply(3_600_000_000L));
    assertEquals(NOW.minusSeconds(3600).minusNanos(123), timestamps.apply(0));
    assertEquals(NOW.minusSeconds(60).minusNanos(123), timestamps.apply(3_540_000_000L));
  }

  @Test
  void survivesAbsurdTimestamps() {
    KernelTimestamps timestamps = new KernelTimestamps(Clock.fixed(NOW, ZoneOffset.UTC), () -> 0);
    assertEquals(NOW.plusNanos(Long.MAX_VALUE), timestamps.apply(Long.MAX_VALUE));
  }
}
