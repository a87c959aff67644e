package dev.oomwatch.source.cgroup;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The cgroup source's counters, written by the polling thread and read by {@link CgroupSource#stats()}
 * from any thread. Thread-safe.
 */
final class PollCounters {
  final AtomicLong polls = new AtomicLong();
  final AtomicLong failedPolls = new AtomicLong();
  final AtomicLong cgroupsRead = new AtomicLong();
  final AtomicLong filesVanished = new AtomicLong();
  final AtomicLong parseErrors = new AtomicLong();
  final AtomicLong readErrors = new AtomicLong();
  final AtomicLong signalsEmitted = new AtomicLong();
  final AtomicLong samplesEmitted = new AtomicLong();
  volatile int podsWatched;
  volatile int podsWithoutCgroup;

  CgroupStats snapshot() {
    return new CgroupStats(polls.get(), failedPolls.get(), cgroupsRead.get(), filesVanished.get(),
        parseErrors.get(), readErrors.get(), signalsEmitted.get(), samplesEmitted.get(), podsWatched,
        podsWithoutCgroup);
  }
}
