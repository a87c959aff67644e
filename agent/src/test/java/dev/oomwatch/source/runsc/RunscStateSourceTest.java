package dev.oomwatch.source.runsc;

import static dev.oomwatch.source.runsc.RunscFixtures.V1_POD_UID;
import static dev.oomwatch.source.runsc.RunscFixtures.V1_SANDBOX_ID;
import static dev.oomwatch.source.runsc.RunscFixtures.V1_SENTRY_PID;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.model.Observation;
import dev.oomwatch.model.SandboxDied;
import dev.oomwatch.model.SandboxSeen;
import dev.oomwatch.source.SourceHealth.State;
import dev.oomwatch.testing.Await;
import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link RunscStateSource} polling a temp runsc root, with a fake proc filesystem. */
class RunscStateSourceTest {

  private static final long START = 173383;
  private static final String STATE_FILE_NAME =
      new StateFileName(V1_SANDBOX_ID, V1_SANDBOX_ID).fileName();

  @TempDir Path dir;
  private Path root;
  private FakeProc proc;
  private final List<Observation> sunk = new CopyOnWriteArrayList<>();
  private RunscStateSource source;

  @BeforeEach
  void setUp() throws IOException {
    root = Files.createDirectories(dir.resolve("runsc-root"));
    proc = new FakeProc(Files.createDirectories(dir.resolve("proc")));
  }

  @AfterEach
  void closeSource() {
    if (source != null) {
      source.close();
    }
  }

  private RunscStateSource.Builder fast() {
    return RunscStateSource.builder()
        .runscRoot(root)
        .procRoot(proc.root())
        .cgroupRoot(dir.resolve("cgroup"))
        .pollInterval(Duration.ofMillis(10))
        .retryBackoff(Duration.ofMillis(10), Duration.ofMillis(40));
  }

  private void start(RunscStateSource.Builder builder) {
    source = builder.build();
    source.start(sunk::add);
  }

  /** Writes a state file as runsc leaves it, dated in the past so that it counts as settled. */
  private Path writeStateFile(byte[] content) throws IOException {
    Path file = root.resolve(STATE_FILE_NAME);
    Files.write(file, content);
    Files.setLastModifiedTime(file, FileTime.from(Instant.now().minusSeconds(10)));
    return file;
  }

  private <T extends Observation> List<T> sunk(Class<T> type) {
    return sunk.stream().filter(type::isInstance).map(type::cast).toList();
  }

  private void awaitPolls(long more) {
    long target = source.stats().polls() + more;
    Await.orFail(more + " more polls", () -> source.stats().polls() >= target);
  }

  @Test
  void seesTheRealSandboxAndItsSentrysDeathOnce() throws IOException {
    proc.running(V1_SENTRY_PID, START);
    writeStateFile(RunscFixtures.bytes(RunscFixtures.STATE_FILE));
    source = fast().build();
    assertEquals(State.STARTING, source.health().state());
    source.start(sunk::add);

    Await.orFail("the sandbox to be seen", () -> sunk(SandboxSeen.class).size() == 1);
    SandboxSeen seen = sunk(SandboxSeen.class).get(0);
    assertEquals(V1_POD_UID, seen.sandbox().podUid());
    assertEquals(V1_SENTRY_PID, seen.sandbox().sentryPid().getAsLong());
    Await.orFail("health LIVE", () -> source.health().live());
    assertTrue(source.health().detail().contains("1 live sandbox"), source.health().detail());

    proc.gone(V1_SENTRY_PID);
    Await.orFail("the death", () -> sunk(SandboxDied.class).size() == 1);
    awaitPolls(5);

    List<SandboxDied> deaths = sunk(SandboxDied.class);
    assertEquals(1, deaths.size(), deaths.toString());
    assertEquals("sentry pid 8679 exited", deaths.get(0).how());
    assertEquals(seen.sandbox(), deaths.get(0).sandbox());
    RunscStats stats = source.stats();
    assertEquals(1, stats.sandboxesSeen());
    assertEquals(1, stats.deathsSeen());
    assertEquals(1, stats.filesParsed(), "an unchanged, settled file is read once: " + stats);
    assertEquals(0, stats.parseRetries());
  }

  /**
   * Issue 12: in a container with its own pid namespace, /proc does not show the sentries. The source
   * says so and infers no death from a pid it cannot see — the false OOM of a pod at its limit.
   */
  @Test
  void inAProcThatIsNotTheHostsNoDeathIsInferredAndTheSourceSaysWhy() throws IOException {
    proc.asAContainerSeesIt(); // and the sentry's pid is not in it
    writeStateFile(RunscFixtures.bytes(RunscFixtures.STATE_FILE));
    start(fast());

    Await.orFail("the sandbox to be seen", () -> sunk(SandboxSeen.class).size() == 1);
    awaitPolls(5);
    assertFalse(source.hostPids().visible());
    assertTrue(source.hostPids().detail().contains("not visible in " + proc.root()), source.hostPids().detail());
    assertEquals(List.of(), sunk(SandboxDied.class));
    Files.delete(root.resolve(STATE_FILE_NAME));
    awaitPolls(5);
    assertEquals(List.of(), sunk(SandboxDied.class));
  }

  @Test
  void aReusedPidIsADeath() throws IOException {
    proc.running(V1_SENTRY_PID, START);
    writeStateFile(RunscFixtures.bytes(RunscFixtures.STATE_FILE));
    start(fast());
    Await.orFail("the sandbox to be live", () -> source.health().detail().contains("1 live"));

    proc.running(V1_SENTRY_PID, START + 1);

    Await.orFail("the death", () -> sunk(SandboxDied.class).size() == 1);
    assertTrue(sunk(SandboxDied.class).get(0).how().contains("now belongs to another process"));
  }

  @Test
  void aHalfWrittenFileIsReadAgainUntilComplete() throws IOException {
    proc.running(V1_SENTRY_PID, START);
    byte[] full = RunscFixtures.bytes(RunscFixtures.STATE_FILE);
    writeStateFile(Arrays.copyOf(full, full.length / 2));
    start(fast());

    Await.orFail("retries", () -> source.stats().parseRetries() >= 3);
    assertEquals(List.of(), sunk);
    assertTrue(source.health().live(), "a half-written file is no failure: " + source.health());

    writeStateFile(full);
    Await.orFail("the sandbox to be seen", () -> sunk(SandboxSeen.class).size() == 1);
  }

  @Test
  void aFileCaughtMidRewriteKeepsItsPreviousVersion() throws IOException {
    proc.running(V1_SENTRY_PID, START);
    byte[] full = RunscFixtures.bytes(RunscFixtures.STATE_FILE);
    writeStateFile(full);
    start(fast());
    Await.orFail("the sandbox to be live", () -> source.health().detail().contains("1 live"));

    // runsc truncates, then writes: a reader can find the file empty or cut off
    writeStateFile(new byte[0]);
    awaitPolls(3);
    writeStateFile(Arrays.copyOf(full, 100));
    awaitPolls(3);
    writeStateFile(full);
    awaitPolls(3);

    assertEquals(1, sunk.size(), sunk.toString());
    assertTrue(source.stats().parseRetries() >= 2, source.stats().toString());
    assertTrue(source.health().detail().contains("1 live"), source.health().detail());
  }

  @Test
  void aFileRewrittenInPlaceWhileBeingPolledNeverLooksRemovedOrChanged() throws Exception {
    proc.running(V1_SENTRY_PID, START);
    byte[] full = RunscFixtures.bytes(RunscFixtures.STATE_FILE);
    Path file = writeStateFile(full);
    start(fast().pollInterval(Duration.ofMillis(1)));
    Await.orFail("the sandbox to be live", () -> source.health().detail().contains("1 live"));

    // As runsc saves: truncate, then write, here in two pieces with a pause between them.
    long rewrites = 0;
    long deadline = System.nanoTime() + Duration.ofSeconds(2).toNanos();
    while (System.nanoTime() < deadline) {
      try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
        channel.truncate(0);
        channel.write(ByteBuffer.wrap(full, 0, full.length / 3));
        Thread.onSpinWait();
        channel.write(ByteBuffer.wrap(full, full.length / 3, full.length - full.length / 3));
      }
      rewrites++;
    }
    awaitPolls(3);

    RunscStats stats = source.stats();
    assertEquals(1, sunk.size(), "only the first sighting, after " + rewrites + " rewrites and "
        + stats + ": " + sunk);
    assertTrue(stats.filesParsed() > 1, stats.toString());
    assertTrue(source.health().live(), source.health().toString());
  }

  @Test
  void aRemovedFileWithItsSentryGoneIsADeath() throws IOException {
    proc.running(V1_SENTRY_PID, START);
    Path file = writeStateFile(RunscFixtures.bytes(RunscFixtures.STATE_FILE));
    start(fast());
    Await.orFail("the sandbox to be live", () -> source.health().detail().contains("1 live"));

    Files.delete(file);
    awaitPolls(3);
    assertEquals(List.of(), sunk(SandboxDied.class), "the sentry still runs");
    proc.gone(V1_SENTRY_PID);

    Await.orFail("the death", () -> sunk(SandboxDied.class).size() == 1);
    assertEquals("state file removed and sentry pid 8679 gone", sunk(SandboxDied.class).get(0).how());
  }

  @Test
  void aMissingRootIsLiveWithNoSandboxesUntilItAppears() throws IOException {
    Files.delete(root);
    start(fast());

    Await.orFail("health LIVE", () -> source.health().live());
    assertEquals("no sandboxes yet: " + root + " does not exist", source.health().detail());

    Files.createDirectories(root);
    proc.running(V1_SENTRY_PID, START);
    writeStateFile(RunscFixtures.bytes(RunscFixtures.STATE_FILE));
    Await.orFail("the sandbox to be seen", () -> sunk(SandboxSeen.class).size() == 1);
    Await.orFail("health to say it watches", () -> source.health().detail().startsWith("watching"));
  }

  @Test
  void aMissingParentSaysWhatToMount() {
    root = dir.resolve("absent").resolve("k8s.io");
    start(fast());

    Await.orFail("health LIVE", () -> source.health().live());
    assertTrue(source.health().detail().contains("mount the host's " + dir.resolve("absent")),
        source.health().detail());
  }

  @Test
  void aRootThatIsAFileFailsWithAdviceAndRecovers() throws IOException {
    Files.delete(root);
    Files.writeString(root, "not a dir");
    start(fast());

    Await.orFail("health FAILED", () -> source.health().state() == State.FAILED);
    assertTrue(source.health().detail().contains("is not a directory"), source.health().detail());
    assertTrue(source.health().detail().contains("--runsc-root"), source.health().detail());

    Files.delete(root);
    Files.createDirectories(root);
    Await.orFail("health LIVE", () -> source.health().live(), () -> source.health().toString());
  }

  @Test
  void aHugeFileIsRefusedUnread() throws IOException {
    byte[] huge = new byte[RunscStateFileParser.MAX_BYTES + 10];
    Arrays.fill(huge, (byte) '{');
    writeStateFile(huge);
    start(fast());

    Await.orFail("a refusal", () -> source.stats().filesRefused() >= 1);
    Await.orFail("health LIVE", () -> source.health().live(), () -> source.health().toString());
    assertEquals(0, source.stats().filesParsed());
  }

  @Test
  void otherFilesInTheRootAreIgnored() throws IOException {
    Files.writeString(root.resolve(V1_SANDBOX_ID + "_sandbox:" + V1_SANDBOX_ID + ".lock"), "");
    Files.writeString(root.resolve("garbage.state"), "{");
    Files.createDirectories(root.resolve("a_sandbox:b.state"));
    start(fast());

    awaitPolls(3);
    RunscStats stats = source.stats();
    assertEquals(new RunscStats(stats.polls(), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), stats);
  }

  @Test
  void theMetricServerAndThePidSeeOneDeathBetweenThem() throws IOException {
    MetricServerText.Sandbox running = new MetricServerText.Sandbox(V1_SANDBOX_ID, "1", "oom-demo",
        "default", true);
    try (FakeMetricServer server = new FakeMetricServer()) {
      server.serve(MetricServerText.of(List.of(running)));
      proc.running(V1_SENTRY_PID, START);
      writeStateFile(RunscFixtures.bytes(RunscFixtures.STATE_FILE));
      start(fast().metricsUrl(server.url()).metricsInterval(Duration.ofMillis(10)));
      Await.orFail("a scrape", () -> source.stats().metricScrapes() >= 2);
      Await.orFail("health naming the server", () -> source.health().detail().contains("scraping"));

      server.serve(MetricServerText.of(List.of(new MetricServerText.Sandbox(V1_SANDBOX_ID, "1",
          "oom-demo", "default", false))));
      proc.gone(V1_SENTRY_PID);
      Await.orFail("the death", () -> sunk(SandboxDied.class).size() == 1);
      long scrapes = source.stats().metricScrapes();
      Await.orFail("more scrapes", () -> source.stats().metricScrapes() >= scrapes + 3);
      awaitPolls(3);

      assertEquals(1, sunk(SandboxDied.class).size(), sunk.toString());
      assertEquals(V1_POD_UID, sunk(SandboxDied.class).get(0).sandbox().podUid(),
          "whoever saw it first, the ref is the state file's");
      assertEquals(1, source.stats().deathsSeen());
    }
  }

  @Test
  void anUnreachableMetricServerFailsHealthButNotTheStatePoller() throws IOException {
    URI nowhere;
    try (FakeMetricServer server = new FakeMetricServer()) {
      nowhere = server.url();
    }
    proc.running(V1_SENTRY_PID, START);
    writeStateFile(RunscFixtures.bytes(RunscFixtures.STATE_FILE));
    start(fast().metricsUrl(nowhere).metricsInterval(Duration.ofMillis(10)));

    Await.orFail("health FAILED", () -> source.health().state() == State.FAILED);
    assertTrue(source.health().detail().contains("cannot connect to the runsc metric server at "
        + nowhere), source.health().detail());
    proc.gone(V1_SENTRY_PID);
    Await.orFail("the death", () -> sunk(SandboxDied.class).size() == 1);
    assertTrue(source.stats().metricScrapeFailures() >= 1);
  }

  @Test
  void aFailingSinkDoesNotStopTheSource() throws IOException {
    proc.running(V1_SENTRY_PID, START);
    writeStateFile(RunscFixtures.bytes(RunscFixtures.STATE_FILE));
    AtomicInteger calls = new AtomicInteger();
    source = fast().build();
    source.start(observation -> {
      calls.incrementAndGet();
      throw new IllegalStateException("sink broke");
    });
    Await.orFail("the sighting", () -> calls.get() == 1);

    proc.gone(V1_SENTRY_PID);
    Await.orFail("the death", () -> calls.get() == 2);
    assertEquals(1, source.stats().deathsSeen());
  }

  @Test
  void nothingIsSunkAfterClose() throws IOException {
    proc.running(V1_SENTRY_PID, START);
    writeStateFile(RunscFixtures.bytes(RunscFixtures.STATE_FILE));
    start(fast());
    Await.orFail("the sighting", () -> sunk.size() == 1);

    source.close();
    proc.gone(V1_SENTRY_PID);
    long polls = source.stats().polls();
    assertEquals(polls, source.stats().polls(), "no poll after close");
    assertEquals(1, sunk.size());
    source.close();
    assertThrows(IllegalStateException.class, () -> source.start(sunk::add));
  }

  @Test
  void startsOnce() {
    start(fast());
    assertThrows(IllegalStateException.class, () -> source.start(sunk::add));
  }

  @Test
  void isNamedRunscAndCannotTellOoms() {
    source = fast().build();
    assertEquals("runsc", source.name());
    assertFalse(source.oomCapable());
  }

  @Test
  void rejectsBadOptions() {
    assertThrows(IllegalArgumentException.class,
        () -> RunscStateSource.builder().pollInterval(Duration.ZERO).build());
    assertThrows(IllegalArgumentException.class,
        () -> RunscStateSource.builder().timeout(Duration.ofSeconds(-1)).build());
    assertThrows(IllegalArgumentException.class,
        () -> RunscStateSource.builder().metricsUrl(URI.create("unix:///run/m.sock")).build());
    assertThrows(IllegalArgumentException.class,
        () -> RunscStateSource.builder().metricsUrl(URI.create("/metrics")).build());
    RunscStateSource.builder().metricsUrl(URI.create("http://127.0.0.1:1337/metrics")).build();
  }
}
