package dev.oomwatch.source.cgroup;

import static dev.oomwatch.source.cgroup.TrackedCgroup.rose;

import dev.oomwatch.model.CgroupOomSignal;
import dev.oomwatch.model.CgroupOomSignal.Kind;
import dev.oomwatch.model.MemorySample;
import dev.oomwatch.model.Observation;
import dev.oomwatch.model.PodCgroupLocator;
import dev.oomwatch.model.WatchedPod;
import dev.oomwatch.source.cgroup.PodCgroupFinder.PodCgroup;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One poll of the memory cgroups of the watched pods, and the state kept between polls: what
 * {@link CgroupSource} runs on its thread, separate from the thread so that tests can drive polls one
 * by one.
 *
 * <p>Each poll, for every watched pod: find its pod cgroup (once; see {@link PodCgroupFinder}), read
 * its counters and each child cgroup's kill counter (the sandbox's among them; the children are listed
 * again only when they may have changed, see {@link #refreshChildren}), compare with the previous poll
 * and hand to the sink:
 *
 * <ul>
 *   <li>{@link Kind#OOM_KILL} when an {@code oom_kill} counter rose. On v2 the pod cgroup's
 *       {@code memory.events} is hierarchical, counts every kill below it and survives the sandbox
 *       cgroup's deletion, so the pod's counter is the one compared; the sandbox id is that of the child
 *       whose own counter rose in the same poll, else that of the pod's only child at the previous poll.
 *       (A cgroup2 mounted with {@code memory_localevents}, which systemd and kubelet do not do, makes
 *       {@code memory.events} local; kills would then go unseen here.) On v1 {@code memory.oom_control} counts a kill only in the victim's own cgroup — the sandbox
 *       cgroup, which runsc deletes with the sandbox — so every child's counter (and the pod's own) is
 *       compared, and a kill is seen only if a poll reads the sandbox cgroup between the kill and its
 *       deletion.
 *   <li>{@link Kind#LIMIT_HIT} when the pod cgroup hit its limit: v1 {@code failcnt} rose and
 *       {@code max_usage_in_bytes >= limit_in_bytes} (the kernel lets a dying task charge a page or so
 *       past the limit, so "at the limit" is {@code >=}, not {@code ==}); v2 {@code oom} rose (else
 *       {@code max}). These survive the sandbox on both versions.
 *   <li>a {@link MemorySample} of the pod cgroup each poll while its usage is at or above the near-limit
 *       share of its limit, and one more when it drops below.
 * </ul>
 *
 * <p>Baseline: the first poll that sees a pod cgroup only records its counters, so counts from before
 * the agent started (or before the pod was first seen) are never reported as new — a kill while the
 * agent was down is found by the kernel log's replay instead, and the cgroup source does not double
 * it. A child cgroup that appears below a pod already followed was made after that baseline, so its
 * counts are compared with zero: a sandbox killed before the first poll that saw its cgroup still
 * counts. A pod no longer watched, or whose cgroup is gone, is forgotten.
 *
 * <p>Not thread-safe: one thread polls, calls the sink, and finally {@link #close()}s the poller,
 * which closes the files kept open.
 */
final class CgroupPoller {

  private static final Logger log = LoggerFactory.getLogger(CgroupPoller.class);
  /** Children are listed again at least this often (in polls), in case one appeared unnoticed. */
  static final int RELIST_EVERY = 10;

  private final Path cgroupRoot;
  private final double nearLimitShare;
  private final Clock clock;
  private final PollCounters counters;
  private final CgroupMemoryReader reader;
  private final PodCgroupFinder finder = new PodCgroupFinder();
  private final Map<String, PodState> pods = new HashMap<>();
  private final PodMemoryReadings readings = new PodMemoryReadings();
  private final List<String> childNames = new ArrayList<>();

  private CgroupLayout layout;
  private long pollNumber;
  private long followChanges;
  /** Whether to keep the polled files open; null: decided from the file system type. */
  private Boolean keepFilesOpen;

  CgroupPoller(Path cgroupRoot, double nearLimitShare, Clock clock, PollCounters counters) {
    this.cgroupRoot = cgroupRoot;
    this.nearLimitShare = nearLimitShare;
    this.clock = clock;
    this.counters = counters;
    this.reader = new CgroupMemoryReader(counters);
  }

  /** How many pods the poller follows now (has a baseline for). */
  /** The pod's cgroup path as found by a poll; any thread (the finder's cache is concurrent). */
  Optional<String> podCgroupPath(String podUid) {
    return finder.known(podUid);
  }

  /** The latest figures of each followed pod, for {@code /metrics}; read from any thread. */
  PodMemoryReadings readings() {
    return readings;
  }

  int followedPods() {
    return pods.size();
  }

  /** Rises each time a pod is followed or forgotten: {@link #followedDirectories()} may differ then. */
  long followChanges() {
    return followChanges;
  }

  /** The directories of the pod cgroups followed now. */
  Set<Path> followedDirectories() {
    Set<Path> directories = new HashSet<>();
    for (PodState state : pods.values()) {
      directories.add(state.pod.directory);
    }
    return directories;
  }

  /**
   * Polls the cgroups of {@code watched} once, handing observations to {@code sink} on this thread.
   * An exception from the sink is logged and does not stop the poll.
   *
   * @return the layout polled
   * @throws CgroupUnavailableException when no memory cgroup controller can be read, or pods are
   *     watched and none of their cgroups exists because there is no kubepods cgroup at all
   */
  CgroupLayout poll(Collection<WatchedPod> watched, Consumer<Observation> sink)
      throws CgroupUnavailableException {
    CgroupLayout current = currentLayout();
    int version = current.version();
    long poll = ++pollNumber;
    Instant now = clock.instant();
    int watchedCount = 0;
    int withoutCgroup = 0;
    for (WatchedPod watchedPod : watched) {
      if (watchedPod == null) {
        continue;
      }
      watchedCount++;
      String uid = watchedPod.ref().uid();
      PodState state = pods.get(uid);
      if (state == null) {
        Optional<PodCgroup> found = finder.find(current, uid);
        if (found.isEmpty()) {
          withoutCgroup++;
          continue;
        }
        PodCgroup pod = found.get();
        state = new PodState(uid, new TrackedCgroup(version, pod.directory(), pod.cgroupPath(),
            Optional.empty()), readings.follow(watchedPod.ref()));
        pods.put(uid, state);
        followChanges++;
      }
      state.seenAtPoll = poll;
      if (!pollPod(state, version, now, sink)) {
        log.debug("the cgroup of pod {} is gone; forgetting it", uid);
        pods.remove(uid);
        followChanges++;
        finder.forget(uid);
        readings.forget(uid);
        state.close();
        withoutCgroup++;
      }
    }
    forgetPodsNotSeenAt(poll);
    counters.podsWatched = watchedCount;
    counters.podsWithoutCgroup = withoutCgroup;
    if (watchedCount > 0 && withoutCgroup == watchedCount) {
      checkStillThere(watchedCount);
    }
    return current;
  }

  private CgroupLayout currentLayout() throws CgroupUnavailableException {
    if (layout == null) {
      layout = CgroupLayout.detect(cgroupRoot);
      boolean keep = keepFilesOpen != null
          ? keepFilesOpen
          : CgroupFileReader.isKernelCgroupFs(layout.memoryRoot());
      reader.keepFilesOpen(keep);
      log.info("memory cgroups under {}: {}{}", layout.memoryRoot(), layout.describe(),
          keep ? "; keeping the polled files open" : "");
    } else if (layout.driver().isEmpty()) {
      layout = layout.redetectDriver();
      layout.driver().ifPresent(d -> log.info("kubelet's {} cgroup appeared under {}", d.topCgroup(),
          layout.memoryRoot()));
    }
    return layout;
  }

  /**
   * No watched pod has a cgroup: fine while they are being made, but not when the memory controller
   * went away or there is no kubepods cgroup at all (the agent sees its own cgroup namespace, not the
   * host's).
   */
  private void checkStillThere(int watchedCount) throws CgroupUnavailableException {
    CgroupLayout now;
    try {
      now = CgroupLayout.detect(cgroupRoot);
    } catch (CgroupUnavailableException e) {
      layout = null;
      forgetAllPods();
      throw e;
    }
    if (!now.memoryRoot().equals(layout.memoryRoot()) || now.version() != layout.version()) {
      // Remounted differently: start over, deciding again how to read (next poll).
      log.info("memory cgroups under {} changed to {} under {}", layout.memoryRoot(), now.describe(),
          now.memoryRoot());
      layout = null;
      forgetAllPods();
    } else {
      layout = now;
    }
    if (now.driver().isEmpty()) {
      throw new CgroupUnavailableException("no kubepods cgroup under " + now.memoryRoot() + " while "
          + watchedCount + " gVisor pod(s) run on this node: mount the host's /sys/fs/cgroup (not the"
          + " agent container's own cgroup namespace) and pass its path with --cgroup-root");
    }
  }

  /** Polls one pod; false when its cgroup is gone. */
  private boolean pollPod(PodState state, int version, Instant now, Consumer<Observation> sink) {
    TrackedCgroup pod = state.pod;
    if (!reader.readPodCounters(pod, version)) {
      return false;
    }
    refreshChildren(state, version);
    if (pod.baselined) {
      emitKills(state, version, now, sink);
      emitLimitHit(state, version, now, sink);
    }
    emitSample(state, version, now, sink);
    state.reading.update(pod.usage, isLimited(pod.limit) ? pod.limit : -1, isNearLimit(pod),
        killsCounted(state, version));
    pod.keepCounters();
    for (TrackedCgroup child : state.children.values()) {
      child.keepCounters();
    }
    state.childrenBefore = state.children.size();
    state.onlyChildBefore = state.childrenBefore == 1
        ? state.children.values().iterator().next().sandboxId
        : Optional.empty();
    return true;
  }

  /**
   * Lists the pod cgroup's children when they may have changed — at the pod's first poll, while it
   * has none, after one of them vanished, and every {@link #RELIST_EVERY} polls — and reads each
   * child's kill counter. Listing a cgroup directory costs as much as reading several files (it holds
   * dozens of control files), and sandbox cgroups come and go rarely: a new sandbox after a deleted
   * one is seen in the same poll, since the deleted one's read vanishes.
   */
  private void refreshChildren(PodState state, int version) {
    boolean listed = false;
    if (!state.pod.baselined || state.children.isEmpty() || ++state.pollsSinceListing >= RELIST_EVERY) {
      listChildren(state, version);
      listed = true;
    }
    if (readChildren(state, version) && !listed) {
      listChildren(state, version);
      readChildren(state, version);
    }
  }

  private void listChildren(PodState state, int version) {
    TrackedCgroup pod = state.pod;
    state.pollsSinceListing = 0;
    childNames.clear();
    try {
      if (!PodCgroupFinder.listChildNames(pod.directory, childNames)) {
        childNames.clear();
      }
    } catch (IOException e) {
      // Unreadable now: keep following the children known so far.
      counters.readErrors.incrementAndGet();
      log.debug("cannot list {}: {}", pod.directory, e.toString());
      return;
    }
    long listing = ++state.listings;
    for (int i = 0; i < childNames.size(); i++) {
      String name = childNames.get(i);
      TrackedCgroup child = state.children.get(name);
      if (child == null) {
        child = new TrackedCgroup(version, pod.directory.resolve(name), pod.cgroupPath + "/" + name,
            PodCgroupLocator.sandboxIdOfChild(name));
        if (pod.baselined) {
          child.startFromZero();
        }
        state.children.put(name, child);
      }
      child.seenAtListing = listing;
    }
    Iterator<TrackedCgroup> children = state.children.values().iterator();
    while (children.hasNext()) {
      TrackedCgroup child = children.next();
      if (child.seenAtListing != listing) {
        children.remove();
        child.close();
      }
    }
  }

  /** Reads the children not read in this poll yet; true if one of them vanished (and was dropped). */
  private boolean readChildren(PodState state, int version) {
    boolean vanished = false;
    Iterator<TrackedCgroup> children = state.children.values().iterator();
    while (children.hasNext()) {
      TrackedCgroup child = children.next();
      if (child.readAtPoll == pollNumber) {
        continue;
      }
      child.readAtPoll = pollNumber;
      if (!reader.readChildCounters(child, version)) {
        children.remove();
        child.close();
        vanished = true;
      }
    }
    return vanished;
  }

  private void emitKills(PodState state, int version, Instant now, Consumer<Observation> sink) {
    TrackedCgroup pod = state.pod;
    if (version == 1) {
      if (rose(pod.lastOomKill, pod.oomKill)) {
        emitSignal(state, pod, sandboxAtPodLevel(state), Kind.OOM_KILL, "oom_kill", pod.lastOomKill,
            pod.oomKill, version, now, sink);
      }
      for (TrackedCgroup child : state.children.values()) {
        if (rose(child.lastOomKill, child.oomKill)) {
          emitSignal(state, child, child.sandboxId, Kind.OOM_KILL, "oom_kill", child.lastOomKill,
              child.oomKill, version, now, sink);
        }
      }
      return;
    }
    if (rose(pod.lastOomKill, pod.oomKill)) {
      emitSignal(state, pod, sandboxOfV2Kill(state), Kind.OOM_KILL, "oom_kill", pod.lastOomKill,
          pod.oomKill, version, now, sink);
    }
  }

  private void emitLimitHit(PodState state, int version, Instant now, Consumer<Observation> sink) {
    TrackedCgroup pod = state.pod;
    if (version == 1) {
      if (rose(pod.lastFailcnt, pod.failcnt) && isLimited(pod.limit)) {
        long peak = reader.readPeak(pod);
        if (peak >= pod.limit) {
          emitSignal(state, pod, sandboxAtPodLevel(state), Kind.LIMIT_HIT, "failcnt", pod.lastFailcnt,
              pod.failcnt, version, now, sink);
        }
      }
      return;
    }
    if (rose(pod.lastEventsOom, pod.eventsOom)) {
      emitSignal(state, pod, sandboxAtPodLevel(state), Kind.LIMIT_HIT, "oom", pod.lastEventsOom,
          pod.eventsOom, version, now, sink);
    } else if (rose(pod.lastEventsMax, pod.eventsMax)) {
      emitSignal(state, pod, sandboxAtPodLevel(state), Kind.LIMIT_HIT, "max", pod.lastEventsMax,
          pod.eventsMax, version, now, sink);
    }
  }

  private boolean isNearLimit(TrackedCgroup pod) {
    return isLimited(pod.limit) && pod.usage >= 0 && pod.usage >= (long) (pod.limit * nearLimitShare);
  }

  /**
   * The kills the pod's cgroups count now: on v2 the pod cgroup's hierarchical counter, which keeps
   * them all; on v1 the pod's own and its live children's (a sandbox's count goes with its cgroup, so
   * this can fall), -1 when none was readable.
   */
  private static long killsCounted(PodState state, int version) {
    long kills = state.pod.oomKill;
    if (version == 1) {
      for (TrackedCgroup child : state.children.values()) {
        if (child.oomKill >= 0) {
          kills = Math.max(kills, 0) + child.oomKill;
        }
      }
    }
    return kills < 0 ? -1 : kills;
  }

  private void emitSample(PodState state, int version, Instant now, Consumer<Observation> sink) {
    TrackedCgroup pod = state.pod;
    boolean known = isLimited(pod.limit) && pod.usage >= 0;
    boolean near = isNearLimit(pod);
    if (!near && !(state.nearLimit && known)) {
      return;
    }
    state.nearLimit = near;
    reader.readRest(pod, version);
    MemorySample sample = new MemorySample(state.uid, CgroupMemoryReader.snapshot(pod, version, now));
    counters.samplesEmitted.incrementAndGet();
    deliver(sample, sink);
  }

  private void emitSignal(PodState state, TrackedCgroup cgroup, Optional<String> sandboxId, Kind kind,
      String counter, long before, long after, int version, Instant now, Consumer<Observation> sink) {
    reader.readRest(cgroup, version);
    CgroupOomSignal signal = new CgroupOomSignal(state.uid, sandboxId, kind, counter, before, after,
        CgroupMemoryReader.snapshot(cgroup, version, now));
    counters.signalsEmitted.incrementAndGet();
    log.debug("cgroup {} {}: {} {} -> {}", cgroup.cgroupPath, kind, counter, before, after);
    deliver(signal, sink);
  }

  /** Hands {@code observation} to {@code sink}; a sink that throws is logged, never propagated. */
  static void deliver(Observation observation, Consumer<Observation> sink) {
    try {
      sink.accept(observation);
    } catch (RuntimeException e) {
      log.error("the cgroup sink failed on {}", observation, e);
    }
  }

  /**
   * For a v2 pod-level kill: the child whose own {@code oom_kill} rose in this poll, if exactly one
   * did; else the pod's only child at the previous poll.
   */
  private static Optional<String> sandboxOfV2Kill(PodState state) {
    TrackedCgroup killed = null;
    for (TrackedCgroup child : state.children.values()) {
      if (rose(child.lastOomKill, child.oomKill)) {
        if (killed != null) {
          return sandboxAtPodLevel(state);
        }
        killed = child;
      }
    }
    return killed != null ? killed.sandboxId : sandboxAtPodLevel(state);
  }

  /**
   * For a counter of the pod cgroup: the pod's only child at the previous poll (the sandbox, which may
   * be gone by now), or, if there was none then, its only child now.
   */
  private static Optional<String> sandboxAtPodLevel(PodState state) {
    if (state.childrenBefore == 1) {
      return state.onlyChildBefore;
    }
    if (state.childrenBefore == 0 && state.children.size() == 1) {
      return state.children.values().iterator().next().sandboxId;
    }
    return Optional.empty();
  }

  /** Closes every file kept open and forgets every pod; the next poll starts with new baselines. */
  void close() {
    forgetAllPods();
  }

  /** Keep the polled files open (or not) whatever the file system; for tests. */
  void keepFilesOpen(boolean keep) {
    keepFilesOpen = keep;
    reader.keepFilesOpen(keep);
  }

  private void forgetAllPods() {
    for (PodState state : pods.values()) {
      finder.forget(state.uid);
      state.close();
    }
    pods.clear();
    followChanges++;
    readings.forgetAll();
  }

  private void forgetPodsNotSeenAt(long poll) {
    Iterator<PodState> states = pods.values().iterator();
    while (states.hasNext()) {
      PodState state = states.next();
      if (state.seenAtPoll != poll) {
        states.remove();
        followChanges++;
        finder.forget(state.uid);
        readings.forget(state.uid);
        state.close();
      }
    }
  }

  private static boolean isLimited(long limit) {
    return limit > 0 && limit != MemoryFileParser.UNLIMITED;
  }

  /** What the poller keeps about one pod between polls. */
  private static final class PodState implements AutoCloseable {
    final String uid;
    final TrackedCgroup pod;
    final PodMemoryReadings.Reading reading;
    final Map<String, TrackedCgroup> children = new LinkedHashMap<>();
    long seenAtPoll;
    long listings;
    int pollsSinceListing;
    int childrenBefore;
    Optional<String> onlyChildBefore = Optional.empty();
    boolean nearLimit;

    PodState(String uid, TrackedCgroup pod, PodMemoryReadings.Reading reading) {
      this.uid = uid;
      this.pod = pod;
      this.reading = reading;
    }

    @Override
    public void close() {
      pod.close();
      children.values().forEach(TrackedCgroup::close);
      children.clear();
    }
  }
}
