package dev.oomwatch.source.kmsg;

import dev.oomwatch.model.KernelOomKill;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns the kernel log records of OOM reports, fed in kernel order, into one {@link KernelOomKill} per
 * kill.
 *
 * <p>A report reads: {@code <comm> invoked oom-killer: ...}, a stack dump, for a memcg OOM
 * {@code memory: usage ..., limit NkB, ...} and the memcg's statistics, the task list, then the
 * {@code oom-kill:constraint=...} summary (the anchor: one per kill), then
 * {@code ...: Killed process <pid> (<comm>) ..., anon-rss:NkB, ...}. The machine's states:
 * <ul>
 *   <li><b>outside a report</b> until a {@code invoked oom-killer:} record;
 *   <li><b>inside a report</b>: its first {@code memory: usage} record gives the limit;
 *   <li><b>holding a kill</b> after a summary: the kill (with the report's limit, if one was seen) waits
 *       for the {@code Killed process} record with its pid, which adds the anon-rss and releases it.
 *       Any other record releases it as it is, since the kernel does not log that line when the victim
 *       was already exiting; so does {@link #flushPending()}, which the caller invokes when the log has
 *       been quiet for a while. A held kill is released exactly once.
 * </ul>
 * A gap or a step back in the sequence numbers (records lost, or the log read again from its start)
 * releases a held kill and forgets the report, so no limit is carried across missing records. Only
 * records the kernel wrote itself ({@link KmsgRecord#fromKernel()}) count: userspace cannot forge one.
 * A summary that does not parse is counted ({@link #malformedSummaries()}), logged at DEBUG, and
 * otherwise ignored.
 *
 * <p>Pure apart from that count and DEBUG log: no I/O, no clock of its own. Not thread-safe: one thread
 * (or callers holding one lock) feeds it; only {@link #malformedSummaries()} may be read from any thread.
 */
public final class OomReportAssembler {

  private static final Logger log = LoggerFactory.getLogger(OomReportAssembler.class);

  private final String bootId;
  private final LongFunction<Instant> wallClockOfMonotonicMicros;
  private final AtomicLong malformedSummaries = new AtomicLong();

  private long lastSequence = -1;
  private boolean insideReport;
  private OptionalLong reportLimitBytes = OptionalLong.empty();
  private KernelOomKill heldKill;

  /**
   * @param bootId                     the boot the records come from, copied into every kill
   * @param wallClockOfMonotonicMicros converts a record's microseconds since boot to wall-clock time
   */
  public OomReportAssembler(String bootId, LongFunction<Instant> wallClockOfMonotonicMicros) {
    this.bootId = Objects.requireNonNull(bootId, "bootId");
    this.wallClockOfMonotonicMicros =
        Objects.requireNonNull(wallClockOfMonotonicMicros, "wallClockOfMonotonicMicros");
  }

  /** Feeds the next record; returns the kill it released, if any (at most one per record). */
  public Optional<KernelOomKill> accept(KmsgRecord record) {
    KernelOomKill released = null;
    if (lastSequence >= 0 && record.sequence() != lastSequence + 1) {
      released = takeHeldKill();
      forgetReport();
    }
    lastSequence = record.sequence();
    if (heldKill != null) {
      Optional<KilledProcess> killed = record.fromKernel()
          ? OomReportText.parseKilledProcess(record.text())
          : Optional.empty();
      if (killed.isPresent() && killed.get().pid() == heldKill.pid()) {
        return Optional.of(withAnonRss(takeHeldKill(), killed.get().anonRssBytes()));
      }
      released = takeHeldKill();
    }
    if (record.fromKernel()) {
      follow(record);
    }
    return Optional.ofNullable(released);
  }

  /** Releases the held kill, if any: the caller saw no record for a while, or the input ended. */
  public Optional<KernelOomKill> flushPending() {
    return Optional.ofNullable(takeHeldKill());
  }

  /** The sequence number of the held kill's summary, if a kill is held. */
  public OptionalLong pendingSequence() {
    return heldKill == null ? OptionalLong.empty() : OptionalLong.of(heldKill.sequence());
  }

  /** How many records looked like an {@code oom-kill:} summary but did not parse. Thread-safe. */
  public long malformedSummaries() {
    return malformedSummaries.get();
  }

  private void follow(KmsgRecord record) {
    String text = record.text();
    if (OomReportText.startsReport(text)) {
      insideReport = true;
      reportLimitBytes = OptionalLong.empty();
    } else if (insideReport && reportLimitBytes.isEmpty()) {
      reportLimitBytes = OomReportText.memoryLimitBytes(text);
    }
    if (!OomReportText.looksLikeSummary(text)) {
      return;
    }
    Optional<OomSummary> summary = OomReportText.parseSummary(text);
    if (summary.isPresent()) {
      heldKill = kill(record, summary.get(), reportLimitBytes);
    } else {
      malformedSummaries.incrementAndGet();
      log.debug("ignoring malformed oom-kill record {}: {}", record.sequence(), text);
    }
    forgetReport();
  }

  private KernelOomKill kill(KmsgRecord record, OomSummary summary, OptionalLong limitBytes) {
    return new KernelOomKill(
        bootId,
        record.sequence(),
        record.monotonicMicros(),
        wallClockOfMonotonicMicros.apply(record.monotonicMicros()),
        summary.constraint(),
        summary.oomMemcg(),
        summary.taskMemcg(),
        summary.task(),
        summary.pid(),
        summary.uid(),
        limitBytes,
        OptionalLong.empty());
  }

  private static KernelOomKill withAnonRss(KernelOomKill kill, OptionalLong anonRssBytes) {
    return new KernelOomKill(
        kill.bootId(),
        kill.sequence(),
        kill.monotonicMicros(),
        kill.killedAt(),
        kill.constraint(),
        kill.oomMemcg(),
        kill.taskMemcg(),
        kill.task(),
        kill.pid(),
        kill.uid(),
        kill.limitBytes(),
        anonRssBytes);
  }

  private KernelOomKill takeHeldKill() {
    KernelOomKill kill = heldKill;
    heldKill = null;
    return kill;
  }

  private void forgetReport() {
    insideReport = false;
    reportLimitBytes = OptionalLong.empty();
  }
}
