package dev.oomwatch.publish;

import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Keys marked with the {@code System.nanoTime()} they were last marked at, each forgotten once its mark
 * is older than the lifetime given: what the publisher remembers of its recent creates. Bounded by the
 * marks one lifetime holds. Not thread-safe: its owner confines or guards it.
 */
final class RecentMarks {
  private final long lifetimeNanos;
  // key -> nanoTime marked, oldest first
  private final Map<String, Long> marks = new LinkedHashMap<>();

  RecentMarks(Duration lifetime) {
    this.lifetimeNanos = lifetime.toNanos();
  }

  void mark(String key, long now) {
    forgetOlderThanLifetime(now);
    marks.remove(key);
    marks.put(key, now);
  }

  boolean isMarked(String key, long now) {
    forgetOlderThanLifetime(now);
    return marks.containsKey(key);
  }

  /** When {@code key}'s mark runs out (marked + lifetime), or {@code now} when it is not marked. */
  long expiresAt(String key, long now) {
    forgetOlderThanLifetime(now);
    Long marked = marks.get(key);
    return marked == null ? now : marked + lifetimeNanos;
  }

  private void forgetOlderThanLifetime(long now) {
    Iterator<Long> oldest = marks.values().iterator();
    while (oldest.hasNext() && now - oldest.next() > lifetimeNanos) {
      oldest.remove();
    }
  }
}
