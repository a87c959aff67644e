package dev.oomwatch.source.runsc;

import dev.oomwatch.model.Observation;
import dev.oomwatch.model.SandboxDied;
import dev.oomwatch.model.SandboxRef;
import dev.oomwatch.model.SandboxSeen;
import dev.oomwatch.model.SandboxUnlimited;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sandboxes of one runsc root dir, followed from poll to poll: given the state files as they are
 * now, says which sandboxes are new or changed ({@link SandboxSeen}), which died ({@link SandboxDied})
 * and which run without a memory limit ({@link SandboxUnlimited}).
 *
 * <p>A sandbox's liveness is its sentry's: the pid in the state files, looked up in the proc
 * filesystem, and the same process only while its start time is the one seen first (a pid is reused
 * after its process is reaped). The state files' {@code status} is no witness, since runsc rewrites
 * it only when a runsc command runs. A death is reported once per sandbox (through the
 * {@link DeathLedger} shared with the metric scraper); a sandbox seen again with another sentry pid
 * is a new incarnation, whose own death is reported again. A sandbox whose files are gone is watched
 * for {@link #REMOVED_WATCH} more: its sentry dying then is a death too ({@code runsc delete}).
 *
 * <p>Only a sandbox seen alive can be seen dying. One whose sentry is not found when first seen (the
 * agent started after it died, before containerd deleted it — or the proc root is not the host's), or
 * first seen {@code stopped} with no pid, died at a time nobody knows: it is <em>unknown</em>, never
 * reported dead, since a death paired with its pod at the limit would make a false OOM. When the proc
 * root does not show the host's processes at all ({@link HostPidView}), no pid is looked up: no death
 * and no memory-limit check comes from pids, and a sandbox counts as live while its state files are there.
 *
 * <p>Runsc containers without the CRI pod annotations belong to no pod and are skipped. Not
 * thread-safe: one poller thread calls {@link #update}; {@link #snapshot()} may be read from any
 * thread.
 */
final class SandboxTracker {

  /** How long a sandbox whose state files are gone is still watched for its sentry's death. */
  static final Duration REMOVED_WATCH = Duration.ofSeconds(30);

  private static final Logger log = LoggerFactory.getLogger(SandboxTracker.class);

  /** What one update found. */
  record Update(List<Observation> observations, int newSandboxes, List<String> procProblems,
      List<String> limitProblems) {}

  /** A live sandbox and its containers' state files (the sandbox's own among them, if present). */
  record LiveSandbox(SandboxRef ref, List<RunscStateFile> containers) {}

  /** What the tracker knows, for the other threads of the source. Immutable. */
  record Snapshot(Map<String, SandboxRef> known, List<LiveSandbox> live) {
    static final Snapshot EMPTY = new Snapshot(Map.of(), List.of());
  }

  private final ProcessProbe processes;
  private final MemoryLimitProbe limits;
  private final Function<String, Optional<String>> podCgroup;
  private final Function<String, OptionalLong> podMemoryLimit;
  private final DeathLedger ledger;
  private final boolean pidsVisible;
  private final Map<String, Tracked> tracked = new TreeMap<>();
  private final Set<String> skippedWithoutPod = new HashSet<>();
  private volatile Snapshot snapshot = Snapshot.EMPTY;

  SandboxTracker(ProcessProbe processes, MemoryLimitProbe limits,
      Function<String, Optional<String>> podCgroup, Function<String, OptionalLong> podMemoryLimit,
      DeathLedger ledger, boolean pidsVisible) {
    this.processes = processes;
    this.pidsVisible = pidsVisible;
    this.limits = limits;
    this.podCgroup = podCgroup;
    this.podMemoryLimit = podMemoryLimit;
    this.ledger = ledger;
  }

  Snapshot snapshot() {
    return snapshot;
  }

  /**
   * One poll. {@code files} are all state files present now, each in its newest complete version (a
   * file present but not readable this time is given in its previous version, so that it does not
   * count as removed).
   */
  Update update(Instant now, Collection<RunscStateFile> files) {
    Poll poll = new Poll(now);
    Map<String, List<RunscStateFile>> bySandbox = new TreeMap<>();
    for (RunscStateFile file : files) {
      bySandbox.computeIfAbsent(file.sandboxId(), id -> new ArrayList<>()).add(file);
    }
    for (Map.Entry<String, List<RunscStateFile>> entry : bySandbox.entrySet()) {
      List<RunscStateFile> group = entry.getValue();
      group.sort(Comparator.comparing(RunscStateFile::containerId));
      Optional<SandboxRef> ref = ref(entry.getKey(), group);
      if (ref.isEmpty()) {
        if (skippedWithoutPod.add(entry.getKey())) {
          log.debug("runsc sandbox {} has no pod annotations; skipped", entry.getKey());
        }
        continue;
      }
      present(poll, tracked.computeIfAbsent(entry.getKey(), Tracked::new), group, ref.get());
    }
    skippedWithoutPod.retainAll(bySandbox.keySet());
    for (Tracked sandbox : List.copyOf(tracked.values())) {
      if (sandbox.removedAt == null && !bySandbox.containsKey(sandbox.sandboxId)) {
        sandbox.removedAt = now;
      }
      if (pidsVisible && !sandbox.dead && sandbox.pid != 0) {
        checkLiveness(poll, sandbox);
      }
      if (sandbox.removedAt != null) {
        forgetIfSettled(poll, sandbox);
      } else if (pidsVisible && !sandbox.dead && sandbox.startTime >= 0 && !sandbox.limitSettled) {
        checkLimit(poll, sandbox);
      }
    }
    publish();
    return new Update(List.copyOf(poll.observations), poll.newSandboxes,
        List.copyOf(poll.procProblems), List.copyOf(poll.limitProblems));
  }

  private void present(Poll poll, Tracked sandbox, List<RunscStateFile> group, SandboxRef ref) {
    sandbox.files = List.copyOf(group);
    sandbox.removedAt = null;
    long newPid = ref.sentryPid().orElse(0);
    if (newPid != 0 && newPid != sandbox.pid) {
      if (pidsVisible && sandbox.pid != 0 && !sandbox.dead) {
        // A sandbox has one sentry: the old one must be gone (a restart under the same id).
        checkLiveness(poll, sandbox);
      }
      if (sandbox.dead) {
        sandbox.dead = false;
        ledger.reopen(sandbox.sandboxId);
        sandbox.counted = false;
      }
      sandbox.pid = newPid;
      sandbox.startTime = -1;
      sandbox.limitSettled = false;
    }
    // After a stop runsc writes pid -1: keep the pid that ran, which is what the kernel log names.
    sandbox.ref = newPid == 0 && sandbox.pid != 0 ? withSentryPid(ref, sandbox.pid) : ref;
    if (!sandbox.dead && !sandbox.ref.equals(sandbox.emitted)) {
      poll.observations.add(new SandboxSeen(sandbox.ref, poll.now));
      sandbox.emitted = sandbox.ref;
      if (!sandbox.counted) {
        sandbox.counted = true;
        poll.newSandboxes++;
      }
    }
    if (!sandbox.dead && sandbox.pid == 0 && stopped(group)) {
      // No pid was ever known (runsc keeps the pid it ran with): never seen alive, so no time of death.
      neverSeenAlive(sandbox, "first seen stopped, with no sentry pid");
    }
  }

  private void checkLiveness(Poll poll, Tracked sandbox) {
    ProcessProbe.Finding finding = processes.probe(sandbox.pid);
    if (finding instanceof ProcessProbe.Running running) {
      if (sandbox.startTime < 0) {
        sandbox.startTime = running.stat().startTime();
      } else if (running.stat().startTime() != sandbox.startTime) {
        died(poll, sandbox, deathHow(sandbox)
            + " (pid " + sandbox.pid + " now belongs to another process)");
      }
    } else if (finding instanceof ProcessProbe.Exited) {
      if (sandbox.startTime < 0) {
        neverSeenAlive(sandbox, "sentry pid " + sandbox.pid + " not found when first looked up");
      } else {
        died(poll, sandbox, deathHow(sandbox));
      }
    } else if (finding instanceof ProcessProbe.Unknown unknown) {
      poll.procProblems.add(unknown.reason());
    }
  }

  private static String deathHow(Tracked sandbox) {
    return sandbox.removedAt != null
        ? "state file removed and sentry pid " + sandbox.pid + " gone"
        : "sentry pid " + sandbox.pid + " exited";
  }

  private void died(Poll poll, Tracked sandbox, String how) {
    sandbox.dead = true;
    if (ledger.claim(sandbox.sandboxId, poll.now)) {
      log.debug("runsc sandbox {} of pod {}/{} died: {}", sandbox.sandboxId,
          sandbox.ref.podNamespace(), sandbox.ref.podName(), how);
      poll.observations.add(new SandboxDied(sandbox.ref, poll.now, how));
    }
  }

  /** Stops following a sandbox whose death, if any, cannot be dated: nothing is reported. */
  private void neverSeenAlive(Tracked sandbox, String why) {
    sandbox.dead = true;
    log.debug("runsc sandbox {} of pod {}/{} was never seen alive ({}): its end is unknown, not reported",
        sandbox.sandboxId, sandbox.ref.podNamespace(), sandbox.ref.podName(), why);
  }

  private void forgetIfSettled(Poll poll, Tracked sandbox) {
    boolean watchOver = Duration.between(sandbox.removedAt, poll.now).compareTo(REMOVED_WATCH) >= 0;
    if (sandbox.dead || sandbox.pid == 0 || watchOver) {
      if (!sandbox.dead && sandbox.pid != 0) {
        log.debug("runsc sandbox {}: state files gone {} ago, sentry pid {} still runs; no longer"
            + " watched", sandbox.sandboxId, REMOVED_WATCH, sandbox.pid);
      }
      tracked.remove(sandbox.sandboxId);
    }
  }

  private void checkLimit(Poll poll, Tracked sandbox) {
    String podUid = sandbox.ref.podUid();
    OptionalLong declared;
    try {
      declared = podMemoryLimit.apply(podUid);
    } catch (RuntimeException e) {
      log.warn("looking up the memory limit of pod {} failed", podUid, e);
      return;
    }
    if (declared == null || declared.isEmpty()) {
      return; // no limit declared (or the pod is not known yet): nothing to enforce
    }
    String content;
    try {
      content = processes.cgroupFile(sandbox.pid);
    } catch (IOException e) {
      poll.limitProblems.add("cannot read the cgroup of sentry pid " + sandbox.pid + ": " + e);
      return;
    }
    Optional<MemoryCgroup> cgroup = MemoryCgroup.parse(content);
    if (cgroup.isEmpty()) {
      poll.limitProblems.add("no memory cgroup in " + processes.procRoot() + "/" + sandbox.pid
          + "/cgroup");
      return;
    }
    MemoryCgroup memcg = cgroup.get();
    if (!MemoryLimitProbe.isPlainAbsolute(memcg.path()) && sandbox.ref.cgroupPath().isPresent()
        && MemoryLimitProbe.isPlainAbsolute(sandbox.ref.cgroupPath().get())) {
      // The agent has a cgroup namespace of its own (the default on v2), so the kernel shows the
      // sentry's cgroup relative to it; runsc, in the host's namespace, recorded the absolute path.
      memcg = new MemoryCgroup(memcg.version(), sandbox.ref.cgroupPath().get());
    }
    MemoryLimitProbe.Finding finding = limits.check(memcg);
    if (finding instanceof MemoryLimitProbe.Limited) {
      sandbox.limitSettled = true;
    } else if (finding instanceof MemoryLimitProbe.Unlimited) {
      sandbox.limitSettled = true;
      String expected;
      try {
        expected = Optional.ofNullable(podCgroup.apply(podUid)).flatMap(found -> found).orElse("");
      } catch (RuntimeException e) {
        log.warn("looking up the cgroup of pod {} failed", podUid, e);
        expected = "";
      }
      log.debug("runsc sandbox {} of pod {} sits in {} with no memory limit, its pod declares {}"
          + " bytes", sandbox.sandboxId, podUid, memcg.path(), declared.getAsLong());
      poll.observations.add(new SandboxUnlimited(sandbox.ref, memcg.path(), expected));
    } else if (finding instanceof MemoryLimitProbe.Unknown unknown) {
      poll.limitProblems.add(unknown.reason());
    }
  }

  private void publish() {
    Map<String, SandboxRef> known = new LinkedHashMap<>();
    List<LiveSandbox> live = new ArrayList<>();
    for (Tracked sandbox : tracked.values()) {
      if (sandbox.ref == null) {
        continue;
      }
      known.put(sandbox.sandboxId, sandbox.ref);
      if (!sandbox.dead && sandbox.removedAt == null && sandbox.pid != 0
          && (sandbox.startTime >= 0 || !pidsVisible)) {
        live.add(new LiveSandbox(sandbox.ref, sandbox.files));
      }
    }
    snapshot = new Snapshot(Map.copyOf(known), List.copyOf(live));
  }

  /** The pod and pids of one sandbox from its containers' files; empty without a pod uid. */
  static Optional<SandboxRef> ref(String sandboxId, List<RunscStateFile> group) {
    List<RunscStateFile> ordered = new ArrayList<>(group);
    // The sandbox container's own file first: its gofer is the sandbox's.
    ordered.sort(Comparator.comparing((RunscStateFile file) -> !isSandboxFile(file)));
    Optional<String> podUid = first(ordered, RunscStateFile::podUid);
    if (podUid.isEmpty()) {
      return Optional.empty();
    }
    OptionalLong sentryPid = ordered.stream().map(RunscStateFile::sentryPid)
        .filter(OptionalLong::isPresent).findFirst().orElse(OptionalLong.empty());
    OptionalLong goferPid = isSandboxFile(ordered.get(0)) ? ordered.get(0).goferPid()
        : OptionalLong.empty();
    return Optional.of(new SandboxRef(sandboxId, podUid.get(),
        first(ordered, RunscStateFile::podNamespace).orElse(""),
        first(ordered, RunscStateFile::podName).orElse(""),
        sentryPid, goferPid, first(ordered, RunscStateFile::cgroupPath)));
  }

  private static boolean isSandboxFile(RunscStateFile file) {
    return file.kind() == RunscStateFile.Kind.SANDBOX
        && file.containerId().equals(file.sandboxId());
  }

  private static boolean stopped(List<RunscStateFile> group) {
    for (RunscStateFile file : group) {
      if (isSandboxFile(file)) {
        return file.stopped();
      }
    }
    return group.stream().allMatch(RunscStateFile::stopped);
  }

  private static Optional<String> first(List<RunscStateFile> files,
      Function<RunscStateFile, Optional<String>> field) {
    for (RunscStateFile file : files) {
      Optional<String> value = field.apply(file);
      if (value.isPresent()) {
        return value;
      }
    }
    return Optional.empty();
  }

  private static SandboxRef withSentryPid(SandboxRef ref, long pid) {
    return new SandboxRef(ref.sandboxId(), ref.podUid(), ref.podNamespace(), ref.podName(),
        OptionalLong.of(pid), ref.goferPid(), ref.cgroupPath());
  }

  /** One sandbox as followed so far. */
  private static final class Tracked {
    final String sandboxId;
    List<RunscStateFile> files = List.of();
    /** The newest description, with the sentry pid being watched. */
    SandboxRef ref;
    /** The description last handed over in a SandboxSeen, or null. */
    SandboxRef emitted;
    /** The sentry pid being watched; 0 when none is known. */
    long pid;
    /** The watched pid's start time when first seen running; -1 until then. */
    long startTime = -1;
    boolean dead;
    boolean counted;
    boolean limitSettled;
    /** When its state files were found gone; null while they are present. */
    Instant removedAt;

    Tracked(String sandboxId) {
      this.sandboxId = sandboxId;
    }
  }

  /** What one update collects. */
  private static final class Poll {
    final Instant now;
    final List<Observation> observations = new ArrayList<>();
    final List<String> procProblems = new ArrayList<>();
    final List<String> limitProblems = new ArrayList<>();
    int newSandboxes;

    Poll(Instant now) {
      this.now = now;
    }
  }
}
