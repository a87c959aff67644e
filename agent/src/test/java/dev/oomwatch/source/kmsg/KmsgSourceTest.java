package dev.oomwatch.source.kmsg;

import static dev.oomwatch.source.kmsg.KmsgFixtures.BOOT_ID;
import static dev.oomwatch.source.kmsg.KmsgFixtures.WALL_CLOCK;
import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.model.KernelOomKill;
import dev.oomwatch.model.Observation;
import dev.oomwatch.source.SourceHealth;
import dev.oomwatch.source.SourceHealth.State;
import dev.oomwatch.testing.Await;
import dev.oomwatch.testing.CapturedLog;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link KmsgSource} on saved logs and broken inputs; see {@code KmsgDeviceTest} for /dev/kmsg. */
class KmsgSourceTest {

  private static final String ADVICE = "give the agent CAP_SYSLOG and mount the host's /dev/kmsg into"
      + " its container, or run it with --kmsg=off";

  @TempDir Path dir;
  private final List<Observation> sunk = new CopyOnWriteArrayList<>();
  private KmsgSource source;

  @AfterEach
  void closeSource() {
    if (source != null) {
      source.close();
    }
  }

  /** A source retrying fast, so that tests see several retries quickly. */
  private static KmsgSource fastRetrying(Path input, BootIdReader bootId, Consumer<KmsgRecord> tap) {
    return new KmsgSource(input, bootId, WALL_CLOCK, Duration.ofMillis(5), Duration.ofMillis(20),
        Duration.ofMillis(50), tap);
  }

  private List<KernelOomKill> kills() {
    return sunk.stream().map(KernelOomKill.class::cast).toList();
  }

  private void awaitFileRead() {
    Await.orFail("the reader to finish the file", () -> !source.readerAlive());
  }

  @Test
  void readsASavedLogToItsEndAndStaysLive() {
    source = new KmsgSource(KmsgFixtures.path(KmsgFixtures.CGROUPV2_BOOT), BOOT_ID);
    assertEquals(State.STARTING, source.health().state());
    source.start(sunk::add);
    awaitFileRead();

    assertEquals(State.LIVE, source.health().state());
    assertEquals(new KmsgStats(554, 0, 0, 4, 0), source.stats());
    assertEquals(
        List.of(
            "/kubepods/burstable/podc9611c80-7e7e-4c28-a30f-6ca723600e4a/aaaa1111bbbb2222",
            "/kubepods/podc9611c80-7e7e-4c28-a30f-6ca723600e4a/cccc3333dddd4444",
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podc9611c80_7e7e_4c28_a30f"
                + "_6ca723600e4a.slice/cri-containerd-eeee5555ffff6666.scope",
            "/kubepods/besteffort/podc9611c80-7e7e-4c28-a30f-6ca723600e4a/abab1212cdcd3434"),
        kills().stream().map(KernelOomKill::taskMemcg).toList());
    assertTrue(kills().stream().allMatch(kill -> kill.bootId().equals(BOOT_ID)));
  }

  @Test
  void releasesAHeldKillWhenTheFileEnds() throws IOException {
    List<String> lines = KmsgFixtures.text(KmsgFixtures.SANDBOX_OOM).lines().toList();
    Path withoutKilledProcess = dir.resolve("kmsg.txt");
    Files.write(withoutKilledProcess, lines.subList(0, lines.size() - 1), ISO_8859_1);
    source = new KmsgSource(withoutKilledProcess, BOOT_ID);
    source.start(sunk::add);
    awaitFileRead();

    assertEquals(1, kills().size());
    assertEquals(7932, kills().get(0).pid());
    assertEquals(OptionalLong.of(67108864), kills().get(0).limitBytes());
    assertEquals(OptionalLong.empty(), kills().get(0).anonRssBytes());
  }

  @Test
  void skipsDictionaryLinesAndCountsMalformedOnes() throws IOException {
    Path log = dir.resolve("kmsg.txt");
    Files.writeString(log, String.join("\n",
        "6,1,10,-;pci 0000:00:01.0: [8086:7000] type 00 class 0x060100",
        " SUBSYSTEM=pci",
        " DEVICE=+pci:0000:00:01.0",
        "this is not a record",
        "",
        "6,2,-20,-;negative micros",
        "6,3,30,-;fine"), ISO_8859_1);
    source = new KmsgSource(log, BOOT_ID);
    source.start(sunk::add);
    awaitFileRead();

    assertEquals(new KmsgStats(5, 3, 0, 0, 0), source.stats());
    assertEquals(State.LIVE, source.health().state());
  }

  @Test
  void aMissingDeviceFailsWithOneWarningAndIsRetriedUntilItAppears() throws IOException {
    Path missing = dir.resolve("kmsg");
    try (CapturedLog log = new CapturedLog()) {
      source = fastRetrying(missing, BootIdReader.fixed(BOOT_ID), record -> {});
      source.start(sunk::add);
      Await.orFail("several retries", () -> source.stats().restarts() >= 5);

      String sentence = "cannot read " + missing + ": no such file; " + ADVICE;
      assertEquals(new SourceHealth("kmsg", State.FAILED, sentence), source.health());
      List<String> warnings = log.lines().stream().filter(line -> line.contains("WARN")).toList();
      assertEquals(1, warnings.size(), () -> "expected one WARN, got " + warnings);
      assertTrue(warnings.get(0).endsWith(sentence), warnings.get(0));
    }

    Files.copy(KmsgFixtures.path(KmsgFixtures.SANDBOX_OOM), missing);
    Await.orFail("the source to read the file once it exists", () -> source.stats().oomKillsEmitted() == 1);
    assertEquals(State.LIVE, source.health().state());
  }

  @Test
  void anUnreadableBootIdFailsAndIsRetried() {
    source = fastRetrying(KmsgFixtures.path(KmsgFixtures.SANDBOX_OOM),
        BootIdReader.fromFile(dir.resolve("boot_id")), record -> {});
    source.start(sunk::add);
    Await.orFail("several retries", () -> source.stats().restarts() >= 3);

    assertEquals(State.FAILED, source.health().state());
    assertTrue(source.health().detail().startsWith("cannot read the boot id: no such file;"),
        source.health().detail());
    assertTrue(sunk.isEmpty());
  }

  @Test
  void aFailingReadRestartsReadingWithBackoff() {
    source = fastRetrying(dir, BootIdReader.fixed(BOOT_ID), record -> {});
    source.start(sunk::add);
    Await.orFail("several restarts", () -> source.stats().restarts() >= 3);

    assertEquals(State.FAILED, source.health().state());
    assertTrue(source.health().detail().startsWith("reading " + dir + " failed:"),
        source.health().detail());
  }

  @Test
  void anUnexpectedExceptionRestartsReadingFromTheStart() {
    AtomicBoolean thrown = new AtomicBoolean();
    source = fastRetrying(KmsgFixtures.path(KmsgFixtures.CGROUPV2_BOOT), BootIdReader.fixed(BOOT_ID),
        record -> {
          if (thrown.compareAndSet(false, true)) {
            throw new IllegalStateException("a bug");
          }
        });
    source.start(sunk::add);
    awaitFileRead();

    assertEquals(State.LIVE, source.health().state());
    assertEquals(new KmsgStats(1 + 554, 0, 0, 4, 1), source.stats());
    assertEquals(4, kills().size());
  }

  @Test
  void startsOnceAndClosesIdempotently() {
    source = new KmsgSource(KmsgFixtures.path(KmsgFixtures.SANDBOX_OOM), BOOT_ID);
    assertEquals("kmsg", source.name());
    assertTrue(source.oomCapable());
    source.start(sunk::add);
    assertThrows(IllegalStateException.class, () -> source.start(sunk::add));
    source.close();
    source.close();
    assertFalse(source.readerAlive());

    KmsgSource closedFirst = new KmsgSource(dir.resolve("kmsg"), BOOT_ID);
    closedFirst.close();
    assertThrows(IllegalStateException.class, () -> closedFirst.start(sunk::add));
  }

  @Test
  void closeStopsRetrying() {
    source = new KmsgSource(dir.resolve("kmsg"), BOOT_ID);
    source.start(sunk::add);
    Await.orFail("the first failure", () -> source.health().state() == State.FAILED);
    long start = System.nanoTime();
    source.close();
    assertTrue(System.nanoTime() - start < Duration.ofSeconds(1).toNanos(), "close waited for the backoff");
    assertFalse(source.readerAlive());
  }
}
