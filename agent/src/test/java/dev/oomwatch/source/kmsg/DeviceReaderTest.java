package dev.oomwatch.source.kmsg;

import static dev.oomwatch.source.kmsg.KmsgFixtures.BOOT_ID;
import static dev.oomwatch.source.kmsg.KmsgFixtures.WALL_CLOCK;
import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.model.Observation;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Pipe;
import java.nio.channels.ReadableByteChannel;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class DeviceReaderTest {

  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
  private final List<Observation> sunk = new ArrayList<>();
  private final RecordPipeline pipeline = new RecordPipeline(
      new OomReportAssembler(BOOT_ID, WALL_CLOCK), sunk::add, timer, Duration.ofSeconds(10), r -> {});

  @AfterEach
  void stopTimer() {
    timer.shutdownNow();
  }

  private static final Object END_OF_INPUT = new Object();

  /**
   * Plays a script, one step per read(): a record to return, an exception to throw, or
   * {@link #END_OF_INPUT}. After the
   * script it reports the source closing, as {@code KmsgSource.close()} does.
   */
  private static final class ScriptedDevice implements ReadableByteChannel {
    private final Deque<Object> script;
    private boolean open = true;

    ScriptedDevice(Object... steps) {
      script = new ArrayDeque<>(List.of(steps));
    }

    boolean closing() {
      return script.isEmpty();
    }

    @Override
    public int read(ByteBuffer buffer) throws IOException {
      Object step = script.removeFirst();
      if (step instanceof IOException e) {
        throw e;
      }
      if (step == END_OF_INPUT) {
        return -1;
      }
      byte[] record = ((String) step).getBytes(ISO_8859_1);
      buffer.put(record);
      return record.length;
    }

    @Override
    public boolean isOpen() {
      return open;
    }

    @Override
    public void close() {
      open = false;
    }
  }

  @Test
  void aBrokenPipeCountsTheOverwrittenRecordsAndReadingGoesOn() throws IOException {
    ScriptedDevice device = new ScriptedDevice(
        "6,1,10,-;first\n",
        "6,2,20,-;second\n SUBSYSTEM=pci\n",
        new IOException("Broken pipe"),
        "6,10,100,-;after the overrun\n",
        "6,11,110,-;last\n");
    AtomicInteger firstRecords = new AtomicInteger();

    DeviceReader.readUntilClosed(device, pipeline, firstRecords::incrementAndGet, device::closing);

    assertEquals(new KmsgStats(4, 0, 7, 0, 0), pipeline.stats(0), "records 3 to 9 were lost");
    assertEquals(1, firstRecords.get());
  }

  @Test
  void otherReadFailuresAndTheEndOfInputAreErrors() {
    ScriptedDevice failing = new ScriptedDevice("6,1,10,-;first\n", new IOException("Invalid argument"),
        "6,2,20,-;not reached\n");
    IOException e = assertThrows(IOException.class,
        () -> DeviceReader.readUntilClosed(failing, pipeline, () -> {}, failing::closing));
    assertEquals("Invalid argument", e.getMessage());

    ScriptedDevice ending = new ScriptedDevice(END_OF_INPUT, "6,3,30,-;not reached\n");
    assertThrows(EOFException.class,
        () -> DeviceReader.readUntilClosed(ending, pipeline, () -> {}, ending::closing));
  }

  @Test
  void aFailedReadWhileClosingEndsQuietly() throws IOException {
    ScriptedDevice device = new ScriptedDevice("6,1,10,-;first\n", new IOException("closed"));
    DeviceReader.readUntilClosed(device, pipeline, () -> {}, device::closing);
    assertEquals(1, pipeline.stats(0).recordsRead());
  }

  @Test
  void theJdkReportsEpipeAsBrokenPipe() throws IOException {
    Pipe pipe = Pipe.open();
    pipe.source().close();
    try (Pipe.SinkChannel sink = pipe.sink()) {
      IOException epipe = assertThrows(IOException.class, () -> sink.write(ByteBuffer.allocate(1)));
      assertTrue(DeviceReader.isBrokenPipe(epipe), epipe::toString);
    }
    assertFalse(DeviceReader.isBrokenPipe(new IOException("Invalid argument")));
  }
}
