package dev.oomwatch.inference;

import dev.oomwatch.model.ByteSizes;
import dev.oomwatch.model.CgroupOomSignal;
import dev.oomwatch.model.CgroupPolled;
import dev.oomwatch.model.ContainerExit;
import dev.oomwatch.model.ContainerMemorySample;
import dev.oomwatch.model.Evidence;
import dev.oomwatch.model.GvisorPods;
import dev.oomwatch.model.IncidentIds;
import dev.oomwatch.model.KernelOomKill;
import dev.oomwatch.model.MemorySample;
import dev.oomwatch.model.MemoryScope;
import dev.oomwatch.model.Observation;
import dev.oomwatch.model.OomIncident;
import dev.oomwatch.model.PodCgroupLocator;
import dev.oomwatch.model.PodSandboxChanged;
import dev.oomwatch.model.SandboxDied;
import dev.oomwatch.model.SandboxRef;
import dev.oomwatch.model.SandboxSeen;
import dev.oomwatch.model.SandboxUnlimited;
import dev.oomwatch.model.Verdict;
import dev.oomwatch.model.WatchedPod;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Folds every signal about gVisor pods into incidents with a verdict, and into the NearOOM and
 * MemoryLimitNotEnforced warnings. One kill ⇒ one incident, however many signals saw it: signals about
 * one pod within {@link FusionSettings#sameKillWindow} join the incident already open for it, and its
 * verdict is the strongest they support:
 *
 * <ul>
 *   <li>{@code Confirmed}: the kernel logged the kill, or a cgroup {@code oom_kill} counter rose, or
 *       kubelet wrote reason {@code OOMKilled} for a container of the pod (newer runsc shims on cgroup
 *       v2 report it themselves). Kubelet's statement names no sandbox, so an incident it opens is held
 *       back for {@link FusionSettings#likelyWindow} (agent clock): a kernel, cgroup or runsc signal of
 *       the same kill that arrives within it, in whichever order, gives the incident the sandbox's name
 *       ({@link IncidentIds#forSandbox}), the name those signals give alone — so one kill is one incident
 *       also when an agent restart re-sees both. An incident's name is fixed once it is first reported;
 *       its verdict never drops below what kubelet said;
 *   <li>{@code Likely}: the sandbox died (its sentry exited) within {@link FusionSettings#likelyWindow}
 *       of its pod cgroup hitting the limit (v1 {@code failcnt} with the peak at the limit; v2
 *       {@code max}/{@code oom}), and a cgroup poll that started after the death counted no kill. The
 *       sentry's death comes from another source than the counters, often between two polls; deciding
 *       before the next poll would call Likely a kill that the pod's {@code oom_kill} is about to confirm
 *       (v2), so such a pair waits for that poll ({@link CgroupPolled}), or for the window when no poll
 *       comes;
 *   <li>{@code Possible}: only exit codes point to it — a container ended 128/137/143 with reason
 *       {@code Error}/{@code Unknown}, or the sandbox died, while the pod's last sample was near its
 *       limit and nothing stronger came within the window.
 * </ul>
 *
 * A sandbox death with nothing else (an ordinary {@code kill -9}, a probe kill, a deletion, an
 * eviction) gives nothing, and a pod that is not a gVisor pod on this node gives nothing. A pod being
 * deleted or evicted ({@link WatchedPod#beingStopped}) gets no {@code Likely} or {@code Possible}
 * incident, even when its sandbox died at its limit: kubelet stopped it. Since kubelet may write the
 * eviction just after the sandbox is gone, a death or exit waits {@link FusionSettings#stopWait} before
 * it is called either; a {@code Confirmed} kill is reported at once, deletion or not.
 *
 * <p>State: the open incidents and recent signals per pod, and what is known of each sandbox (its
 * pids, its containers' memory), bounded by the windows: {@link #tick} drops signals older than their
 * window, a pod's state once the pod is gone and nothing waits, and a sandbox's once it died (or its
 * pod is gone) and {@link FusionSettings#sameKillWindow} has passed. Time comes only from the injected
 * clock, so the same observations at the same times give the same findings. Not thread-safe: the
 * detector calls it from one thread.
 */
public final class IncidentFusion {
  private static final Logger LOG = LoggerFactory.getLogger(IncidentFusion.class);
  private static final int GVISOR_SANDBOX_UID = 65534;
  private static final Set<String> SANDBOX_DEATH_REASONS = Set.of("Error", "Unknown", "Completed", "");

  private final String nodeName;
  private final Clock clock;
  private final PodCgroupLocator locator;
  private final FusionSettings settings;
  private final Map<String, PodState> pods = new HashMap<>();
  private final Map<String, SandboxState> sandboxes = new HashMap<>();
  /** When the latest complete cgroup poll started; null before the first. */
  private Instant lastPollStarted;

  public IncidentFusion(String nodeName, Clock clock, PodCgroupLocator locator, FusionSettings settings) {
    this.nodeName = nodeName;
    this.clock = clock;
    this.locator = locator;
    this.settings = settings;
  }

  /** A new fusion with this one's node, clock and settings, and nothing remembered (for a dry run). */
  public IncidentFusion blank() {
    return new IncidentFusion(nodeName, clock, locator, settings);
  }

  /** Everything remembered about one pod: open incidents, recent weak signals, NearOOM tracking. */
  private static final class PodState {
    final List<Open> open = new ArrayList<>();
    final List<CgroupOomSignal> limitHits = new ArrayList<>();
    final List<SandboxDied> deaths = new ArrayList<>();
    final List<ContainerExit> exits = new ArrayList<>();
    /** Deaths at the limit that wait (for a cgroup poll after them, for the stop wait) to be called Likely. */
    final List<LimitDeath> awaiting = new ArrayList<>();
    /** Exits near the limit that wait for the stop wait to be called Possible. */
    final List<PendingExit> pendingExits = new ArrayList<>();
    MemorySample lastSample;
    Instant aboveSince;
    Instant lastNearOomWarning;

    boolean waits() {
      return !open.isEmpty() || !deaths.isEmpty() || !awaiting.isEmpty() || !pendingExits.isEmpty();
    }

    int entries() {
      return 1 + open.size() + limitHits.size() + deaths.size() + exits.size() + awaiting.size() + pendingExits.size();
    }
  }

  /**
   * A sandbox death and the limit hit that makes it a Likely OOM; {@code polled} once a cgroup poll that
   * started after the death was delivered (had it counted a kill, the incident would be Confirmed).
   */
  private static final class LimitDeath {
    final SandboxDied died;
    final CgroupOomSignal hit;
    boolean polled;

    LimitDeath(SandboxDied died, CgroupOomSignal hit) {
      this.died = died;
      this.hit = hit;
    }
  }

  /** An exit near the limit, as noticed (agent clock) by the fusion. */
  private record PendingExit(ContainerExit exit, Evidence evidence, Instant noticedAt) {}

  /**
   * What is known of one sandbox: its ref (pids, for a kernel kill whose cgroup does not name the
   * sandbox), its containers' latest memory, whether its missing limit was reported. Times are the
   * agent's clock when the fusion heard of it.
   */
  private static final class SandboxState {
    SandboxRef ref;
    Instant lastHeard;
    Instant diedAt;
    boolean unlimitedReported;
    final Map<String, ContainerMemorySample> containers = new HashMap<>();
  }

  /** An incident being built: its identity, its strongest verdict so far, its evidence. */
  private static final class Open {
    String id;
    Optional<String> sandboxId;
    Verdict verdict;
    /** Empty until a signal names the killed process. */
    Optional<String> victim = Optional.empty();
    /** Null until a signal names whose memory ran out. */
    MemoryScope memcg;
    OptionalLong limit = OptionalLong.empty();
    Instant killedAt;
    Instant detectedAt;
    Instant lastSignal;
    /** Set while an incident only kubelet's OOMKilled opened waits for a signal naming its sandbox. */
    Instant heldUntil;
    /** Whether it was reported: its name is fixed from then on. */
    boolean reported;
    /** When (agent clock) a signal last joined it: old signals re-seen after a restart join it for a window too. */
    Instant lastHeard;
    final List<Evidence> evidence = new ArrayList<>();
    final Set<String> sources = new HashSet<>();
  }

  /** Takes one observation; returns what to report now. */
  public List<Finding> accept(Observation observation, GvisorPods gvisorPods) {
    List<Finding> findings = new ArrayList<>();
    observation.accept(new Taking(gvisorPods, findings));
    return findings;
  }

  /** What each kind of observation does to the open incidents (one per kind: none is ignored unnoticed). */
  private final class Taking implements Observation.Visitor<Void> {
    private final GvisorPods gvisorPods;
    private final List<Finding> findings;

    Taking(GvisorPods gvisorPods, List<Finding> findings) {
      this.gvisorPods = gvisorPods;
      this.findings = findings;
    }

    @Override
    public Void visit(KernelOomKill kill) {
      onKernelKill(kill, gvisorPods, findings);
      return null;
    }

    @Override
    public Void visit(CgroupOomSignal signal) {
      onCgroupSignal(signal, gvisorPods, findings);
      return null;
    }

    @Override
    public Void visit(CgroupPolled polled) {
      onCgroupPolled(polled, gvisorPods, findings);
      return null;
    }

    @Override
    public Void visit(SandboxSeen seen) {
      SandboxState sandbox = sandbox(seen.sandbox().sandboxId());
      sandbox.ref = seen.sandbox();
      sandbox.diedAt = null; // a sandbox restarted under the same id lives again
      return null;
    }

    @Override
    public Void visit(SandboxDied died) {
      onSandboxDied(died, gvisorPods, findings);
      return null;
    }

    @Override
    public Void visit(SandboxUnlimited unlimited) {
      onUnlimited(unlimited, gvisorPods, findings);
      return null;
    }

    @Override
    public Void visit(ContainerExit exit) {
      onContainerExit(exit, gvisorPods, findings);
      return null;
    }

    @Override
    public Void visit(ContainerMemorySample sample) {
      onContainerMemory(sample);
      return null;
    }

    @Override
    public Void visit(MemorySample sample) {
      onMemorySample(sample, gvisorPods, findings);
      return null;
    }

    @Override
    public Void visit(PodSandboxChanged changed) {
      gvisorPods.byUid(changed.pod().uid()).ifPresent(pod -> joinOpen(pod, new Evidence("pods",
          "kubelet: SandboxChanged (the pod sandbox died and is re-created)", changed.at()), changed.at(), findings));
      return null;
    }
  }

  /** Time-based decisions (deaths that found no cause, exits that stayed alone) and forgetting. */
  public List<Finding> tick(GvisorPods gvisorPods) {
    Instant now = clock.instant();
    List<Finding> findings = new ArrayList<>();
    for (Iterator<Map.Entry<String, PodState>> it = pods.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<String, PodState> entry = it.next();
      PodState state = entry.getValue();
      Optional<WatchedPod> pod = gvisorPods.byUid(entry.getKey());
      for (Iterator<SandboxDied> deaths = state.deaths.iterator(); deaths.hasNext(); ) {
        SandboxDied died = deaths.next();
        if (olderThan(died.noticedAt(), settings.likelyWindow(), now)) {
          deaths.remove();
          if (pod.isPresent() && nearLimit(state, died.noticedAt()) && notStopped(pod.get(), died.how())) {
            findings.add(possible(pod.get(), state, Optional.of(died.sandbox().sandboxId()),
                new Evidence("runsc", died.how() + "; no exit status, memory near the limit", died.noticedAt()),
                died.noticedAt()));
          }
        }
      }
      decideWaiting(state, pod, now, findings);
      for (Open open : state.open) {
        if (!open.reported && open.heldUntil != null && !now.isBefore(open.heldUntil) && pod.isPresent()) {
          findings.add(found(pod.get(), open)); // nothing named the sandbox: reported under kubelet's name
        }
      }
      for (Iterator<PendingExit> pending = state.pendingExits.iterator(); pending.hasNext(); ) {
        PendingExit exit = pending.next();
        if (!now.isBefore(exit.noticedAt().plus(settings.stopWait()))) {
          pending.remove();
          if (pod.isPresent() && notStopped(pod.get(), exit.evidence().detail())) {
            findings.add(possible(pod.get(), state, Optional.empty(), exit.evidence(), exit.exit().finishedAt()));
          }
        }
      }
      for (Iterator<ContainerExit> exits = state.exits.iterator(); exits.hasNext(); ) {
        ContainerExit exit = exits.next();
        if (olderThan(exit.finishedAt(), settings.sameKillWindow(), now)) {
          exits.remove();
        }
      }
      state.limitHits.removeIf(hit -> olderThan(hit.snapshot().sampledAt(), settings.sameKillWindow(), now));
      state.open.removeIf(open -> (open.reported || open.heldUntil == null)
          && olderThan(open.lastSignal, settings.sameKillWindow(), now)
          && olderThan(open.lastHeard, settings.sameKillWindow(), now));
      if (pod.isEmpty() && !state.waits()) {
        it.remove();
      }
    }
    forgetSandboxes(gvisorPods, now);
    return findings;
  }

  /**
   * Forgets a sandbox once it died, or its pod left this node, more than the same-kill window ago: a
   * kill of it (named by its pid) or its culprit can no longer join an incident after that.
   */
  private void forgetSandboxes(GvisorPods gvisorPods, Instant now) {
    sandboxes.values().removeIf(sandbox -> sandbox.diedAt != null
        ? olderThan(sandbox.diedAt, settings.sameKillWindow(), now)
        : olderThan(sandbox.lastHeard, settings.sameKillWindow(), now)
            && (sandbox.ref == null || gvisorPods.byUid(sandbox.ref.podUid()).isEmpty()));
  }

  /** How many entries the fusion holds (pods, signals, sandboxes, container samples): for tests of its bounds. */
  int trackedEntries() {
    int entries = 0;
    for (PodState state : pods.values()) {
      entries += state.entries();
    }
    for (SandboxState sandbox : sandboxes.values()) {
      entries += 1 + sandbox.containers.size();
    }
    return entries;
  }

  // --- the signals ---------------------------------------------------------------------------------

  private void onKernelKill(KernelOomKill kill, GvisorPods gvisorPods, List<Finding> findings) {
    Optional<WatchedPod> pod = locator.podUid(kill.taskMemcg()).flatMap(gvisorPods::byUid);
    if (pod.isEmpty()) {
      return;
    }
    Optional<String> sandboxId = locator.sandboxId(kill.taskMemcg()).or(() -> sandboxOfPid(kill.pid()));
    Evidence evidence = new Evidence("kmsg", describe(kill), kill.killedAt());
    Open open = openFor(pod.get(), sandboxId, kill.killedAt(),
        () -> sandboxId.map(id -> IncidentIds.forSandbox(pod.get().ref(), id))
            .orElseGet(() -> IncidentIds.forKill(kill.bootId(), pod.get().ref(), kill.pid())));
    open.verdict = Verdict.CONFIRMED;
    open.victim = Optional.of(victim(kill));
    open.memcg = nodeWide(kill) ? MemoryScope.NODE : MemoryScope.cgroup(kill.oomMemcg().orElseThrow());
    open.killedAt = kill.killedAt();
    if (kill.limitBytes().isPresent()) {
      open.limit = kill.limitBytes();
    }
    add(open, evidence);
    findings.add(found(pod.get(), open));
  }

  private void onCgroupSignal(CgroupOomSignal signal, GvisorPods gvisorPods, List<Finding> findings) {
    Optional<WatchedPod> pod = gvisorPods.byUid(signal.podUid());
    if (pod.isEmpty()) {
      return;
    }
    Instant at = signal.snapshot().sampledAt();
    Evidence evidence = new Evidence("cgroup", describe(signal), at);
    PodState state = state(pod.get());
    if (signal.kind() == CgroupOomSignal.Kind.OOM_KILL) {
      Open open = openFor(pod.get(), signal.sandboxId(), at, () -> signal.sandboxId()
          .map(id -> IncidentIds.forSandbox(pod.get().ref(), id))
          .orElseGet(() -> IncidentIds.forKill("cgroup:" + signal.snapshot().cgroupPath(), pod.get().ref(),
              signal.after())));
      open.verdict = Verdict.CONFIRMED;
      if (open.memcg == null) {
        open.memcg = MemoryScope.cgroup(signal.snapshot().cgroupPath());
      }
      if (open.limit.isEmpty()) {
        open.limit = signal.snapshot().limitBytes();
      }
      add(open, evidence);
      findings.add(found(pod.get(), open));
      return;
    }
    // LIMIT_HIT: evidence for an open incident, or the cause of a death seen just before or after
    Optional<Open> open = recentOpen(state, at);
    if (open.isPresent()) {
      add(open.get(), evidence);
      if (open.get().limit.isEmpty()) {
        open.get().limit = signal.snapshot().limitBytes();
      }
      if (!open.get().reported && open.get().sandboxId.isEmpty()) {
        open.get().sandboxId = signal.sandboxId();
      }
      if (open.get().sandboxId.isPresent()) {
        findings.add(found(pod.get(), open.get()));
      } else {
        reportUnlessHeld(pod.get(), open.get(), findings); // the death that names the sandbox may follow
      }
      return;
    }
    state.limitHits.add(signal);
    for (Iterator<SandboxDied> deaths = state.deaths.iterator(); deaths.hasNext(); ) {
      SandboxDied died = deaths.next();
      if (within(died.noticedAt(), at, settings.likelyWindow())) {
        deaths.remove();
        // A poll that started after the death delivered its kill counters before this hit
        await(pod.get(), state, new LimitDeath(died, signal), at, findings);
        return;
      }
    }
  }

  private void onSandboxDied(SandboxDied died, GvisorPods gvisorPods, List<Finding> findings) {
    SandboxState sandbox = sandbox(died.sandbox().sandboxId());
    if (sandbox.ref == null) {
      sandbox.ref = died.sandbox();
    }
    if (sandbox.diedAt == null) {
      sandbox.diedAt = clock.instant();
    }
    Optional<WatchedPod> pod = gvisorPods.byUid(died.sandbox().podUid());
    if (pod.isEmpty()) {
      return;
    }
    PodState state = state(pod.get());
    Evidence evidence = new Evidence("runsc", died.how() + " (sandbox " + died.sandbox().sandboxId() + ")",
        died.noticedAt());
    Optional<Open> open = state.open.stream()
        .filter(o -> o.sandboxId.map(died.sandbox().sandboxId()::equals).orElse(false)
            || within(o.lastSignal, died.noticedAt(), settings.sameKillWindow()))
        .findFirst();
    if (open.isPresent()) {
      if (!open.get().reported && open.get().sandboxId.isEmpty()) {
        open.get().sandboxId = Optional.of(died.sandbox().sandboxId());
      }
      add(open.get(), evidence);
      findings.add(found(pod.get(), open.get()));
      return;
    }
    for (CgroupOomSignal hit : state.limitHits) {
      if (within(hit.snapshot().sampledAt(), died.noticedAt(), settings.likelyWindow())) {
        state.limitHits.remove(hit);
        await(pod.get(), state, new LimitDeath(died, hit), lastPollStarted, findings);
        return;
      }
    }
    // no cause yet: a limit hit may come with the next cgroup poll; tick() lets it go otherwise
    state.deaths.add(died);
  }

  private void onContainerExit(ContainerExit exit, GvisorPods gvisorPods, List<Finding> findings) {
    Optional<WatchedPod> pod = gvisorPods.byUid(exit.pod().uid());
    if (pod.isPresent() && exit.oomKilled()) {
      onOomKilled(pod.get(), exit, findings);
      return;
    }
    if (pod.isEmpty() || !looksLikeSandboxDeath(exit)) {
      return;
    }
    Evidence evidence = new Evidence("pods", "kubelet: container " + exit.container() + " terminated with exit code "
        + exit.exitCode() + (exit.reason().isEmpty() ? "" : " (" + exit.reason() + ")"), exit.finishedAt());
    PodState state = state(pod.get());
    Optional<Open> open = recentOpen(state, exit.finishedAt());
    if (open.isPresent()) {
      add(open.get(), evidence);
      reportUnlessHeld(pod.get(), open.get(), findings);
      return;
    }
    if (exit.exitCode() != 0 && nearLimit(state, exit.finishedAt()) && state.exits.stream()
        .noneMatch(e -> within(e.finishedAt(), exit.finishedAt(), settings.sameKillWindow()))) {
      // kubelet may say "Evicted" just after: tick() decides once the stop wait has passed
      state.pendingExits.add(new PendingExit(exit, evidence, clock.instant()));
    }
    state.exits.add(exit);
  }

  /**
   * Kubelet says the runtime saw the container OOM-killed: Confirmed. It joins the incident open for the
   * pod (raising its verdict), or opens one that is held back until a signal naming the sandbox joins it
   * or {@link FusionSettings#likelyWindow} passes (see the class comment). Deletion or eviction does not
   * matter: the runtime counted the kill.
   */
  private void onOomKilled(WatchedPod pod, ContainerExit exit, List<Finding> findings) {
    PodState state = state(pod);
    state.exits.add(exit);
    Optional<Open> existing = recentOpen(state, exit.finishedAt());
    Open open = existing.orElseGet(() -> {
      Open held = openFor(pod, Optional.empty(), exit.finishedAt(),
          () -> IncidentIds.forKill("kubelet-oomkilled", pod.ref(), exit.finishedAt().toEpochMilli()));
      held.heldUntil = clock.instant().plus(settings.likelyWindow());
      return held;
    });
    open.verdict = Verdict.CONFIRMED;
    add(open, exitEvidence(exit));
    reportUnlessHeld(pod, open, findings);
  }

  /** Reports the incident now, unless it is held back waiting for its sandbox's name. */
  private void reportUnlessHeld(WatchedPod pod, Open open, List<Finding> findings) {
    if (open.reported || open.heldUntil == null) {
      findings.add(found(pod, open));
    }
  }

  private void onMemorySample(MemorySample sample, GvisorPods gvisorPods, List<Finding> findings) {
    Optional<WatchedPod> pod = gvisorPods.byUid(sample.podUid());
    if (pod.isEmpty() || sample.snapshot().limitBytes().isEmpty()) {
      return;
    }
    PodState state = state(pod.get());
    state.lastSample = sample;
    long limit = sample.snapshot().limitBytes().getAsLong();
    Instant at = sample.snapshot().sampledAt();
    if (sample.snapshot().usageBytes() < settings.nearOomShare() * limit) {
      state.aboveSince = null;
      return;
    }
    if (state.aboveSince == null) {
      state.aboveSince = at;
    }
    boolean longEnough = !Duration.between(state.aboveSince, at).minus(settings.nearOomFor()).isNegative();
    boolean quietEnough = state.lastNearOomWarning == null
        || !Duration.between(state.lastNearOomWarning, at).minus(settings.nearOomRepeat()).isNegative();
    if (longEnough && quietEnough) {
      state.lastNearOomWarning = at;
      findings.add(new Finding.NearOom(pod.get(), sample.snapshot().usageBytes(), limit, state.aboveSince));
    }
  }

  /**
   * A death at the limit waits to be called Likely: until a cgroup poll that started after it
   * ({@code polledAt}) has been delivered — had that poll seen a kill counter rise, the incident would be
   * Confirmed already and the pair only adds its evidence to it — and until the stop wait has passed.
   */
  private void await(WatchedPod pod, PodState state, LimitDeath pair, Instant polledAt, List<Finding> findings) {
    pair.polled = polledAt != null && polledAt.isAfter(pair.died.noticedAt());
    state.awaiting.add(pair);
    decideWaiting(state, Optional.of(pod), clock.instant(), findings);
  }

  private void onCgroupPolled(CgroupPolled polled, GvisorPods gvisorPods, List<Finding> findings) {
    lastPollStarted = max(lastPollStarted, polled.startedAt());
    Instant now = clock.instant();
    for (Map.Entry<String, PodState> entry : pods.entrySet()) {
      PodState state = entry.getValue();
      if (state.awaiting.isEmpty()) {
        continue;
      }
      state.awaiting.forEach(pair -> pair.polled |= polled.startedAt().isAfter(pair.died.noticedAt()));
      decideWaiting(state, gvisorPods.byUid(entry.getKey()), now, findings);
    }
  }

  /**
   * Calls the waiting pairs Likely once they are ready: polled (or no poll came within the Likely
   * window: the cgroup source stalls or stopped, decide without it) and past the stop wait. A pair
   * whose pod is gone, or is being deleted or evicted, is let go.
   */
  private void decideWaiting(PodState state, Optional<WatchedPod> pod, Instant now, List<Finding> findings) {
    for (Iterator<LimitDeath> waiting = state.awaiting.iterator(); waiting.hasNext(); ) {
      LimitDeath pair = waiting.next();
      Instant died = pair.died.noticedAt();
      boolean polled = pair.polled || olderThan(died, settings.likelyWindow(), now);
      if (polled && !now.isBefore(died.plus(settings.stopWait()))) {
        waiting.remove();
        if (pod.isPresent() && notStopped(pod.get(), pair.died.how() + " at the memory limit")) {
          findings.add(likely(pod.get(), state, pair.died, pair.hit));
        }
      }
    }
  }

  /** False, with a DEBUG line, when the pod is being deleted or evicted: a death or exit then is no OOM. */
  private static boolean notStopped(WatchedPod pod, String what) {
    if (!pod.beingStopped()) {
      return true;
    }
    LOG.debug("pod {}/{}: {}, but the pod is {}: not an OOM kill", pod.ref().namespace(), pod.ref().name(), what,
        pod.evicted() ? "evicted" : "being deleted");
    return false;
  }

  private void onContainerMemory(ContainerMemorySample sample) {
    SandboxState sandbox = sandbox(sample.sandboxId());
    sandbox.containers.put(sample.containerId(), sample);
    // a container not sampled for a window while its sandbox is (a restarted container has a new id) is gone
    sandbox.containers.values().removeIf(c -> olderThan(c.sampledAt(), settings.sameKillWindow(), sample.sampledAt()));
  }

  private void onUnlimited(SandboxUnlimited unlimited, GvisorPods gvisorPods, List<Finding> findings) {
    Optional<WatchedPod> pod = gvisorPods.byUid(unlimited.sandbox().podUid());
    if (pod.isEmpty() || pod.get().memoryLimitBytes().isEmpty()) {
      return;
    }
    SandboxState sandbox = sandbox(unlimited.sandbox().sandboxId());
    if (sandbox.ref == null) {
      sandbox.ref = unlimited.sandbox();
    }
    if (!sandbox.unlimitedReported) {
      sandbox.unlimitedReported = true;
      findings.add(new Finding.LimitNotEnforced(pod.get(), unlimited, clock.instant()));
    }
  }

  // --- building incidents --------------------------------------------------------------------------

  private Open openFor(WatchedPod pod, Optional<String> sandboxId, Instant at, java.util.function.Supplier<String> newId) {
    PodState state = state(pod);
    Optional<Open> existing = state.open.stream()
        .filter(o -> sandboxId.isPresent() && o.sandboxId.equals(sandboxId))
        .findFirst()
        .or(() -> state.open.stream()
            .filter(o -> (o.sandboxId.isEmpty() || sandboxId.isEmpty()) && within(o.lastSignal, at,
                settings.sameKillWindow()))
            .findFirst());
    if (existing.isPresent()) {
      Open open = existing.get();
      if (open.sandboxId.isEmpty()) {
        open.sandboxId = sandboxId;
      }
      open.lastSignal = max(open.lastSignal, at);
      open.lastHeard = clock.instant();
      return open;
    }
    Open open = new Open();
    open.id = newId.get();
    open.sandboxId = sandboxId;
    open.killedAt = at;
    open.detectedAt = clock.instant();
    open.lastSignal = at;
    open.lastHeard = clock.instant();
    open.limit = pod.memoryLimitBytes();
    state.open.add(open);
    return open;
  }

  private Finding likely(WatchedPod pod, PodState state, SandboxDied died, CgroupOomSignal hit) {
    Open open = openFor(pod, Optional.of(died.sandbox().sandboxId()), died.noticedAt(),
        () -> IncidentIds.forSandbox(pod.ref(), died.sandbox().sandboxId()));
    if (open.verdict == null || open.verdict.compareTo(Verdict.LIKELY) > 0) {
      open.verdict = Verdict.LIKELY;
    }
    open.memcg = open.memcg == null ? MemoryScope.cgroup(hit.snapshot().cgroupPath()) : open.memcg;
    if (hit.snapshot().limitBytes().isPresent()) {
      open.limit = hit.snapshot().limitBytes();
    }
    died.sandbox().sentryPid().ifPresent(pid -> open.victim = Optional.of("exe (pid " + pid + ", gVisor sentry)"));
    add(open, new Evidence("cgroup", describe(hit), hit.snapshot().sampledAt()));
    add(open, new Evidence("runsc", died.how() + " (sandbox " + died.sandbox().sandboxId() + ")", died.noticedAt()));
    state.exits.stream().filter(e -> within(e.finishedAt(), died.noticedAt(), settings.sameKillWindow()))
        .forEach(e -> add(open, exitEvidence(e)));
    return found(pod, open);
  }

  private Finding possible(WatchedPod pod, PodState state, Optional<String> sandboxId, Evidence evidence, Instant at) {
    Open open = openFor(pod, sandboxId, at, () -> sandboxId.map(id -> IncidentIds.forSandbox(pod.ref(), id))
        .orElseGet(() -> IncidentIds.forKill("exit", pod.ref(), at.toEpochMilli())));
    if (open.verdict == null) {
      open.verdict = Verdict.POSSIBLE;
    }
    open.memcg = open.memcg == null && state.lastSample != null
        ? MemoryScope.cgroup(state.lastSample.snapshot().cgroupPath()) : open.memcg;
    add(open, evidence);
    if (state.lastSample != null) {
      add(open, new Evidence("cgroup", "memory at " + percent(state.lastSample) + " of the limit at the last poll",
          state.lastSample.snapshot().sampledAt()));
    }
    return found(pod, open);
  }

  private Finding found(WatchedPod pod, Open open) {
    if (!open.reported && open.heldUntil != null && open.sandboxId.isPresent()) {
      // opened by kubelet's OOMKilled, joined by a signal naming the sandbox before it was reported: the
      // name that signal gives alone (and gives again when an agent restart re-reads it)
      open.id = IncidentIds.forSandbox(pod.ref(), open.sandboxId.get());
    }
    open.reported = true;
    Culprit culprit = culprit(pod, open.sandboxId);
    return new Finding.IncidentFound(new OomIncident(open.id, pod.ref(), nodeName, open.sandboxId, open.verdict,
        open.victim, open.memcg == null ? MemoryScope.UNKNOWN : open.memcg, open.limit, open.killedAt, open.detectedAt,
        culprit.name, culprit.confidence, open.evidence));
  }

  private record Culprit(String name, OptionalDouble confidence) {}

  /** The container with the most memory at the last sample; {@code pod} when nothing is known. */
  private Culprit culprit(WatchedPod pod, Optional<String> sandboxId) {
    Map<String, ContainerMemorySample> samples = sandboxId.map(sandboxes::get).map(s -> s.containers).orElse(null);
    if (samples == null || samples.isEmpty()) {
      return new Culprit(OomIncident.WHOLE_POD, OptionalDouble.empty());
    }
    long total = samples.values().stream().mapToLong(ContainerMemorySample::usageBytes).sum();
    ContainerMemorySample top = samples.values().stream()
        .max(java.util.Comparator.comparingLong(ContainerMemorySample::usageBytes)).orElseThrow();
    if (total <= 0) {
      return new Culprit(OomIncident.WHOLE_POD, OptionalDouble.empty());
    }
    return new Culprit(top.containerName(), OptionalDouble.of((double) top.usageBytes() / total));
  }

  private void joinOpen(WatchedPod pod, Evidence evidence, Instant at, List<Finding> findings) {
    recentOpen(state(pod), at).ifPresent(open -> {
      add(open, evidence);
      reportUnlessHeld(pod, open, findings);
    });
  }

  private Optional<Open> recentOpen(PodState state, Instant at) {
    return state.open.stream().filter(o -> within(o.lastSignal, at, settings.sameKillWindow())).findFirst();
  }

  private void add(Open open, Evidence evidence) {
    boolean repeat = open.evidence.stream().anyMatch(e -> e.source().equals(evidence.source())
        && e.detail().equals(evidence.detail()));
    if (!repeat) {
      open.evidence.add(evidence);
      open.sources.add(evidence.source());
    }
    open.lastSignal = max(open.lastSignal, evidence.observedAt());
    open.lastHeard = clock.instant();
  }

  // --- small judgements ----------------------------------------------------------------------------

  private PodState state(WatchedPod pod) {
    return pods.computeIfAbsent(pod.ref().uid(), k -> new PodState());
  }

  /** What is known of a sandbox, created on first word of it; every word of it refreshes it. */
  private SandboxState sandbox(String sandboxId) {
    SandboxState sandbox = sandboxes.computeIfAbsent(sandboxId, k -> new SandboxState());
    sandbox.lastHeard = clock.instant();
    return sandbox;
  }

  private Optional<String> sandboxOfPid(long pid) {
    return sandboxes.values().stream()
        .map(s -> s.ref)
        .filter(s -> s != null && (s.sentryPid().orElse(-1) == pid || s.goferPid().orElse(-1) == pid))
        .map(SandboxRef::sandboxId)
        .findFirst();
  }

  private boolean nearLimit(PodState state, Instant at) {
    MemorySample sample = state.lastSample;
    return sample != null && sample.snapshot().limitBytes().isPresent()
        && within(sample.snapshot().sampledAt(), at, settings.sameKillWindow())
        && sample.snapshot().usageBytes() >= settings.nearOomShare() * sample.snapshot().limitBytes().getAsLong();
  }

  private static boolean looksLikeSandboxDeath(ContainerExit exit) {
    return switch (exit.exitCode()) {
      case 0, 128, 137, 143 -> SANDBOX_DEATH_REASONS.contains(exit.reason());
      default -> false;
    };
  }

  private static Evidence exitEvidence(ContainerExit exit) {
    return new Evidence("pods", "kubelet: container " + exit.container() + " terminated with exit code "
        + exit.exitCode() + (exit.reason().isEmpty() ? "" : " (" + exit.reason() + ")"), exit.finishedAt());
  }

  private static boolean within(Instant a, Instant b, Duration window) {
    return Duration.between(a, b).abs().compareTo(window) <= 0;
  }

  private static boolean olderThan(Instant then, Duration window, Instant now) {
    return Duration.between(then, now).compareTo(window) > 0;
  }

  private static Instant max(Instant a, Instant b) {
    return a == null || b.isAfter(a) ? b : a;
  }

  private static String percent(MemorySample sample) {
    long limit = sample.snapshot().limitBytes().orElse(1);
    return Math.round(100.0 * sample.snapshot().usageBytes() / limit) + "%";
  }

  /**
   * A kill that no cgroup's limit caused: the kernel logs {@code global_oom} instead of an
   * {@code oom_memcg} (or, in a cgroup namespace, the root {@code /}), and a constraint other than
   * {@code CONSTRAINT_MEMCG} (the node, or its cpuset or memory policy, ran out).
   */
  static boolean nodeWide(KernelOomKill kill) {
    return kill.oomMemcg().map(memcg -> memcg.isEmpty() || memcg.equals("/")).orElse(true)
        || !"CONSTRAINT_MEMCG".equals(kill.constraint());
  }

  static String victim(KernelOomKill kill) {
    String role = kill.uid() == GVISOR_SANDBOX_UID && "exe".equals(kill.task()) ? ", gVisor sandbox" : "";
    return kill.task() + " (pid " + kill.pid() + ", uid " + kill.uid() + role + ")";
  }

  private static String describe(KernelOomKill kill) {
    StringBuilder text = new StringBuilder("kernel OOM kill (kmsg #").append(kill.sequence()).append("): ");
    text.append("constraint=").append(kill.constraint());
    kill.oomMemcg().ifPresent(m -> text.append(" oom_memcg=").append(m));
    text.append(" task_memcg=").append(kill.taskMemcg());
    text.append(" task=").append(kill.task()).append(" pid=").append(kill.pid()).append(" uid=").append(kill.uid());
    kill.limitBytes().ifPresent(l -> text.append(" limit=").append(ByteSizes.quantity(l)));
    kill.anonRssBytes().ifPresent(r -> text.append(" anon-rss=").append(ByteSizes.quantity(r)));
    return text.toString();
  }

  private static String describe(CgroupOomSignal signal) {
    var s = signal.snapshot();
    StringBuilder text = new StringBuilder("cgroup v").append(s.version()).append(' ').append(s.cgroupPath())
        .append(": ").append(signal.counter()).append(' ').append(signal.before()).append(" → ").append(signal.after());
    s.limitBytes().ifPresent(l -> text.append(", limit ").append(ByteSizes.quantity(l)));
    s.peakBytes().ifPresent(p -> text.append(", peak ").append(ByteSizes.quantity(p)));
    return text.toString();
  }
}
