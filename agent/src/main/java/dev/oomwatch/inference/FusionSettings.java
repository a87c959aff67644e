package dev.oomwatch.inference;

import java.time.Duration;

/**
 * The time windows and thresholds of {@link IncidentFusion}. Immutable.
 *
 * @param sameKillWindow  signals about one pod this close in time are about one kill (kmsg is
 *                        immediate, a cgroup poll and a sentry-death check come up to a poll later);
 *                        also how long what is known of a sandbox is kept after it died or its pod left
 * @param likelyWindow    a sandbox death and its pod cgroup hitting the limit this close together make
 *                        an OOM {@code Likely}; a death waits this long for such a signal before it is let go
 * @param stopWait        how long a death or an exit waits, before it may be called {@code Likely} or
 *                        {@code Possible}, for the pod's deletion or eviction to reach the pod cache:
 *                        kubelet may write {@code Evicted} just after the sandbox is gone
 * @param nearOomShare    share of the limit above which a pod is near OOM
 * @param nearOomFor      how long it must stay there before the warning
 * @param nearOomRepeat   the least time between two warnings for one pod
 */
public record FusionSettings(Duration sameKillWindow, Duration likelyWindow, Duration stopWait, double nearOomShare,
    Duration nearOomFor, Duration nearOomRepeat) {

  /**
   * Windows fit for a poll interval: the slower the polls, the wider the windows. The stop wait is
   * 3 s (or one poll if longer): kubelet writes a pod's eviction within about a second of killing its
   * sandbox (recent kubelets before), the runsc source notices a death up to one of its polls late,
   * and the API server and the watch add milliseconds; it stays within the Likely window, which bounds
   * how long a death is remembered.
   */
  public static FusionSettings forPollInterval(Duration poll, double nearOomShare, Duration nearOomFor,
      Duration nearOomRepeat) {
    Duration threePolls = poll.multipliedBy(3);
    Duration sameKill = max(Duration.ofSeconds(30), threePolls);
    Duration likely = max(Duration.ofSeconds(5), threePolls);
    Duration stopWait = max(Duration.ofSeconds(3), poll);
    return new FusionSettings(sameKill, likely, stopWait, nearOomShare, nearOomFor, nearOomRepeat);
  }

  private static Duration max(Duration a, Duration b) {
    return a.compareTo(b) >= 0 ? a : b;
  }
}
