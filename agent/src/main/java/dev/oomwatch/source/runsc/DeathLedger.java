package dev.oomwatch.source.runsc;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

/**
 * Which sandboxes' deaths were reported, so that the state-file poller and the metric scraper, which
 * can both see the same death, report it once between them. Keyed by sandbox id; an entry is kept for
 * {@link #RETENTION} after its claim, long enough for the slower witness to see the same death, then
 * forgotten so the ledger does not grow with every pod the node ever ran. Thread-safe.
 */
final class DeathLedger {

  static final Duration RETENTION = Duration.ofMinutes(10);

  private final Map<String, Instant> claimed = new HashMap<>();

  /** True for the first caller to report this sandbox's death; false if it was reported. */
  synchronized boolean claim(String sandboxId, Instant now) {
    prune(now);
    return claimed.putIfAbsent(sandboxId, now) == null;
  }

  /** Whether this sandbox's death was reported (and not since forgotten or reopened). */
  synchronized boolean reported(String sandboxId) {
    return claimed.containsKey(sandboxId);
  }

  /** The sandbox runs again under the same id (a new sentry): its next death is a new one. */
  synchronized void reopen(String sandboxId) {
    claimed.remove(sandboxId);
  }

  synchronized int size() {
    return claimed.size();
  }

  private void prune(Instant now) {
    Instant horizon = now.minus(RETENTION);
    claimed.values().removeIf(at -> at.isBefore(horizon));
  }
}
