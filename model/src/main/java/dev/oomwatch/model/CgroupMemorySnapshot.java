package dev.oomwatch.model;

import java.time.Instant;
import java.util.OptionalDouble;
import java.util.OptionalLong;

/**
 * The memory counters of one cgroup at one poll, from either cgroup version; a counter the version does
 * not have is empty (v1 has no {@code memory.events}, v2 no {@code failcnt}). Immutable.
 *
 * @param cgroupPath    path below the hierarchy root, e.g. {@code /kubepods/burstable/pod<uid>}
 * @param version       1 or 2
 * @param sampledAt     when it was read
 * @param limitBytes    {@code memory.limit_in_bytes} / {@code memory.max}; empty when unlimited
 * @param usageBytes    {@code memory.usage_in_bytes} / {@code memory.current}
 * @param peakBytes     {@code memory.max_usage_in_bytes} / {@code memory.peak}, when present
 * @param failcnt       v1 {@code memory.failcnt}
 * @param oomKill       v1 {@code memory.oom_control} {@code oom_kill}, v2 {@code memory.events} {@code oom_kill}
 * @param eventsMax     v2 {@code memory.events} {@code max}
 * @param eventsOom     v2 {@code memory.events} {@code oom}
 * @param oomGroupKill  v2 {@code memory.events} {@code oom_group_kill}
 * @param pressureSomeAvg10 v2 {@code memory.pressure} {@code some avg10}
 */
public record CgroupMemorySnapshot(
    String cgroupPath,
    int version,
    Instant sampledAt,
    OptionalLong limitBytes,
    long usageBytes,
    OptionalLong peakBytes,
    OptionalLong failcnt,
    OptionalLong oomKill,
    OptionalLong eventsMax,
    OptionalLong eventsOom,
    OptionalLong oomGroupKill,
    OptionalDouble pressureSomeAvg10) {}
