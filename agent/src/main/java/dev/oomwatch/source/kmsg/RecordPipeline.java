package dev.oomwatch.source.kmsg;

import static java.nio.charset.StandardCharsets.ISO_8859_1;

import dev.oomwatch.model.KernelOomKill;
import dev.oomwatch.model.Observation;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What {@link KmsgSource} does with each record it reads: parse, count, feed the
 * {@link OomReportAssembler}, hand released kills to the sink, and release a held kill once the log has
 * been quiet for {@code quietBeforeFlush}.
 *
 * <p>Why a timer rather than a timed read: a read of {@code /dev/kmsg} through a {@code FileChannel}
 * cannot time out (Java offers no poll() on it), and a periodic tick would wake the agent ten times a
 * second for nothing. So a one-shot task is scheduled only when a kill becomes held, which is rare;
 * when it fires, the kill is still held only if no record came since (any record releases it), which
 * is exactly "no record for that long". Idle, neither thread wakes.
 *
 * <p>Threading: {@link #accept}, {@link #overrun} and {@link #startOver} are called by the one reader
 * thread; the flush runs on the timer's thread. The assembler and the sink calls are guarded by one
 * lock, so the sink is never called concurrently and gets kills in kernel order. Counters are atomic.
 */
final class RecordPipeline {

  private static final Logger log = LoggerFactory.getLogger(RecordPipeline.class);
  private static final int PREVIEW_CHARS = 200;

  private final OomReportAssembler assembler;
  private final Consumer<Observation> sink;
  private final ScheduledExecutorService flushTimer;
  private final Duration quietBeforeFlush;
  private final Consumer<KmsgRecord> recordObserver;
  private final Object lock = new Object();

  private final AtomicLong recordsRead = new AtomicLong();
  private final AtomicLong malformedRecords = new AtomicLong();
  private final AtomicLong lostRecords = new AtomicLong();
  private final AtomicLong killsEmitted = new AtomicLong();

  // Reader thread only.
  private long lastSequence = -1;
  private boolean overrun;

  RecordPipeline(
      OomReportAssembler assembler,
      Consumer<Observation> sink,
      ScheduledExecutorService flushTimer,
      Duration quietBeforeFlush,
      Consumer<KmsgRecord> recordObserver) {
    this.assembler = assembler;
    this.sink = sink;
    this.flushTimer = flushTimer;
    this.quietBeforeFlush = quietBeforeFlush;
    this.recordObserver = recordObserver;
  }

  /** One read() of the device: a record and its dictionary lines. */
  void accept(byte[] bytes, int offset, int length) {
    recordsRead.incrementAndGet();
    Optional<KmsgRecord> record = KmsgParser.parse(bytes, offset, length);
    if (record.isPresent()) {
      process(record.get());
    } else {
      malformed(new String(bytes, offset, Math.min(length, PREVIEW_CHARS), ISO_8859_1));
    }
  }

  /** One record line of a saved log. */
  void accept(String line) {
    recordsRead.incrementAndGet();
    Optional<KmsgRecord> record = KmsgParser.parse(line);
    if (record.isPresent()) {
      process(record.get());
    } else {
      malformed(line.length() > PREVIEW_CHARS ? line.substring(0, PREVIEW_CHARS) : line);
    }
  }

  /** A read failed with EPIPE: the kernel overwrote records before they were read. */
  void overrun() {
    overrun = true;
  }

  /** Reading starts again from the start of the log: sequence numbers go back. */
  void startOver() {
    lastSequence = -1;
    overrun = false;
  }

  /** Releases a held kill now: the input ended, or reading stops or starts over. */
  void flushHeldKill() {
    synchronized (lock) {
      assembler.flushPending().ifPresent(this::emit);
    }
  }

  KmsgStats stats(long restarts) {
    return new KmsgStats(
        recordsRead.get(),
        malformedRecords.get() + assembler.malformedSummaries(),
        lostRecords.get(),
        killsEmitted.get(),
        restarts);
  }

  private void process(KmsgRecord record) {
    countLost(record.sequence());
    recordObserver.accept(record);
    synchronized (lock) {
      assembler.accept(record).ifPresent(this::emit);
      OptionalLong held = assembler.pendingSequence();
      if (held.isPresent() && held.getAsLong() == record.sequence()) {
        scheduleFlush(record.sequence());
      }
    }
  }

  private void scheduleFlush(long sequence) {
    try {
      flushTimer.schedule(
          () -> flushIfStillHeld(sequence), quietBeforeFlush.toNanos(), TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException closing) {
      // The source is closing; the reader flushes the held kill on its way out.
    }
  }

  private void flushIfStillHeld(long sequence) {
    synchronized (lock) {
      if (assembler.pendingSequence().equals(OptionalLong.of(sequence))) {
        assembler.flushPending().ifPresent(this::emit);
      }
    }
  }

  private void countLost(long sequence) {
    if (overrun) {
      long gap = lastSequence >= 0 ? sequence - lastSequence - 1 : 0;
      lostRecords.addAndGet(Math.max(1, gap));
      overrun = false;
    }
    lastSequence = sequence;
  }

  private void malformed(String preview) {
    malformedRecords.incrementAndGet();
    log.debug("ignoring malformed kmsg record: {}", preview);
  }

  private void emit(KernelOomKill kill) {
    killsEmitted.incrementAndGet();
    log.debug("kernel OOM kill: {}", kill);
    try {
      sink.accept(kill);
    } catch (RuntimeException e) {
      log.error("the kmsg sink failed on {}", kill, e);
    }
  }
}
