package dev.oomwatch.source.cgroup;

import static dev.oomwatch.source.cgroup.MemoryFileParser.INVALID;

import dev.oomwatch.model.CgroupMemorySnapshot;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads a cgroup's memory files into a {@link TrackedCgroup} and builds
 * {@link CgroupMemorySnapshot}s from it: the I/O half of the cgroup source, with
 * {@link MemoryFileParser} as the pure half.
 *
 * <p>A poll reads only what it compares: of a pod cgroup, v1 {@code memory.limit_in_bytes},
 * {@code memory.usage_in_bytes}, {@code memory.failcnt}, {@code memory.oom_control}, or v2
 * {@code memory.max}, {@code memory.current}, {@code memory.events}; of a child cgroup, only
 * {@code memory.oom_control} / {@code memory.events}. These may be kept open between polls (see
 * {@link CgroupFileReader}). The rest ({@code max_usage_in_bytes} / {@code memory.peak},
 * {@code memory.pressure}) is read, with an open and a close, only when a snapshot is handed out.
 *
 * <p>Never throws for a cgroup that disappears: a file gone before or during its read makes the
 * cgroup read as gone, counted in {@link PollCounters#filesVanished}. A file that does not parse is
 * counted in {@link PollCounters#parseErrors} and its value is unknown; one that cannot be read
 * (permission denied) in {@link PollCounters#readErrors}.
 *
 * <p>Not thread-safe: it reuses its buffers; one instance per polling thread.
 */
final class CgroupMemoryReader {

  private static final Logger log = LoggerFactory.getLogger(CgroupMemoryReader.class);
  /** What the value readers return for a file that is gone. */
  private static final long GONE = -2;
  /** What {@link #readFile} returns for a file that exists but cannot be read. */
  private static final int UNREADABLE = -2;
  /** The slot of a file read only now and then: opened and closed each time. */
  private static final int NOT_KEPT = -1;

  private final CgroupFileReader files = new CgroupFileReader();
  private final long[] keyed = new long[MemoryFileParser.EVENTS_KEYS.length];
  private final PollCounters counters;

  CgroupMemoryReader(PollCounters counters) {
    this.counters = counters;
  }

  /** Keep the files a poll reads open between polls; only on the kernel's cgroup file systems. */
  void keepFilesOpen(boolean keep) {
    files.keepFilesOpen(keep);
  }

  /** Reads what a poll compares of a pod cgroup; false when the cgroup is gone. */
  boolean readPodCounters(TrackedCgroup cgroup, int version) {
    cgroup.clearThisPoll();
    long limit = readLimit(cgroup, TrackedCgroup.LIMIT_SLOT, cgroup.limitFile);
    if (limit == GONE) {
      return false;
    }
    cgroup.limit = limit;
    long usage = readCounter(cgroup, TrackedCgroup.USAGE_SLOT, cgroup.usageFile);
    if (usage == GONE) {
      return false;
    }
    cgroup.usage = usage;
    if (version == 1) {
      long failcnt = readCounter(cgroup, TrackedCgroup.FAILCNT_SLOT, cgroup.failcntFile);
      if (failcnt == GONE) {
        return false;
      }
      cgroup.failcnt = failcnt;
    }
    if (!readEvents(cgroup, version)) {
      return false;
    }
    counters.cgroupsRead.incrementAndGet();
    return true;
  }

  /** Reads what a poll compares of a child cgroup (its kill counter); false when it is gone. */
  boolean readChildCounters(TrackedCgroup cgroup, int version) {
    cgroup.clearThisPoll();
    if (!readEvents(cgroup, version)) {
      return false;
    }
    counters.cgroupsRead.incrementAndGet();
    return true;
  }

  /**
   * Reads the files a poll skipped, for a snapshot. A file gone by now (the sandbox cgroup was just
   * deleted) leaves its value unknown; what was read already stays.
   */
  void readRest(TrackedCgroup cgroup, int version) {
    if (cgroup.limit == INVALID) {
      cgroup.limit = known(readLimit(cgroup, NOT_KEPT, cgroup.limitFile));
    }
    if (cgroup.usage == INVALID) {
      cgroup.usage = known(readCounter(cgroup, NOT_KEPT, cgroup.usageFile));
    }
    if (cgroup.peak == INVALID) {
      cgroup.peak = known(readCounter(cgroup, NOT_KEPT, cgroup.peakFile));
    }
    if (version == 1 && cgroup.failcnt == INVALID) {
      cgroup.failcnt = known(readCounter(cgroup, NOT_KEPT, cgroup.failcntFile));
    }
    if (version == 2 && cgroup.pressureSomeAvg10.isEmpty()) {
      cgroup.pressureSomeAvg10 = readPressure(cgroup.pressureFile);
    }
  }

  /** v1 {@code memory.max_usage_in_bytes} / v2 {@code memory.peak} now, or INVALID. */
  long readPeak(TrackedCgroup cgroup) {
    if (cgroup.peak == INVALID) {
      cgroup.peak = known(readCounter(cgroup, NOT_KEPT, cgroup.peakFile));
    }
    return cgroup.peak;
  }

  /** The snapshot of what {@code cgroup} holds now (call {@link #readRest} first for all of it). */
  static CgroupMemorySnapshot snapshot(TrackedCgroup cgroup, int version, Instant sampledAt) {
    boolean v1 = version == 1;
    return new CgroupMemorySnapshot(
        cgroup.cgroupPath,
        version,
        sampledAt,
        cgroup.limit >= 0 && cgroup.limit != MemoryFileParser.UNLIMITED
            ? OptionalLong.of(cgroup.limit) : OptionalLong.empty(),
        Math.max(0, cgroup.usage),
        optional(cgroup.peak),
        v1 ? optional(cgroup.failcnt) : OptionalLong.empty(),
        optional(cgroup.oomKill),
        v1 ? OptionalLong.empty() : optional(cgroup.eventsMax),
        v1 ? OptionalLong.empty() : optional(cgroup.eventsOom),
        v1 ? OptionalLong.empty() : optional(cgroup.oomGroupKill),
        v1 ? OptionalDouble.empty() : cgroup.pressureSomeAvg10);
  }

  /**
   * Every memory counter of the cgroup in {@code directory}, read now; empty when the cgroup is gone.
   *
   * @param cgroupPath its path below the memory root, e.g. {@code /kubepods/burstable/pod<uid>}
   */
  Optional<CgroupMemorySnapshot> read(Path directory, String cgroupPath, int version, Instant at) {
    try (TrackedCgroup cgroup = new TrackedCgroup(version, directory, cgroupPath, Optional.empty())) {
      if (!readPodCounters(cgroup, version)) {
        return Optional.empty();
      }
      readRest(cgroup, version);
      return Optional.of(snapshot(cgroup, version, at));
    }
  }

  private boolean readEvents(TrackedCgroup cgroup, int version) {
    int length = readFile(cgroup, TrackedCgroup.EVENTS_SLOT, cgroup.eventsFile);
    if (length == CgroupFileReader.VANISHED) {
      return false;
    }
    if (length < 0) {
      return true;
    }
    byte[][] keys = version == 1 ? MemoryFileParser.OOM_CONTROL_KEYS : MemoryFileParser.EVENTS_KEYS;
    int malformed = MemoryFileParser.parseKeyed(files.bytes(), 0, length, keys, keyed);
    if (version == 1) {
      cgroup.oomKill = keyed[MemoryFileParser.OOM_CONTROL_OOM_KILL];
    } else {
      cgroup.eventsMax = keyed[MemoryFileParser.EVENTS_MAX];
      cgroup.eventsOom = keyed[MemoryFileParser.EVENTS_OOM];
      cgroup.oomKill = keyed[MemoryFileParser.EVENTS_OOM_KILL];
      cgroup.oomGroupKill = keyed[MemoryFileParser.EVENTS_OOM_GROUP_KILL];
    }
    if (malformed > 0 || cgroup.oomKill == INVALID) {
      parseError(cgroup.eventsFile, length);
    }
    return true;
  }

  private long readLimit(TrackedCgroup cgroup, int slot, Path file) {
    int length = readFile(cgroup, slot, file);
    if (length < 0) {
      return length == CgroupFileReader.VANISHED ? GONE : INVALID;
    }
    long value = MemoryFileParser.parseLimit(files.bytes(), 0, length);
    if (value == INVALID) {
      parseError(file, length);
    }
    return value;
  }

  private long readCounter(TrackedCgroup cgroup, int slot, Path file) {
    int length = readFile(cgroup, slot, file);
    if (length < 0) {
      return length == CgroupFileReader.VANISHED ? GONE : INVALID;
    }
    long value = MemoryFileParser.parseCounter(files.bytes(), 0, length);
    if (value == INVALID) {
      parseError(file, length);
    }
    return value;
  }

  private OptionalDouble readPressure(Path file) {
    int length = readFile(null, NOT_KEPT, file);
    if (length < 0) {
      return OptionalDouble.empty();
    }
    OptionalDouble avg10 = MemoryFileParser.parsePressureSomeAvg10(files.bytes(), 0, length);
    if (avg10.isEmpty()) {
      parseError(file, length);
    }
    return avg10;
  }

  /** Bytes read; {@link CgroupFileReader#VANISHED} when gone; {@link #UNREADABLE} when it cannot be read. */
  private int readFile(TrackedCgroup cgroup, int slot, Path file) {
    try {
      int length = slot == NOT_KEPT ? files.read(file) : files.read(cgroup.open, slot, file);
      if (length == CgroupFileReader.VANISHED) {
        counters.filesVanished.incrementAndGet();
      }
      return length;
    } catch (IOException e) {
      counters.readErrors.incrementAndGet();
      log.debug("cannot read {}: {}", file, e.toString());
      return UNREADABLE;
    }
  }

  private void parseError(Path file, int length) {
    counters.parseErrors.incrementAndGet();
    if (log.isDebugEnabled()) {
      log.debug("{} did not parse: {}", file,
          new String(files.bytes(), 0, Math.min(length, 200), StandardCharsets.ISO_8859_1));
    }
  }

  private static long known(long value) {
    return value == GONE ? INVALID : value;
  }

  private static OptionalLong optional(long value) {
    return value >= 0 ? OptionalLong.of(value) : OptionalLong.empty();
  }
}
