package dev.oomwatch.source.cgroup;

import dev.oomwatch.metrics.AgentMetrics;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The kernel's memory-cgroup notifications for the cgroup source: picks the mechanism of the polled
 * cgroup version — on v2 an inotify watch of each pod cgroup's {@code memory.events}
 * ({@link CgroupV2Notifier}), on v1 an eventfd registered on each pod cgroup's {@code memory.oom_control}
 * ({@link CgroupV1Notifier}) — keeps it following the pods the poller follows, and counts what it did.
 * Every failure leaves the poll in charge: one INFO line per cause, the count of failures by reason,
 * and {@code oomwatch_cgroup_notifications_active} at 0.
 *
 * <p>Threading: {@link #follow} and {@link #close()} on the polling thread (close also from any
 * thread); the notifiers call {@link #notified()} and {@link #failed} from their own threads; metrics
 * are read from any thread.
 */
final class CgroupNotifications implements AutoCloseable {

  /** Reasons a registration failed, as the {@code reason} label says them. */
  static final String READ_ONLY = "read-only";
  static final String PERMISSION_DENIED = "permission-denied";
  static final String TOO_MANY_FILES = "too-many-files";
  static final String NATIVE_LIBRARY = "native-library";
  static final String NOT_CGROUPFS = "not-cgroupfs";
  static final String OTHER = "other";

  private static final Logger log = LoggerFactory.getLogger(CgroupNotifications.class);

  private final boolean enabled;
  private final Runnable onNotify;
  private final Duration pollInterval;
  private final AtomicLong received = new AtomicLong();
  private final Map<String, AtomicLong> failures = new ConcurrentHashMap<>();
  private final Set<String> logged = ConcurrentHashMap.newKeySet();

  private volatile CgroupNotifier notifier;
  private volatile int followed;
  private CgroupLayout notifierLayout;
  private boolean closed;

  /**
   * @param enabled      false: never register anything
   * @param onNotify     called on a notifier's thread when a followed cgroup signalled; must be quick
   * @param pollInterval the poll's interval, for the log lines
   */
  CgroupNotifications(boolean enabled, Runnable onNotify, Duration pollInterval) {
    this.enabled = enabled;
    this.onNotify = Objects.requireNonNull(onNotify, "onNotify");
    this.pollInterval = Objects.requireNonNull(pollInterval, "pollInterval");
    // every reason's series exists from the start at 0, so increase() sees the first failure
    for (String reason : List.of(READ_ONLY, PERMISSION_DENIED, TOO_MANY_FILES, NATIVE_LIBRARY, NOT_CGROUPFS, OTHER)) {
      failures.put(reason, new AtomicLong());
    }
  }

  /**
   * Follows {@code podCgroups} of {@code layout} from now on; a new layout (the tree was mounted
   * again) starts a new notifier. Polling thread only.
   */
  synchronized void follow(CgroupLayout layout, Set<Path> podCgroups) {
    if (!enabled || closed) {
      return;
    }
    if (notifier == null || !layout.memoryRoot().equals(notifierLayout.memoryRoot())
        || layout.version() != notifierLayout.version()) {
      if (notifier != null) {
        notifier.close();
      }
      notifierLayout = layout;
      notifier = layout.version() == 2 ? new CgroupV2Notifier(this) : CgroupV1Notifier.create(this, layout);
    }
    followed = podCgroups.size();
    notifier.follow(podCgroups);
  }

  /** 1 when notifications are on and every followed pod cgroup has one registered. */
  boolean active() {
    CgroupNotifier current = notifier;
    return enabled && current != null && current.available() && current.registered() >= followed;
  }

  /** How many followed pod cgroups have a notification registered now. */
  int registered() {
    CgroupNotifier current = notifier;
    return current == null ? 0 : current.registered();
  }

  /** Notifications that led to an early poll so far. */
  long received() {
    return received.get();
  }

  /** Failed registrations of {@code reason} so far. */
  long failures(String reason) {
    AtomicLong count = failures.get(reason);
    return count == null ? 0 : count.get();
  }

  void registerMetrics(AgentMetrics metrics) {
    metrics.registerGauge("oomwatch_cgroup_notifications_active",
        "1 while every followed pod cgroup has a kernel notification registered (OOM kills seen at once);"
            + " 0 when off or when some pods are seen by the poll only",
        List.of(), samples -> samples.add(active() ? 1 : 0));
    metrics.registerCounter("oomwatch_cgroup_notifications",
        "Kernel notifications of a pod cgroup's memory events that made the cgroups be read at once",
        received::get);
    metrics.registerLabelledCounter("oomwatch_cgroup_notification_failures",
        "Pod cgroups whose kernel notification could not be registered, by reason (the poll sees them)",
        List.of("reason"), samples -> failures.forEach((reason, count) -> samples.add(count.get(), reason)));
  }

  /** A followed cgroup signalled an event worth an early poll; a notifier's thread. */
  void notified() {
    received.incrementAndGet();
    onNotify.run();
  }

  /**
   * Registering {@code cgroup} failed for {@code reason}; counted, and logged once per reason.
   *
   * @param detail what happened, for the log line
   */
  void failed(Path cgroup, String reason, String detail) {
    failures.computeIfAbsent(reason, r -> new AtomicLong()).incrementAndGet();
    if (logged.add(reason)) {
      log.info("cgroup notifications unavailable ({}) for {}: {}; such pods' OOM kills are seen at the"
          + " next cgroup poll, every {} ms", reason, cgroup, detail, pollInterval.toMillis());
    } else {
      log.debug("cgroup notification not registered for {} ({}): {}", cgroup, reason, detail);
    }
  }

  @Override
  public synchronized void close() {
    closed = true;
    if (notifier != null) {
      notifier.close();
    }
  }
}
