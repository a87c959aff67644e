package dev.oomwatch.source.cgroup;

/**
 * A snapshot of a {@link CgroupSource}'s counters, for metrics. The counters count since the source
 * was created; the last two describe the latest poll. Immutable.
 *
 * @param polls             polls that ran to their end
 * @param failedPolls       polls that could not read any cgroup (no memory controller, no kubepods
 *                          cgroup while gVisor pods run, an unexpected error); the source kept polling
 * @param cgroupsRead       cgroups (pod cgroups and their children) whose counters were read
 * @param filesVanished     reads that found the file or its whole cgroup gone, as happens when a
 *                          sandbox cgroup is deleted with its sandbox
 * @param parseErrors       files whose contents did not parse (their values were taken as unknown)
 * @param readErrors        files that exist but could not be read (permission denied, ...)
 * @param signalsEmitted    {@link dev.oomwatch.model.CgroupOomSignal}s handed to the sink
 * @param samplesEmitted    {@link dev.oomwatch.model.MemorySample}s handed to the sink
 * @param podsWatched       gVisor pods the latest poll was asked about
 * @param podsWithoutCgroup of those, pods whose cgroup it did not find (not made yet, or elsewhere)
 */
public record CgroupStats(
    long polls,
    long failedPolls,
    long cgroupsRead,
    long filesVanished,
    long parseErrors,
    long readErrors,
    long signalsEmitted,
    long samplesEmitted,
    int podsWatched,
    int podsWithoutCgroup) {}
