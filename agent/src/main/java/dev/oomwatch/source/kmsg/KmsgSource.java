package dev.oomwatch.source.kmsg;

import static java.nio.charset.StandardCharsets.ISO_8859_1;

import dev.oomwatch.metrics.AgentMetrics;
import dev.oomwatch.model.Observation;
import dev.oomwatch.source.Source;
import dev.oomwatch.source.SourceHealth;
import dev.oomwatch.source.SourceHealth.State;
import dev.oomwatch.support.Backoff;
import dev.oomwatch.support.DaemonThreads;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.LongFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The kernel log as a {@link Source}: reads {@code /dev/kmsg} from the start of the kernel's ring
 * buffer and hands every OOM kill it finds to the sink as a {@link dev.oomwatch.model.KernelOomKill}.
 * Reading from the start is deliberate: kills that happened while the agent was down are found again.
 * The same kill can therefore be handed over again after a restart of the agent or of the reader;
 * deduplication (by boot id and sequence) is downstream's job.
 *
 * <p>The input may also be a regular file holding records one per line, dictionary lines starting with
 * a space (how kernel logs are saved): it is read to its end, a held kill is released, and the source
 * stays {@code LIVE}.
 *
 * <p>Health: {@code STARTING} until the first read succeeds, then {@code LIVE}. When the input cannot be
 * opened, one WARN says what to do, health is {@code FAILED} with the same sentence, and opening is
 * retried after 1 s, doubling up to 60 s (DEBUG from then on). Any other failure of the reader is
 * logged, makes health {@code FAILED}, and reading starts over with the same backoff; only an
 * {@code Error} (or an exception from the retry bookkeeping itself) ends the reader thread, and health
 * is then {@code DEAD} for good. A read failing
 * with {@code EPIPE} (the kernel overwrote records not yet read) is counted in {@link #stats()} and
 * reading goes on.
 *
 * <p>Threading: a daemon thread {@code kmsg-reader} blocks reading; the sink is called from it, except
 * for a kill held back waiting for its {@code Killed process} record, which is released 100 ms after
 * the log went quiet from the daemon thread {@code kmsg-flush}. Sink calls never overlap and come in
 * kernel order; a sink should return quickly, since the kernel overwrites what is not read in time.
 * An exception from the sink is logged and does not stop the source. {@link #close()} closes the
 * device, which unblocks the read at once, and waits briefly for the reader to end; after it returns
 * the sink is not called again. All public methods are thread-safe.
 */
public final class KmsgSource implements Source {

  /** The host's kernel log device. */
  public static final Path HOST_DEVICE = Path.of("/dev/kmsg");
  /** The host's boot id, which tells one boot's sequence numbers from another's. */
  public static final Path HOST_BOOT_ID_FILE = Path.of("/proc/sys/kernel/random/boot_id");

  static final Duration QUIET_BEFORE_FLUSH = Duration.ofMillis(100);
  static final Duration FIRST_RETRY = Duration.ofSeconds(1);
  static final Duration LONGEST_RETRY = Duration.ofSeconds(60);
  private static final Duration READER_EXIT_WAIT = Duration.ofSeconds(5);
  private static final String NAME = "kmsg";
  private static final String ADVICE =
      "give the agent CAP_SYSLOG and mount the host's /dev/kmsg into its container,"
          + " or run it with --kmsg=off";

  private static final Logger log = LoggerFactory.getLogger(KmsgSource.class);

  private final Path input;
  private final BootIdReader bootIdReader;
  private final LongFunction<Instant> timestamps;
  private final Duration firstRetry;
  private final Duration longestRetry;
  private final Duration quietBeforeFlush;
  private final Consumer<KmsgRecord> recordObserver;

  private final CountDownLatch closed = new CountDownLatch(1);
  private final AtomicLong restarts = new AtomicLong();
  private volatile SourceHealth health;
  private volatile RecordPipeline pipeline;
  private volatile FileChannel openChannel;
  private Thread reader;
  private ScheduledExecutorService flushTimer;
  private Consumer<Observation> sink;
  private boolean warnedUnavailable;

  /**
   * Reads {@code input} ({@link #HOST_DEVICE} on a node), taking the boot id from
   * {@code bootIdFile} ({@link #HOST_BOOT_ID_FILE} on a node).
   */
  public KmsgSource(Path input, Path bootIdFile) {
    this(input, BootIdReader.fromFile(bootIdFile), new KernelTimestamps(),
        FIRST_RETRY, LONGEST_RETRY, QUIET_BEFORE_FLUSH, record -> {});
  }

  /** Reads {@code input}, usually a saved log, as records of the boot {@code bootId}. */
  public KmsgSource(Path input, String bootId) {
    this(input, BootIdReader.fixed(Objects.requireNonNull(bootId, "bootId")),
        new KernelTimestamps(), FIRST_RETRY, LONGEST_RETRY, QUIET_BEFORE_FLUSH, record -> {});
  }

  KmsgSource(
      Path input,
      BootIdReader bootIdReader,
      LongFunction<Instant> timestamps,
      Duration firstRetry,
      Duration longestRetry,
      Duration quietBeforeFlush,
      Consumer<KmsgRecord> recordObserver) {
    this.input = Objects.requireNonNull(input, "input");
    this.bootIdReader = bootIdReader;
    this.timestamps = timestamps;
    this.firstRetry = firstRetry;
    this.longestRetry = longestRetry;
    this.quietBeforeFlush = quietBeforeFlush;
    this.recordObserver = recordObserver;
    this.health = new SourceHealth(NAME, State.STARTING, "opening " + input);
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public boolean oomCapable() {
    return true;
  }

  @Override
  public synchronized void start(Consumer<Observation> sink) {
    Objects.requireNonNull(sink, "sink");
    if (reader != null || isClosed()) {
      throw new IllegalStateException("the kmsg source can be started once");
    }
    this.sink = sink;
    flushTimer = DaemonThreads.scheduler("kmsg-flush");
    reader = DaemonThreads.thread("kmsg-reader", this::readUntilClosed);
    reader.start();
  }

  @Override
  public SourceHealth health() {
    return health;
  }

  /** The counters so far; callable from any thread at any time. */
  public KmsgStats stats() {
    RecordPipeline current = pipeline;
    return current == null
        ? new KmsgStats(0, 0, 0, 0, restarts.get())
        : current.stats(restarts.get());
  }

  @Override
  public void registerMetrics(AgentMetrics metrics) {
    metrics.registerCounter("oomwatch_kmsg_records", "Kernel log records read", () -> stats().recordsRead());
    metrics.registerCounter("oomwatch_kmsg_malformed_records", "Kernel log records that did not parse",
        () -> stats().malformedRecords());
    metrics.registerCounter("oomwatch_kmsg_lost_records",
        "Kernel log records overwritten before they were read (EPIPE)", () -> stats().lostRecords());
  }

  @Override
  public void close() {
    Thread readerThread;
    synchronized (this) {
      if (isClosed()) {
        return;
      }
      closed.countDown();
      readerThread = reader;
    }
    closeQuietly(openChannel);
    if (readerThread != null && readerThread != Thread.currentThread()) {
      try {
        readerThread.join(READER_EXIT_WAIT.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      if (readerThread.isAlive()) {
        log.warn("the kmsg reader did not stop within {}", READER_EXIT_WAIT);
      }
    }
    if (flushTimer != null) {
      flushTimer.shutdownNow();
      try {
        flushTimer.awaitTermination(READER_EXIT_WAIT.toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Whether the reader thread is still running; for tests of {@link #close()}. */
  boolean readerAlive() {
    Thread readerThread;
    synchronized (this) {
      readerThread = reader;
    }
    return readerThread != null && readerThread.isAlive();
  }

  private void readUntilClosed() {
    Backoff backoff = new Backoff(firstRetry, longestRetry);
    try {
      while (!isClosed()) {
        try {
          if (readInput(backoff)) {
            return;
          }
        } catch (InputUnavailableException e) {
          reportUnavailable(e.getMessage());
        } catch (IOException | RuntimeException e) {
          if (isClosed()) {
            break;
          }
          reportFailure(e);
        }
        RecordPipeline current = pipeline;
        if (current != null) {
          current.flushHeldKill();
        }
        if (closed.await(backoff.next().toNanos(), TimeUnit.NANOSECONDS)) {
          break;
        }
        restarts.incrementAndGet();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException | Error e) {
      // Nothing restarts this thread: say so (DEAD fails liveness, and kubelet restarts the agent).
      health = SourceHealth.dead(NAME, "the kmsg reader", e);
      log.error("the kmsg reader stopped for good", e);
      throw e;
    } finally {
      RecordPipeline current = pipeline;
      if (current != null) {
        current.flushHeldKill();
      }
    }
  }

  /** Reads the input once; true if it was a file read to its end, false if the source was closed. */
  private boolean readInput(Backoff backoff) throws IOException, InputUnavailableException {
    RecordPipeline current = pipeline();
    current.startOver();
    if (Files.isRegularFile(input)) {
      readFile(current);
      return true;
    }
    FileChannel channel = openDevice();
    try (channel) {
      DeviceReader.readUntilClosed(channel, current, () -> {
        backoff.reset();
        markLive();
      }, this::isClosed);
    }
    return false;
  }

  private void readFile(RecordPipeline current) throws IOException, InputUnavailableException {
    BufferedReader lines;
    try {
      lines = Files.newBufferedReader(input, ISO_8859_1);
    } catch (IOException e) {
      throw new InputUnavailableException(unavailableSentence(input, e));
    }
    try (lines) {
      markLive();
      String line;
      while (!isClosed() && (line = lines.readLine()) != null) {
        if (!line.startsWith(" ")) {
          current.accept(line);
        }
      }
    }
    current.flushHeldKill();
  }

  private FileChannel openDevice() throws IOException, InputUnavailableException {
    FileChannel channel;
    try {
      channel = FileChannel.open(input, StandardOpenOption.READ);
    } catch (IOException e) {
      throw new InputUnavailableException(unavailableSentence(input, e));
    }
    openChannel = channel;
    // close() may have run between the open and the line above, and not seen this channel.
    if (isClosed()) {
      channel.close();
    }
    return channel;
  }

  private RecordPipeline pipeline() throws InputUnavailableException {
    if (pipeline == null) {
      String bootId;
      try {
        bootId = bootIdReader.read();
      } catch (IOException e) {
        throw new InputUnavailableException(
            "cannot read the boot id: " + reason(e) + "; mount the host's /proc, or run the agent"
                + " with --kmsg=off");
      }
      pipeline = new RecordPipeline(new OomReportAssembler(bootId, timestamps), sink, flushTimer,
          quietBeforeFlush, recordObserver);
    }
    return pipeline;
  }

  private void markLive() {
    if (health.state() != State.LIVE) {
      log.info("reading kernel OOM kills from {}", input);
      health = new SourceHealth(NAME, State.LIVE, "reading " + input);
    }
  }

  private void reportUnavailable(String sentence) {
    health = new SourceHealth(NAME, State.FAILED, sentence);
    if (warnedUnavailable) {
      log.debug("{} (retrying)", sentence);
    } else {
      warnedUnavailable = true;
      log.warn("{}", sentence);
    }
  }

  private void reportFailure(Exception e) {
    String sentence = "reading " + input + " failed: " + e + "; retrying";
    health = new SourceHealth(NAME, State.FAILED, sentence);
    log.warn("{}", sentence, e);
  }

  private boolean isClosed() {
    return closed.getCount() == 0;
  }

  private static String unavailableSentence(Path input, IOException e) {
    return "cannot read " + input + ": " + reason(e) + "; " + ADVICE;
  }

  private static String reason(IOException e) {
    if (e instanceof NoSuchFileException) {
      return "no such file";
    }
    if (e instanceof AccessDeniedException) {
      return "permission denied";
    }
    if (e instanceof FileSystemException fse && fse.getReason() != null) {
      return fse.getReason().toLowerCase(Locale.ROOT);
    }
    return String.valueOf(e.getMessage());
  }

  private static void closeQuietly(FileChannel channel) {
    if (channel != null) {
      try {
        channel.close();
      } catch (IOException e) {
        log.debug("closing {} failed", channel, e);
      }
    }
  }

  /** The input or the boot id cannot be opened; the message says what to do. */
  private static final class InputUnavailableException extends Exception {
    private static final long serialVersionUID = 1L;

    InputUnavailableException(String sentence) {
      super(sentence);
    }
  }
}
