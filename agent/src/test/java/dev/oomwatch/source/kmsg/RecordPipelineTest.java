package dev.oomwatch.source.kmsg;

import static dev.oomwatch.source.kmsg.KmsgFixtures.BOOT_ID;
import static dev.oomwatch.source.kmsg.KmsgFixtures.WALL_CLOCK;
import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.oomwatch.model.KernelOomKill;
import dev.oomwatch.model.Observation;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class RecordPipelineTest {

  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
  private final BlockingQueue<Observation> sunk = new LinkedBlockingQueue<>();

  @AfterEach
  void stopTimer() {
    timer.shutdownNow();
  }

  private RecordPipeline pipeline(Duration quiet, Consumer<Observation> sink) {
    return new RecordPipeline(
        new OomReportAssembler(BOOT_ID, WALL_CLOCK), sink, timer, quiet, record -> {});
  }

  /** Feeds one read of the device, as the reader does. */
  private static void feed(RecordPipeline pipeline, String read) {
    byte[] bytes = read.getBytes(ISO_8859_1);
    pipeline.accept(bytes, 0, bytes.length);
  }

  @Test
  void countsRecordsMalformedOnesAndMalformedSummaries() {
    RecordPipeline pipeline = pipeline(Duration.ofSeconds(10), sunk::add);
    pipeline.accept("6,1,10,-;fine");
    pipeline.accept("not a record");
    pipeline.accept("6,2,20,-;oom-kill:constraint=CONSTRAINT_MEMCG,task=exe,pid=x,uid=0");
    feed(pipeline, "6,3,30,-;fine\n SUBSYSTEM=pci\n");
    pipeline.accept(new byte[] {1, 2, 3}, 0, 3);

    assertEquals(new KmsgStats(5, 3, 0, 0, 7), pipeline.stats(7));
  }

  @Test
  void countsRecordsOverwrittenBeforeTheyWereRead() {
    RecordPipeline pipeline = pipeline(Duration.ofSeconds(10), sunk::add);
    pipeline.accept("6,10,100,-;a");
    pipeline.overrun();
    pipeline.accept("6,20,200,-;b");
    assertEquals(9, pipeline.stats(0).lostRecords(), "records 11 to 19");

    pipeline.accept("6,21,210,-;c");
    assertEquals(9, pipeline.stats(0).lostRecords(), "no overrun, no loss");

    pipeline.startOver();
    pipeline.overrun();
    pipeline.accept("6,500,5000,-;d");
    assertEquals(10, pipeline.stats(0).lostRecords(), "an overrun before any record counts one");
  }

  @Test
  void releasesAHeldKillWhenTheLogStaysQuiet() throws InterruptedException {
    RecordPipeline pipeline = pipeline(Duration.ofMillis(50), sunk::add);
    List<String> reads = KmsgFixtures.deviceReads(KmsgFixtures.SANDBOX_OOM);
    for (String read : reads.subList(0, reads.size() - 1)) {
      feed(pipeline, read);
    }
    KernelOomKill kill = (KernelOomKill) sunk.poll(30, TimeUnit.SECONDS);

    assertNotNull(kill, "the held kill was not released");
    assertEquals(7932, kill.pid());
    assertEquals(OptionalLong.empty(), kill.anonRssBytes());
    feed(pipeline, reads.get(reads.size() - 1));
    pipeline.flushHeldKill();
    assertNull(sunk.poll(200, TimeUnit.MILLISECONDS), "released twice");
    assertEquals(1, pipeline.stats(0).oomKillsEmitted());
  }

  @Test
  void theKilledProcessRecordArrivingInTimeReleasesTheKillOnce() throws InterruptedException {
    RecordPipeline pipeline = pipeline(Duration.ofMillis(20), sunk::add);
    for (String read : KmsgFixtures.deviceReads(KmsgFixtures.SANDBOX_OOM)) {
      feed(pipeline, read);
    }
    KernelOomKill kill = (KernelOomKill) sunk.poll(30, TimeUnit.SECONDS);
    assertEquals(OptionalLong.of(5376L * 1024), kill.anonRssBytes());
    assertNull(sunk.poll(200, TimeUnit.MILLISECONDS), "released twice");
  }

  @Test
  void aFailingSinkDoesNotStopThePipeline() {
    RecordPipeline pipeline = pipeline(Duration.ofSeconds(10), kill -> {
      throw new IllegalStateException("sink is broken");
    });
    for (String read : KmsgFixtures.deviceReads(KmsgFixtures.CGROUPV2_BOOT)) {
      feed(pipeline, read);
    }
    pipeline.flushHeldKill();
    assertEquals(4, pipeline.stats(0).oomKillsEmitted());
  }
}
