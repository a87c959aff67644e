package dev.oomwatch.source.cgroup;

import static dev.oomwatch.source.cgroup.MemoryFileParser.INVALID;

import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * One cgroup the poller follows (a pod cgroup or one of its children): where its files are, the values
 * read at this poll and the counters kept from the previous one. Fields of this poll are
 * {@link MemoryFileParser#INVALID} until read (or when unreadable). The file paths are resolved once,
 * so that a poll does not build them again, and the files read every poll may be kept open in
 * {@link #open} (see {@link CgroupFileReader}) until {@link #close()}.
 *
 * <p>Not thread-safe: owned by the polling thread.
 */
final class TrackedCgroup implements AutoCloseable {

  /** Slots of {@link #open}: the files a poll reads. */
  static final int LIMIT_SLOT = 0;
  static final int USAGE_SLOT = 1;
  static final int FAILCNT_SLOT = 2;
  static final int EVENTS_SLOT = 3;

  final Path directory;
  final String cgroupPath;
  /** For a child: the container id in its name; for a pod cgroup: empty. */
  final Optional<String> sandboxId;

  final Path limitFile;
  final Path usageFile;
  final Path peakFile;
  /** v1 {@code memory.failcnt}; null on v2. */
  final Path failcntFile;
  /** v1 {@code memory.oom_control}, v2 {@code memory.events}. */
  final Path eventsFile;
  /** v2 {@code memory.pressure}; null on v1. */
  final Path pressureFile;

  // This poll.
  long limit;
  long usage;
  long peak;
  long failcnt;
  long oomKill;
  long eventsMax;
  long eventsOom;
  long oomGroupKill;
  OptionalDouble pressureSomeAvg10 = OptionalDouble.empty();

  // The previous poll; INVALID when unknown (no baseline yet, or unreadable so far).
  long lastFailcnt = INVALID;
  long lastOomKill = INVALID;
  long lastEventsMax = INVALID;
  long lastEventsOom = INVALID;

  /** The files kept open, by slot; null where not open. */
  final FileChannel[] open = new FileChannel[4];

  /** Whether the counters above hold a baseline to compare with. */
  boolean baselined;
  /** For a child: the listing of its pod's children that last saw it. */
  long seenAtListing;
  /** The poll that last read this cgroup's counters. */
  long readAtPoll;

  TrackedCgroup(int version, Path directory, String cgroupPath, Optional<String> sandboxId) {
    this.directory = directory;
    this.cgroupPath = cgroupPath;
    this.sandboxId = sandboxId;
    if (version == 1) {
      limitFile = directory.resolve("memory.limit_in_bytes");
      usageFile = directory.resolve("memory.usage_in_bytes");
      peakFile = directory.resolve("memory.max_usage_in_bytes");
      failcntFile = directory.resolve("memory.failcnt");
      eventsFile = directory.resolve("memory.oom_control");
      pressureFile = null;
    } else {
      limitFile = directory.resolve("memory.max");
      usageFile = directory.resolve("memory.current");
      peakFile = directory.resolve("memory.peak");
      failcntFile = null;
      eventsFile = directory.resolve("memory.events");
      pressureFile = directory.resolve("memory.pressure");
    }
    clearThisPoll();
  }

  /**
   * A cgroup that appeared below a pod cgroup the poller already follows: it was made after the
   * poller's baseline, so every count in it is new and is compared with zero.
   */
  void startFromZero() {
    lastFailcnt = 0;
    lastOomKill = 0;
    lastEventsMax = 0;
    lastEventsOom = 0;
    baselined = true;
  }

  void clearThisPoll() {
    limit = INVALID;
    usage = INVALID;
    peak = INVALID;
    failcnt = INVALID;
    oomKill = INVALID;
    eventsMax = INVALID;
    eventsOom = INVALID;
    oomGroupKill = INVALID;
    pressureSomeAvg10 = OptionalDouble.empty();
  }

  /** Keeps this poll's counters for the next comparison; an unreadable counter keeps its old value. */
  void keepCounters() {
    lastFailcnt = keep(lastFailcnt, failcnt);
    lastOomKill = keep(lastOomKill, oomKill);
    lastEventsMax = keep(lastEventsMax, eventsMax);
    lastEventsOom = keep(lastEventsOom, eventsOom);
    baselined = true;
  }

  /** Closes the files kept open. */
  @Override
  public void close() {
    CgroupFileReader.closeAll(open);
  }

  /** Whether a counter rose since the previous poll; never for an unknown value on either side. */
  static boolean rose(long last, long now) {
    return last != INVALID && now != INVALID && now > last;
  }

  private static long keep(long last, long now) {
    return now == INVALID ? last : now;
  }
}
