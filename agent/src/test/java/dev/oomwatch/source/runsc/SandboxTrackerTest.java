package dev.oomwatch.source.runsc;

import static dev.oomwatch.source.runsc.RunscFixtures.V1_CGROUP;
import static dev.oomwatch.source.runsc.RunscFixtures.V1_GOFER_PID;
import static dev.oomwatch.source.runsc.RunscFixtures.V1_POD_UID;
import static dev.oomwatch.source.runsc.RunscFixtures.V1_SANDBOX_ID;
import static dev.oomwatch.source.runsc.RunscFixtures.V1_SENTRY_PID;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.model.Observation;
import dev.oomwatch.model.SandboxDied;
import dev.oomwatch.model.SandboxRef;
import dev.oomwatch.model.SandboxSeen;
import dev.oomwatch.model.SandboxUnlimited;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link SandboxTracker} on hand-made state files and a fake proc filesystem. */
class SandboxTrackerTest {

  private static final Instant T0 = Instant.parse("2026-11-28T12:45:10Z");
  private static final long START = 173383;

  @TempDir Path dir;
  private FakeProc proc;
  private Path cgroupRoot;
  private final DeathLedger ledger = new DeathLedger();
  private final Map<String, OptionalLong> declaredLimits = new HashMap<>();
  private SandboxTracker tracker;
  private Instant now = T0;

  @BeforeEach
  void setUp() throws IOException {
    proc = new FakeProc(Files.createDirectories(dir.resolve("proc")));
    cgroupRoot = Files.createDirectories(dir.resolve("cgroup"));
    tracker = new SandboxTracker(new ProcessProbe(proc.root()), new MemoryLimitProbe(cgroupRoot),
        uid -> Optional.of("/kubepods/burstable/pod" + uid),
        uid -> declaredLimits.getOrDefault(uid, OptionalLong.empty()), ledger, true);
  }

  /** The real state file's sandbox, with another pid and status. */
  private static RunscStateFile sandbox(String id, String uid, long pid, String status) {
    return new RunscStateFile(id, id, RunscStateFile.Kind.SANDBOX, Optional.empty(), Optional.of(id),
        Optional.of(uid), Optional.of("oom-demo"), Optional.of("default"), status,
        pid > 0 ? OptionalLong.of(pid) : OptionalLong.empty(), OptionalLong.of(V1_GOFER_PID),
        Optional.of(V1_CGROUP));
  }

  private static RunscStateFile realSandbox() {
    return sandbox(V1_SANDBOX_ID, V1_POD_UID, V1_SENTRY_PID, "running");
  }

  private static RunscStateFile app(String id, String sandboxId, String name, long sentryPid) {
    return new RunscStateFile(id, sandboxId, RunscStateFile.Kind.CONTAINER, Optional.of(name),
        Optional.of(sandboxId), Optional.of(V1_POD_UID), Optional.of("oom-demo"),
        Optional.of("default"), "running", OptionalLong.of(sentryPid), OptionalLong.of(4242),
        Optional.of(V1_CGROUP));
  }

  private static SandboxRef ref(long pid) {
    return new SandboxRef(V1_SANDBOX_ID, V1_POD_UID, "default", "oom-demo", OptionalLong.of(pid),
        OptionalLong.of(V1_GOFER_PID), Optional.of(V1_CGROUP));
  }

  private List<Observation> poll(RunscStateFile... files) {
    now = now.plusSeconds(1);
    return tracker.update(now, List.of(files)).observations();
  }

  @Test
  void aNewSandboxIsSeenOnceWithItsPodAndPids() {
    proc.running(V1_SENTRY_PID, START);

    assertEquals(List.of(new SandboxSeen(ref(V1_SENTRY_PID), now.plusSeconds(1))),
        poll(realSandbox()));
    assertEquals(List.of(), poll(realSandbox()));
    assertEquals(1, tracker.snapshot().live().size());
    assertEquals(ref(V1_SENTRY_PID), tracker.snapshot().known().get(V1_SANDBOX_ID));
  }

  @Test
  void theRealStateFileGivesTheSandboxRef() {
    RunscStateFileParser.Parsed parsed = (RunscStateFileParser.Parsed) RunscStateFileParser.parse(
        new StateFileName(V1_SANDBOX_ID, V1_SANDBOX_ID), RunscFixtures.bytes(RunscFixtures.STATE_FILE));
    assertEquals(Optional.of(ref(V1_SENTRY_PID)),
        SandboxTracker.ref(V1_SANDBOX_ID, List.of(parsed.file())));
  }

  @Test
  void aSentryThatExitsIsADeathReportedOnce() {
    proc.running(V1_SENTRY_PID, START);
    poll(realSandbox());
    proc.gone(V1_SENTRY_PID);

    assertEquals(List.of(new SandboxDied(ref(V1_SENTRY_PID), now.plusSeconds(1),
        "sentry pid 8679 exited")), poll(realSandbox()));
    assertEquals(List.of(), poll(realSandbox()));
    assertEquals(List.of(), tracker.snapshot().live());
  }

  @Test
  void aZombieSentryHasExited() {
    proc.running(V1_SENTRY_PID, START);
    poll(realSandbox());
    proc.zombie(V1_SENTRY_PID, START);

    assertEquals(List.of(new SandboxDied(ref(V1_SENTRY_PID), now.plusSeconds(1),
        "sentry pid 8679 exited")), poll(realSandbox()));
  }

  @Test
  void aReusedPidIsTheSentrysDeath() {
    proc.running(V1_SENTRY_PID, START);
    poll(realSandbox());
    proc.running(V1_SENTRY_PID, START + 5000);

    List<Observation> observations = poll(realSandbox());

    assertEquals(List.of(new SandboxDied(ref(V1_SENTRY_PID), now, "sentry pid 8679 exited (pid 8679"
        + " now belongs to another process)")), observations);
    assertEquals(List.of(), poll(realSandbox()));
  }

  @Test
  void anUnreadableProcEntryDecidesNothing() {
    proc.running(V1_SENTRY_PID, START);
    poll(realSandbox());
    proc.stat(V1_SENTRY_PID, "garbage");

    now = now.plusSeconds(1);
    SandboxTracker.Update update = tracker.update(now, List.of(realSandbox()));
    assertEquals(List.of(), update.observations());
    assertEquals(1, update.procProblems().size(), update.toString());

    proc.running(V1_SENTRY_PID, START);
    assertEquals(List.of(), poll(realSandbox()));
  }

  /**
   * The agent started after the sentry died, or looks in a /proc that is not the host's: nobody knows
   * when it ended, and a death paired with a pod at its limit would be a false OOM (issue 12).
   */
  @Test
  void aSentryNotFoundWhenFirstSeenIsUnknownNeverADeath() {
    List<Observation> first = poll(realSandbox());
    assertEquals(List.of(new SandboxSeen(ref(V1_SENTRY_PID), now)), first);
    assertEquals(List.of(), poll(realSandbox()));
    assertEquals(List.of(), tracker.snapshot().live());
    assertEquals(List.of(), poll()); // its files go: still no death
  }

  @Test
  void withoutTheHostsPidsNoPidIsLookedUpAndNothingDiesOrIsUnlimited() throws IOException {
    SandboxTracker blind = new SandboxTracker(new ProcessProbe(proc.root()), new MemoryLimitProbe(cgroupRoot),
        uid -> Optional.of("/kubepods/burstable/pod" + uid), uid -> OptionalLong.of(64L << 20), ledger, false);
    proc.cgroup(V1_SENTRY_PID, "5:memory:/unlimited\n"); // would be MemoryLimitNotEnforced if it were read

    assertEquals(List.of(new SandboxSeen(ref(V1_SENTRY_PID), now)),
        blind.update(now, List.of(realSandbox())).observations());
    assertEquals(1, blind.snapshot().live().size(), "live while its state files are there");
    assertEquals(List.of(), blind.update(now.plusSeconds(1), List.of(realSandbox())).observations());
    assertEquals(List.of(), blind.update(now.plusSeconds(2), List.of()).observations());
    assertEquals(List.of(), blind.snapshot().live());
  }

  @Test
  void removedFilesWithTheSentryGoneAreADeath() {
    proc.running(V1_SENTRY_PID, START);
    poll(realSandbox());
    proc.gone(V1_SENTRY_PID);

    assertEquals(List.of(new SandboxDied(ref(V1_SENTRY_PID), now.plusSeconds(1),
        "state file removed and sentry pid 8679 gone")), poll());
    assertEquals(Map.of(), tracker.snapshot().known());
    assertEquals(List.of(), poll());
  }

  @Test
  void removedFilesWhileTheSentryRunsAreWatchedUntilItDies() {
    proc.running(V1_SENTRY_PID, START);
    poll(realSandbox());

    assertEquals(List.of(), poll());
    assertEquals(List.of(), tracker.snapshot().live(), "a removed sandbox is not live");
    proc.zombie(V1_SENTRY_PID, START);
    assertEquals(List.of(new SandboxDied(ref(V1_SENTRY_PID), now.plusSeconds(1),
        "state file removed and sentry pid 8679 gone")), poll());
  }

  @Test
  void removedFilesWhileTheSentryKeepsRunningAreForgottenAfterAWhile() {
    proc.running(V1_SENTRY_PID, START);
    poll(realSandbox());
    poll();
    now = now.plus(SandboxTracker.REMOVED_WATCH);

    assertEquals(List.of(), poll());
    assertEquals(Map.of(), tracker.snapshot().known());
    proc.gone(V1_SENTRY_PID);
    assertEquals(List.of(), poll());
  }

  @Test
  void aFileBackBeforeTheWatchEndsIsTheSameSandbox() {
    proc.running(V1_SENTRY_PID, START);
    poll(realSandbox());
    poll();
    assertEquals(List.of(), poll(realSandbox()));
    assertEquals(1, tracker.snapshot().live().size());
  }

  @Test
  void changedPidsOrCgroupAreSeenAgain() {
    proc.running(V1_SENTRY_PID, START);
    poll(realSandbox());
    RunscStateFile moved = new RunscStateFile(V1_SANDBOX_ID, V1_SANDBOX_ID,
        RunscStateFile.Kind.SANDBOX, Optional.empty(), Optional.empty(), Optional.of(V1_POD_UID),
        Optional.of("oom-demo"), Optional.of("default"), "running", OptionalLong.of(V1_SENTRY_PID),
        OptionalLong.of(1234), Optional.of("/elsewhere"));

    List<Observation> observations = poll(moved);

    assertEquals(1, observations.size(), observations.toString());
    SandboxSeen seen = (SandboxSeen) observations.get(0);
    assertEquals(OptionalLong.of(1234), seen.sandbox().goferPid());
    assertEquals(Optional.of("/elsewhere"), seen.sandbox().cgroupPath());
  }

  @Test
  void aStoppedStateKeepsThePidThatRanAndIsNoNewSighting() {
    proc.running(V1_SENTRY_PID, START);
    poll(realSandbox());
    RunscStateFile stopped = sandbox(V1_SANDBOX_ID, V1_POD_UID, -1, "stopped");

    assertEquals(List.of(), poll(stopped), "the sentry still runs: no death, no new sighting");
    proc.gone(V1_SENTRY_PID);
    assertEquals(List.of(new SandboxDied(ref(V1_SENTRY_PID), now.plusSeconds(1),
        "sentry pid 8679 exited")), poll(stopped));
  }

  @Test
  void aSandboxFirstSeenStoppedWithoutAPidIsUnknownNeverADeath() {
    List<Observation> observations = poll(sandbox(V1_SANDBOX_ID, V1_POD_UID, -1, "stopped"));

    SandboxRef noPid = new SandboxRef(V1_SANDBOX_ID, V1_POD_UID, "default", "oom-demo",
        OptionalLong.empty(), OptionalLong.of(V1_GOFER_PID), Optional.of(V1_CGROUP));
    assertEquals(List.of(new SandboxSeen(noPid, now)), observations);
    assertEquals(List.of(), poll(sandbox(V1_SANDBOX_ID, V1_POD_UID, -1, "stopped")));
  }

  @Test
  void aSandboxStartingWithoutAPidIsSeenAgainWithIt() {
    RunscStateFile creating = sandbox(V1_SANDBOX_ID, V1_POD_UID, -1, "creating");
    assertEquals(1, poll(creating).size());
    proc.running(V1_SENTRY_PID, START);

    assertEquals(List.of(new SandboxSeen(ref(V1_SENTRY_PID), now.plusSeconds(1))),
        poll(realSandbox()));
  }

  @Test
  void aNewSentryUnderTheSameIdIsANewIncarnation() {
    proc.running(V1_SENTRY_PID, START);
    poll(realSandbox());
    proc.gone(V1_SENTRY_PID);
    assertEquals(1, poll(realSandbox()).size());
    proc.running(9000, START + 100);
    RunscStateFile again = sandbox(V1_SANDBOX_ID, V1_POD_UID, 9000, "running");

    assertEquals(List.of(new SandboxSeen(ref(9000), now.plusSeconds(1))), poll(again));
    proc.gone(9000);
    assertEquals(List.of(new SandboxDied(ref(9000), now.plusSeconds(1), "sentry pid 9000 exited")),
        poll(again));
  }

  @Test
  void aSentryReplacedBetweenPollsReportsTheOldOnesDeath() {
    proc.running(V1_SENTRY_PID, START);
    poll(realSandbox());
    proc.gone(V1_SENTRY_PID).running(9000, START + 100);

    List<Observation> observations = poll(sandbox(V1_SANDBOX_ID, V1_POD_UID, 9000, "running"));

    assertEquals(List.of(new SandboxDied(ref(V1_SENTRY_PID), now, "sentry pid 8679 exited"),
        new SandboxSeen(ref(9000), now)), observations);
  }

  @Test
  void aDeathTheMetricServerReportedFirstIsNotReportedAgain() {
    proc.running(V1_SENTRY_PID, START);
    poll(realSandbox());
    assertTrue(ledger.claim(V1_SANDBOX_ID, now));
    proc.gone(V1_SENTRY_PID);

    assertEquals(List.of(), poll(realSandbox()));
    assertEquals(List.of(), tracker.snapshot().live());
  }

  @Test
  void containersWithoutPodAnnotationsAreSkipped() {
    RunscStateFile plain = new RunscStateFile("docker1", "docker1", RunscStateFile.Kind.SANDBOX,
        Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
        "running", OptionalLong.of(77), OptionalLong.empty(), Optional.empty());
    assertEquals(List.of(), poll(plain));
    assertEquals(Map.of(), tracker.snapshot().known());
  }

  @Test
  void aMultiContainerPodIsOneSandbox() {
    proc.running(V1_SENTRY_PID, START);
    RunscStateFile web = app("web1", V1_SANDBOX_ID, "web", V1_SENTRY_PID);
    RunscStateFile sidecar = app("side1", V1_SANDBOX_ID, "sidecar", V1_SENTRY_PID);

    // the app containers' files come first alphabetically; the sandbox's gofer is still the one
    assertEquals(List.of(new SandboxSeen(ref(V1_SENTRY_PID), now.plusSeconds(1))),
        poll(web, realSandbox(), sidecar));
    assertEquals(List.of(), poll(web, realSandbox()), "an app container gone is no news");
    SandboxTracker.LiveSandbox live = tracker.snapshot().live().get(0);
    assertEquals(List.of(realSandbox(), web), live.containers());
  }

  @Test
  void appContainersAloneStillNameTheSandbox() {
    proc.running(V1_SENTRY_PID, START);
    List<Observation> observations = poll(app("web1", V1_SANDBOX_ID, "web", V1_SENTRY_PID));
    SandboxRef ref = ((SandboxSeen) observations.get(0)).sandbox();
    assertEquals(OptionalLong.of(V1_SENTRY_PID), ref.sentryPid());
    assertEquals(OptionalLong.empty(), ref.goferPid(), "an app container's gofer is its own");
  }

  private void layOutV1(String cgroup, String limit) throws IOException {
    Path hierarchy = cgroupRoot.resolve("memory");
    String current = cgroup;
    while (!current.isEmpty()) {
      Path level = Files.createDirectories(hierarchy.resolve(current.substring(1)));
      if (!Files.exists(level.resolve("memory.limit_in_bytes"))) {
        Files.writeString(level.resolve("memory.limit_in_bytes"), "9223372036854771712\n");
      }
      current = current.substring(0, current.lastIndexOf('/'));
    }
    if (limit != null) {
      Files.writeString(hierarchy.resolve(cgroup.substring(1)).resolve("memory.limit_in_bytes"),
          limit + "\n");
    }
  }

  private List<Observation> unlimitedOnes(List<Observation> observations) {
    List<Observation> found = new ArrayList<>();
    for (Observation observation : observations) {
      if (observation instanceof SandboxUnlimited) {
        found.add(observation);
      }
    }
    return found;
  }

  @Test
  void aSandboxOutsideItsLimitedPodCgroupIsUnlimited() throws IOException {
    String outside = "/system.slice/runsc-" + V1_SANDBOX_ID + ".scope";
    layOutV1(outside, null);
    proc.running(V1_SENTRY_PID, START).cgroup(V1_SENTRY_PID,
        MemoryCgroupTest.HYBRID_SENTRY.replace("/probe-parent/probe1", outside));
    declaredLimits.put(V1_POD_UID, OptionalLong.of(64L << 20));

    List<Observation> first = poll(realSandbox());

    assertEquals(List.of(new SandboxUnlimited(ref(V1_SENTRY_PID), outside,
        "/kubepods/burstable/pod" + V1_POD_UID)), unlimitedOnes(first));
    assertEquals(List.of(), poll(realSandbox()), "once per sandbox");
  }

  @Test
  void aSandboxUnderALimitedPodCgroupIsFine() throws IOException {
    layOutV1(V1_CGROUP.substring(0, V1_CGROUP.lastIndexOf('/')), "67108864");
    layOutV1(V1_CGROUP, null);
    proc.running(V1_SENTRY_PID, START).cgroup(V1_SENTRY_PID, "4:memory:" + V1_CGROUP + "\n0::/\n");
    declaredLimits.put(V1_POD_UID, OptionalLong.of(64L << 20));

    assertEquals(List.of(), unlimitedOnes(poll(realSandbox())));
    assertEquals(List.of(), poll(realSandbox()));
  }

  @Test
  void theLimitIsCheckedOnlyOnceThePodDeclaresOne() throws IOException {
    String outside = "/unlimited";
    layOutV1(outside, null);
    proc.running(V1_SENTRY_PID, START).cgroup(V1_SENTRY_PID, "4:memory:/unlimited\n");

    assertEquals(List.of(), unlimitedOnes(poll(realSandbox())));
    assertEquals(List.of(), poll(realSandbox()));
    declaredLimits.put(V1_POD_UID, OptionalLong.of(64L << 20));
    assertEquals(1, unlimitedOnes(poll(realSandbox())).size());
  }

  @Test
  void inACgroupNamespaceOfItsOwnTheAgentFallsBackOnRunscsRecordedPath() throws IOException {
    // cgroup v2 with the systemd driver, the agent in a private cgroup namespace: the kernel shows
    // the sentry's cgroup relative to the agent's; runsc recorded the absolute one.
    String scope = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
        + V1_POD_UID.replace('-', '_') + ".slice/cri-containerd-" + V1_SANDBOX_ID + ".scope";
    for (String level = scope; !level.isEmpty(); level = level.substring(0, level.lastIndexOf('/'))) {
      Path dir = Files.createDirectories(cgroupRoot.resolve(level.substring(1)));
      Files.writeString(dir.resolve("memory.max"), "max\n");
    }
    proc.running(V1_SENTRY_PID, START).cgroup(V1_SENTRY_PID, "0::/../.." + scope + "\n");
    declaredLimits.put(V1_POD_UID, OptionalLong.of(64L << 20));
    RunscStateFile systemd = new RunscStateFile(V1_SANDBOX_ID, V1_SANDBOX_ID,
        RunscStateFile.Kind.SANDBOX, Optional.empty(), Optional.empty(), Optional.of(V1_POD_UID),
        Optional.of("oom-demo"), Optional.of("default"), "running", OptionalLong.of(V1_SENTRY_PID),
        OptionalLong.empty(), Optional.of(scope));

    List<Observation> found = unlimitedOnes(poll(systemd));

    assertEquals(1, found.size(), found.toString());
    assertEquals(scope, ((SandboxUnlimited) found.get(0)).actualCgroup());
  }

  @Test
  void aLimitThatCannotBeReadIsAProblemNotAFinding() {
    proc.running(V1_SENTRY_PID, START).cgroup(V1_SENTRY_PID, "4:memory:/nowhere\n");
    declaredLimits.put(V1_POD_UID, OptionalLong.of(64L << 20));

    now = now.plusSeconds(1);
    SandboxTracker.Update update = tracker.update(now, List.of(realSandbox()));

    assertEquals(List.of(), unlimitedOnes(update.observations()));
    assertEquals(1, update.limitProblems().size(), update.toString());
  }

  @Test
  void theLedgerForgetsOldDeaths() {
    assertTrue(ledger.claim("a", T0));
    assertTrue(!ledger.claim("a", T0.plusSeconds(1)));
    assertTrue(ledger.claim("b", T0.plus(DeathLedger.RETENTION).plus(Duration.ofSeconds(1))));
    assertEquals(1, ledger.size());
  }
}
