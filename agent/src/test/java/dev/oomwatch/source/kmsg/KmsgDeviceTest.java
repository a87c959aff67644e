package dev.oomwatch.source.kmsg;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.oomwatch.model.KernelOomKill;
import dev.oomwatch.model.Observation;
import dev.oomwatch.source.SourceHealth.State;
import dev.oomwatch.testing.Await;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@link KmsgSource} on this machine's real {@code /dev/kmsg}: it needs read access (CAP_SYSLOG) and,
 * to write its markers, write access (root). Without them it is skipped, except under {@code CI=true},
 * where it fails: CI must run it.
 */
@Tag("sandbox")
class KmsgDeviceTest {

  private static final Duration PROMPT_CLOSE = Duration.ofSeconds(2);

  private final Map<String, KmsgRecord> seen = new ConcurrentHashMap<>();
  private final List<Observation> sunk = new CopyOnWriteArrayList<>();
  private KmsgSource source;

  @BeforeAll
  static void requireTheDevice() {
    try (FileChannel read = FileChannel.open(KmsgSource.HOST_DEVICE, StandardOpenOption.READ);
        FileChannel write = FileChannel.open(KmsgSource.HOST_DEVICE, StandardOpenOption.WRITE)) {
      assertTrue(read.isOpen() && write.isOpen());
    } catch (IOException | SecurityException e) {
      String why = "cannot read and write " + KmsgSource.HOST_DEVICE + " (" + e + "); these tests need"
          + " root, or CAP_SYSLOG and write access to the device";
      if ("true".equals(System.getenv("CI"))) {
        fail(why + ". CI=true: the real-device tests must run, not be skipped.");
      }
      Assumptions.abort(why);
    }
  }

  @AfterEach
  void closeSource() {
    if (source != null) {
      source.close();
    }
  }

  /** Starts a source on the real device that remembers every record whose text starts "oomwatch-". */
  private void startOnTheDevice() {
    source = new KmsgSource(KmsgSource.HOST_DEVICE, BootIdReader.fromFile(KmsgSource.HOST_BOOT_ID_FILE),
        new KernelTimestamps(), KmsgSource.FIRST_RETRY, KmsgSource.LONGEST_RETRY,
        KmsgSource.QUIET_BEFORE_FLUSH, record -> {
          if (record.text().startsWith("oomwatch-")) {
            seen.put(record.text(), record);
          }
        });
    source.start(sunk::add);
  }

  private static String marker(String what) {
    return "oomwatch-" + what + "-" + UUID.randomUUID();
  }

  /**
   * Writes one line into the kernel log, as {@code echo line > /dev/kmsg} does. {@code <15>} in front
   * asks for facility user, level debug: the kernel does not print it on the console.
   */
  private static void write(String line) throws IOException {
    try (FileOutputStream device = new FileOutputStream(KmsgSource.HOST_DEVICE.toFile())) {
      device.write((line + "\n").getBytes(US_ASCII));
    }
  }

  private KmsgRecord awaitRecord(String text) {
    Await.orFail("the record '" + text + "' to be read", () -> seen.containsKey(text));
    return seen.get(text);
  }

  @Test
  void readsANewRecordAndCloseUnblocksTheRead() throws IOException {
    startOnTheDevice();
    String marker = marker("device-test");
    write("<15>" + marker);

    KmsgRecord record = awaitRecord(marker);

    assertEquals(State.LIVE, source.health().state());
    KmsgStats stats = source.stats();
    assertTrue(stats.recordsRead() > 1, "read from the start of the ring buffer: " + stats);
    assertEquals(0, stats.malformedRecords(), stats::toString);
    assertEquals(0, stats.restarts(), stats::toString);
    String bootId = Files.readString(KmsgSource.HOST_BOOT_ID_FILE).trim();
    for (Observation observation : sunk) {
      assertEquals(bootId, ((KernelOomKill) observation).bootId());
    }
    assertFalse(record.fromKernel());

    Await.orFail("the reader to block in read()", this::readerBlockedInRead);
    long start = System.nanoTime();
    source.close();
    Duration closing = Duration.ofNanos(System.nanoTime() - start);
    assertFalse(source.readerAlive(), "the reader still runs after close()");
    assertTrue(closing.compareTo(PROMPT_CLOSE) < 0, "close() took " + closing);
  }

  private boolean readerBlockedInRead() {
    return Thread.getAllStackTraces().entrySet().stream()
        .filter(entry -> entry.getKey().getName().equals("kmsg-reader"))
        .anyMatch(entry -> entry.getValue().length > 0
            && entry.getValue()[0].getMethodName().startsWith("read"));
  }

  @Test
  void userspaceCannotWriteRecordsThatPassForTheKernels() throws IOException {
    startOnTheDevice();
    String asKernel = marker("forge-test");
    write("<7>" + asKernel);      // facility 0 (kernel), level 7: the kernel makes it facility 1
    String asDaemon = marker("forge-test");
    write("<31>" + asDaemon);     // facility 3 (daemon), level 7

    assertEquals(1, awaitRecord(asKernel).facility());
    assertEquals(7, awaitRecord(asKernel).priority());
    assertFalse(awaitRecord(asKernel).fromKernel());
    assertEquals(3, awaitRecord(asDaemon).facility());
    assertEquals(7, awaitRecord(asDaemon).priority());
  }

  /**
   * The finding {@link KernelTimestamps} relies on: kmsg timestamps are on the JVM's
   * {@code System.nanoTime()} clock. Prints the measured offsets.
   */
  @Test
  void kmsgTimestampsRunOnTheJvmMonotonicClock() throws IOException {
    startOnTheDevice();
    String marker = marker("clock-test");
    Instant wallBefore = Instant.now();
    long before = System.nanoTime();
    write("<15>" + marker);
    long after = System.nanoTime();

    long stampNanos = awaitRecord(marker).monotonicMicros() * 1000;
    Instant converted = new KernelTimestamps().apply(stampNanos / 1000);

    System.out.printf("kmsg stamp - nanoTime before write: %+.3f ms; nanoTime after - stamp: %+.3f ms;"
            + " converted - wall clock before write: %+.3f ms%n",
        (stampNanos - before) / 1e6, (after - stampNanos) / 1e6,
        Duration.between(wallBefore, converted).toNanos() / 1e6);
    long tolerance = Duration.ofSeconds(1).toNanos();
    assertTrue(stampNanos > before - tolerance && stampNanos < after + tolerance,
        "kmsg stamp " + stampNanos + " ns is not near nanoTime " + before + ".." + after);
    assertTrue(Duration.between(wallBefore, converted).abs().toNanos() < tolerance,
        "converted " + converted + ", wall clock " + wallBefore);
  }
}
