package dev.oomwatch.source.cgroup;

import dev.oomwatch.metrics.AgentMetrics;
import dev.oomwatch.model.CgroupOomSignal;
import dev.oomwatch.model.CgroupOomSignal.Kind;
import dev.oomwatch.model.CgroupPolled;
import dev.oomwatch.model.Observation;
import dev.oomwatch.model.WatchedPod;
import dev.oomwatch.source.Source;
import dev.oomwatch.source.SourceHealth;
import dev.oomwatch.source.SourceHealth.State;
import dev.oomwatch.support.DaemonThreads;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The memory cgroups of the node's gVisor pods as a {@link Source}: polls, at a fixed interval (1 s by
 * default), the pod cgroup and the child cgroups (the sandbox's) of every pod the supplier names, and
 * hands the sink {@link dev.oomwatch.model.CgroupOomSignal}s when a kill or limit counter rose and
 * {@link dev.oomwatch.model.MemorySample}s while a pod is near its limit, then a
 * {@link CgroupPolled} that closes each successful poll. What is compared, and why,
 * is described on {@link CgroupPoller}; in short: works on cgroup v1 and v2, with kubelet's cgroupfs
 * and systemd drivers and every QoS class, all found from the mounted tree, not from config.
 *
 * <p>Baseline trade-off: the first poll of a pod's cgroup only records its counters. A kill that
 * happened before the agent started is therefore not reported from here (a counter cannot tell when
 * it rose); the kernel log source replays those. A restart of the agent never re-reports a kill.
 *
 * <p>v1 caveat: the only v1 counter of the kill itself is {@code oom_kill} in the sandbox's own
 * cgroup, which runsc deletes with the sandbox; a poll that does not fall between the kill and that
 * deletion sees only the pod cgroup's {@code failcnt} rising with its peak at the limit
 * ({@link dev.oomwatch.model.CgroupOomSignal.Kind#LIMIT_HIT}). v2 counts the kill in the pod cgroup
 * too, where it stays. (On this project's machine, runsc 20221219 noticed the dead sentry 1.3 to 1.8 s
 * after the kill, so a sandbox deleted as soon as runsc said it stopped was still seen killed by
 * polls every 1 s and every 200 ms, 5 times out of 5; a runtime that deletes faster shortens that.)
 *
 * <p>Cost: per pod and poll, three (v2) or four (v1) small files of the pod cgroup and one per child
 * cgroup, read into reused buffers without regular expressions; on the kernel's cgroup file systems
 * these files are kept open and read again from offset 0 (one {@code pread} each), so the source holds
 * about five file descriptors per pod. A pod cgroup's directory is listed only when its children may
 * have changed. Measured with {@code CgroupPollBenchmark} (test sources).
 *
 * <p>Kernel notifications (when turned on): the kernel signals a pod cgroup's memory events — on
 * v2 {@code memory.events} is marked modified (inotify), on v1 an eventfd registered on
 * {@code memory.oom_control} fires when the cgroup enters OOM — and the source then polls at once,
 * and again 5, 20, 50 and 100 ms after the notification until a poll counts a kill, so a kill is
 * reported within milliseconds instead of within one interval. A notification is never evidence by
 * itself: only what these polls read is reported, as at any poll. Any registration that fails (a
 * read-only mount on v1, no descriptors left...) leaves that pod to the interval's poll; see
 * {@link CgroupNotifications}.
 *
 * <p>Health: {@code STARTING} until the first poll, {@code LIVE} after each successful one,
 * {@code FAILED} with a sentence saying what to do when the cgroup root is missing or unreadable, has
 * no memory controller, or has no kubepods cgroup while gVisor pods run (the agent sees its own cgroup
 * namespace). One WARN says so; polling goes on at the same interval and the source turns
 * {@code LIVE} once the tree is there. Any other failure of a poll is logged, counted in
 * {@link #stats()}, and the next poll runs as usual. Only a failure of that handling itself (say, an
 * Error while logging one) ends the thread; health is then {@code DEAD} for good.
 *
 * <p>Threading: one daemon thread {@code cgroup-poller} polls and calls the sink, one observation at a
 * time; a sink should return quickly, since the next poll waits for it. An exception from the sink is
 * logged and does not stop the source. The pods supplier is called from the same thread once per
 * poll. {@link #close()} wakes the thread and waits briefly for it; after it returns the sink is not
 * called again. All public methods are thread-safe.
 */
public final class CgroupSource implements Source {

  /** Where the host's cgroup hierarchies are mounted on a node. */
  public static final Path HOST_CGROUP_ROOT = Path.of("/sys/fs/cgroup");
  public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(1);
  /** Memory samples are sent while usage is at least this share of the limit. */
  public static final double DEFAULT_NEAR_LIMIT_SHARE = 0.9;

  private static final String NAME = "cgroup";
  /** After a kernel notification: polls at once, then this long after it while no kill is counted. */
  private static final long[] BURST_MILLIS = {5, 20, 50, 100};
  /** The least time between the starts of two polls that notifications cause. */
  private static final long MIN_GAP_NANOS = TimeUnit.MILLISECONDS.toNanos(5);
  private static final Duration THREAD_EXIT_WAIT = Duration.ofSeconds(5);
  private static final Logger log = LoggerFactory.getLogger(CgroupSource.class);

  private final Path cgroupRoot;
  private final Supplier<? extends Collection<WatchedPod>> pods;
  private final Duration interval;
  private final PollCounters counters = new PollCounters();
  private final Clock clock;
  private final CgroupPoller poller;
  private final CountDownLatch closed = new CountDownLatch(1);
  /** Released by a kernel notification (and by close) to make the polling thread poll at once. */
  private final Semaphore wakeups = new Semaphore(0);
  private final CgroupNotifications notifications;

  private volatile SourceHealth health;
  private volatile CgroupLayout polledLayout;
  private Thread thread; // guarded by this
  private Consumer<Observation> sink;
  private String lastWarning;
  private long followChangesNotified = -1;
  /** Whether the poll running now counted a kill; polling thread. */
  private boolean killCounted;

  /** Polls {@code cgroupRoot} every second, sampling pods above 90 % of their limit. */
  public CgroupSource(Path cgroupRoot, Supplier<? extends Collection<WatchedPod>> pods) {
    this(cgroupRoot, pods, DEFAULT_INTERVAL, DEFAULT_NEAR_LIMIT_SHARE);
  }

  /**
   * @param cgroupRoot     where the host's cgroup hierarchies are mounted ({@link #HOST_CGROUP_ROOT})
   * @param pods           the gVisor pods on this node now, e.g. {@code GvisorPods::all}; called once
   *                       per poll on the polling thread
   * @param interval       time between the starts of two polls
   * @param nearLimitShare usage at or above this share of the limit is sampled, in (0, 1]
   */
  public CgroupSource(Path cgroupRoot, Supplier<? extends Collection<WatchedPod>> pods,
      Duration interval, double nearLimitShare) {
    this(cgroupRoot, pods, interval, nearLimitShare, false, Clock.systemUTC());
  }

  /**
   * As {@link #CgroupSource(Path, Supplier, Duration, double)}, and with {@code notifications} the
   * kernel's memory-cgroup notifications make the cgroups be read at once (see the class comment).
   */
  public CgroupSource(Path cgroupRoot, Supplier<? extends Collection<WatchedPod>> pods,
      Duration interval, double nearLimitShare, boolean notifications) {
    this(cgroupRoot, pods, interval, nearLimitShare, notifications, Clock.systemUTC());
  }

  CgroupSource(Path cgroupRoot, Supplier<? extends Collection<WatchedPod>> pods, Duration interval,
      double nearLimitShare, Clock clock) {
    this(cgroupRoot, pods, interval, nearLimitShare, false, clock);
  }

  CgroupSource(Path cgroupRoot, Supplier<? extends Collection<WatchedPod>> pods, Duration interval,
      double nearLimitShare, boolean notifications, Clock clock) {
    this.cgroupRoot = Objects.requireNonNull(cgroupRoot, "cgroupRoot");
    this.pods = Objects.requireNonNull(pods, "pods");
    this.interval = Objects.requireNonNull(interval, "interval");
    if (interval.isNegative() || interval.isZero()) {
      throw new IllegalArgumentException("poll interval must be positive: " + interval);
    }
    if (!(nearLimitShare > 0 && nearLimitShare <= 1)) {
      throw new IllegalArgumentException("near-limit share must be in (0, 1]: " + nearLimitShare);
    }
    this.clock = Objects.requireNonNull(clock, "clock");
    this.poller = new CgroupPoller(cgroupRoot, nearLimitShare, clock, counters);
    this.notifications = new CgroupNotifications(notifications, wakeups::release, interval);
    this.health = new SourceHealth(NAME, State.STARTING, "first poll of " + cgroupRoot + " pending");
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public boolean oomCapable() {
    return true;
  }

  @Override
  public synchronized void start(Consumer<Observation> sink) {
    Objects.requireNonNull(sink, "sink");
    if (thread != null || isClosed()) {
      throw new IllegalStateException("the cgroup source can be started once");
    }
    this.sink = sink;
    thread = DaemonThreads.thread("cgroup-poller", this::pollUntilClosed);
    thread.start();
  }

  @Override
  public SourceHealth health() {
    return health;
  }

  /** The counters so far; callable from any thread at any time. */
  public CgroupStats stats() {
    return counters.snapshot();
  }

  /**
   * The path of the pod's memory cgroup below the memory root (as the kernel prints it, e.g.
   * {@code /kubepods/burstable/pod<uid>}), once a poll has found it; callable from any thread.
   */
  public Optional<String> podCgroupPath(String podUid) {
    return poller.podCgroupPath(podUid);
  }

  @Override
  public void registerMetrics(AgentMetrics metrics) {
    metrics.registerCounter("oomwatch_cgroup_polls", "Polls of the pod cgroups", counters.polls::get);
    metrics.registerCounter("oomwatch_cgroup_files_vanished",
        "cgroup files that vanished while being read (a sandbox deleted meanwhile)", counters.filesVanished::get);
    metrics.registerCounter("oomwatch_cgroup_parse_errors", "cgroup files that did not parse",
        counters.parseErrors::get);
    metrics.registerCounter("oomwatch_cgroup_signals", "cgroup counter rises seen (kills and limit hits)",
        counters.signalsEmitted::get);
    poller.readings().register(metrics);
    notifications.registerMetrics(metrics);
  }

  /** Kernel notifications that made the cgroups be read at once, so far; any thread. */
  public long notificationsReceived() {
    return notifications.received();
  }

  /** Whether every followed pod cgroup has a kernel notification registered now; any thread. */
  public boolean notificationsActive() {
    return notifications.active();
  }

  /**
   * The OOM kills the pod's memory cgroups count now, once a poll has read them: on cgroup v2 every
   * kill since the pod started; on v1 only those in cgroups that still exist. Callable from any thread.
   */
  public OptionalLong oomKillsCounted(String podUid) {
    return poller.readings().oomKills(podUid);
  }

  /** The layout the latest successful poll read, for logs and {@code /readyz}. */
  public Optional<CgroupLayout> layout() {
    return Optional.ofNullable(polledLayout);
  }

  @Override
  public void close() {
    Thread pollerThread;
    synchronized (this) {
      if (isClosed()) {
        return;
      }
      closed.countDown();
      wakeups.release();
      pollerThread = thread;
    }
    if (pollerThread != null && pollerThread != Thread.currentThread()) {
      try {
        pollerThread.join(THREAD_EXIT_WAIT.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      if (pollerThread.isAlive()) {
        log.warn("the cgroup poller did not stop within {}", THREAD_EXIT_WAIT);
      }
    }
    if (pollerThread == null) {
      notifications.close();
    }
  }

  private void pollUntilClosed() {
    long intervalNanos = interval.toNanos();
    long nextRegular = System.nanoTime();
    long notifiedAt = 0;
    int burst = BURST_MILLIS.length; // the next poll of a notification's burst; none running
    try {
      while (!isClosed()) {
        long started = System.nanoTime();
        killCounted = false;
        pollOnce();
        if (started - nextRegular >= 0) {
          nextRegular = Math.max(started + intervalNanos, System.nanoTime() + intervalNanos / 10);
        }
        if (killCounted) {
          burst = BURST_MILLIS.length; // the counters moved: this notification is done with
        }
        long next = nextRegular;
        if (burst < BURST_MILLIS.length) {
          long burstAt = notifiedAt + TimeUnit.MILLISECONDS.toNanos(BURST_MILLIS[burst]);
          next = burstAt - nextRegular < 0 ? burstAt : nextRegular;
        }
        long wait = next - System.nanoTime();
        if (wait > 0 && wakeups.tryAcquire(wait, TimeUnit.NANOSECONDS)) {
          wakeups.drainPermits();
          if (isClosed()) {
            return;
          }
          // A kernel notification: poll now (at most every MIN_GAP), then a few times more.
          notifiedAt = System.nanoTime();
          burst = 0;
          long gap = started + MIN_GAP_NANOS - notifiedAt;
          if (gap > 0 && closed.await(gap, TimeUnit.NANOSECONDS)) {
            return;
          }
        } else if (burst < BURST_MILLIS.length && next != nextRegular) {
          burst++;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException | Error e) {
      // pollOnce() catches everything, so this is a failure of the failure handling itself (say, out
      // of memory while logging). Nothing restarts this thread: DEAD fails liveness.
      health = SourceHealth.dead(NAME, "the cgroup poller", e);
      log.error("the cgroup poller stopped for good", e);
      throw e;
    } finally {
      notifications.close();
      poller.close();
    }
  }

  /** One poll with its bookkeeping; never throws. Runs on the polling thread. */
  private void pollOnce() {
    try {
      Collection<WatchedPod> watched = pods.get();
      Instant started = clock.instant();
      CgroupLayout layout = poller.poll(watched == null ? List.of() : watched, this::deliver);
      counters.polls.incrementAndGet();
      markLive(layout);
      if (poller.followChanges() != followChangesNotified) {
        followChangesNotified = poller.followChanges();
        notifications.follow(layout, poller.followedDirectories());
      }
      // after every signal of the poll: inference waits for it before calling a death Likely
      CgroupPoller.deliver(new CgroupPolled(started), this::deliver);
    } catch (CgroupUnavailableException e) {
      counters.failedPolls.incrementAndGet();
      fail(e.getMessage(), null);
    } catch (RuntimeException | Error e) {
      // Including Errors: this thread is the only thing watching the cgroups; it must keep polling.
      counters.failedPolls.incrementAndGet();
      fail("polling the memory cgroups under " + cgroupRoot + " failed: " + e + "; retrying every "
          + interval.toMillis() + " ms", e);
    }
  }

  private void deliver(Observation observation) {
    if (observation instanceof CgroupOomSignal && ((CgroupOomSignal) observation).kind() == Kind.OOM_KILL) {
      killCounted = true;
    }
    if (!isClosed()) {
      sink.accept(observation);
    }
  }

  private void markLive(CgroupLayout layout) {
    if (health.state() != State.LIVE || !layout.equals(polledLayout)) {
      String detail = "reading memory cgroups under " + layout.memoryRoot() + " (" + layout.describe()
          + ") every " + interval.toMillis() + " ms";
      log.info("cgroup source: {}", detail);
      health = new SourceHealth(NAME, State.LIVE, detail);
    }
    polledLayout = layout;
    lastWarning = null;
  }

  private void fail(String sentence, Throwable cause) {
    health = new SourceHealth(NAME, State.FAILED, sentence);
    if (sentence.equals(lastWarning)) {
      log.debug("{}", sentence, cause);
    } else {
      lastWarning = sentence;
      if (cause == null) {
        log.warn("{}", sentence);
      } else {
        log.warn("{}", sentence, cause);
      }
    }
  }

  private boolean isClosed() {
    return closed.getCount() == 0;
  }
}
