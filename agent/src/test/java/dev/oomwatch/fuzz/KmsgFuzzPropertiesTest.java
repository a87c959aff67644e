package dev.oomwatch.fuzz;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.model.KernelOomKill;
import dev.oomwatch.source.kmsg.KmsgParser;
import dev.oomwatch.source.kmsg.KmsgRecord;
import dev.oomwatch.source.kmsg.OomReportAssembler;
import java.lang.invoke.MethodHandle;
import java.math.BigInteger;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.SplittableRandom;
import java.util.function.LongFunction;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Hostile kernel log input: {@link KmsgParser} (bytes and text), the OOM report line readers, and the
 * {@link OomReportAssembler} state machine fed sequences of real records, mutated. Every entry point
 * documents "never throws".
 */
@Tag("fuzz")
class KmsgFuzzPropertiesTest {

  static final List<String> DICTIONARY = List.of(
      "oom-kill:", "constraint=CONSTRAINT_MEMCG", "constraint=CONSTRAINT_NONE", ",oom_memcg=", ",task_memcg=",
      ",task=", ",pid=", ",uid=", ",global_oom", "global_oom,", ",mems_allowed=0,2", "nodemask=(null),cpuset=/",
      " invoked oom-killer: ", "gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0", "memory: usage ",
      ", limit ", "kB", "9007199254740988kB", "Killed process ", "Memory cgroup out of memory: ",
      "Out of memory: ", ", anon-rss:", "total-vm:", ", file-rss:", ", shmem-rss:", "UID:", " pgtables:",
      "\n SUBSYSTEM=memory", "\n DEVICE=+memory:x", "6,", "4,", "3,", "14,", ",-;", ",c;", ",+;", ";", ",", ",,",
      ",caller=T123;", "\\x00", "\\x0a", "(exe)", "/kubepods/burstable/pod", "exe", "-9223372036854775808");

  private static final String BOOT_ID = "0f7c6d2e-1111-4222-8333-444455556666";
  private static final List<byte[]> READS = Corpus.allKmsgReads();
  private static final List<KmsgRecord> RECORDS = READS.stream()
      .map(r -> KmsgParser.parse(r, 0, r.length).orElseThrow()).toList();
  private static final List<List<KmsgRecord>> FIXTURE_RECORDS = Corpus.KMSG_FIXTURES.stream()
      .map(f -> Corpus.kmsgReads(f).stream().map(r -> KmsgParser.parse(r, 0, r.length).orElseThrow()).toList())
      .toList();

  private static final Class<?> REPORT_TEXT = Internals.type("dev.oomwatch.source.kmsg.OomReportText");
  private static final MethodHandle PARSE_SUMMARY = Internals.method(REPORT_TEXT, "parseSummary", String.class);
  private static final MethodHandle PARSE_KILLED = Internals.method(REPORT_TEXT, "parseKilledProcess", String.class);
  private static final MethodHandle MEMORY_LIMIT = Internals.method(REPORT_TEXT, "memoryLimitBytes", String.class);
  private static final MethodHandle STARTS_REPORT = Internals.method(REPORT_TEXT, "startsReport", String.class);
  private static final MethodHandle KERNEL_TIMESTAMPS = Internals.constructor(
      Internals.type("dev.oomwatch.source.kmsg.KernelTimestamps"));

  static Mutator mutator(SplittableRandom random) {
    return new Mutator(random, DICTIONARY, KmsgParser.MAX_LINE_BYTES);
  }

  // ---------------------------------------------------------------------------------------------
  // KmsgParser

  /** One device read (or saved line), a window of it, and the text form. */
  record ParserCase(byte[] bytes, int offset, int length, String text) {
    @Override
    public String toString() {
      return "bytes " + Escape.bytes(bytes, Fuzz.SHOWN_CHARS) + ", window [" + offset + ", +" + length + "], text "
          + Escape.text(text, 400);
    }
  }

  @Test
  void parserNeverThrowsAndReadsExactlyTheKernelFormat() {
    Fuzz.run("kmsg.parser", random -> {
      Mutator mutator = mutator(random);
      byte[] bytes = mutator.mutatedOrRandom(READS);
      int offset;
      int length;
      switch (random.nextInt(8)) {
        case 0 -> { // a window inside
          offset = bytes.length == 0 ? 0 : random.nextInt(bytes.length);
          length = random.nextInt(bytes.length - offset + 1);
        }
        case 1 -> { // a window that is not inside
          int[][] bad = {{-1, 0}, {0, bytes.length + 1}, {bytes.length, 1}, {Integer.MAX_VALUE, Integer.MAX_VALUE},
              {1, Integer.MAX_VALUE}, {Integer.MIN_VALUE, 5}, {5, Integer.MIN_VALUE}, {bytes.length + 1, 0},
              {Integer.MAX_VALUE, 1}, {-5, 10}};
          int[] pick = bad[random.nextInt(bad.length)];
          offset = pick[0];
          length = pick[1];
        }
        default -> {
          offset = 0;
          length = bytes.length;
        }
      }
      return new ParserCase(bytes, offset, length, mutator.text(bytes));
    }, ParserCase::toString, c -> 1, KmsgFuzzPropertiesTest::checkParser);
  }

  private static void checkParser(ParserCase c) {
    byte[] bytes = c.bytes();
    boolean inside = c.offset() >= 0 && c.length() >= 0 && (long) c.offset() + c.length() <= bytes.length;
    Optional<KmsgRecord> windowed = KmsgParser.parse(bytes, c.offset(), c.length());
    if (!inside) {
      assertTrue(windowed.isEmpty(), "a window outside the array gave a record");
    } else {
      byte[] slice = Arrays.copyOfRange(bytes, c.offset(), c.offset() + c.length());
      Optional<KmsgRecord> whole = KmsgParser.parse(slice, 0, slice.length);
      assertEquals(whole, windowed, "parsing a window differs from parsing a copy of it");
      checkRecord(new String(slice, ISO_8859_1), whole);
    }
    assertTrue(KmsgParser.parse(null, 0, 0).isEmpty());
    assertTrue(KmsgParser.parse((String) null).isEmpty());

    Optional<KmsgRecord> fromText = KmsgParser.parse(c.text());
    // parse(String) encodes as ISO-8859-1: what cannot be encoded becomes '?'
    String encodable = new String(c.text().getBytes(ISO_8859_1), ISO_8859_1);
    checkRecord(encodable, fromText);
  }

  /** {@code record} is what the kernel's format says {@code input} holds: checked against a plain reference. */
  private static void checkRecord(String input, Optional<KmsgRecord> record) {
    Optional<KmsgRecord> expected = reference(input);
    assertEquals(expected, record, "the parser disagrees with the reference reading of the record format");
    if (record.isPresent()) {
      KmsgRecord r = record.get();
      int semicolon = input.indexOf(';');
      assertTrue(input.startsWith(r.text(), semicolon + 1)
          && (semicolon + 1 + r.text().length() == input.length()
          || input.charAt(semicolon + 1 + r.text().length()) == '\n'),
          "the record's text is not the input's first line after the header");
      assertFalse(r.text().contains("\n"), "the text holds a newline");
      assertTrue(r.sequence() >= 0 && r.monotonicMicros() >= 0 && r.facility() >= 0, "negative header field");
      // the record survives being printed in the kernel's format and read again
      String printed = (r.facility() * 8L + r.priority()) + "," + r.sequence() + "," + r.monotonicMicros() + ","
          + r.flags() + ";" + r.text();
      if (printed.length() <= KmsgParser.MAX_LINE_BYTES) {
        assertEquals(record, KmsgParser.parse(printed), "the record does not read back");
      }
    }
  }

  /** The record format read the slow, obvious way: split at the first ';' and at commas, BigIntegers. */
  private static Optional<KmsgRecord> reference(String input) {
    int newline = input.indexOf('\n');
    String line = newline < 0 ? input : input.substring(0, newline);
    if (line.length() > KmsgParser.MAX_LINE_BYTES) {
      return Optional.empty();
    }
    int semicolon = line.indexOf(';');
    if (semicolon < 0) {
      return Optional.empty();
    }
    String[] fields = line.substring(0, semicolon).split(",", -1);
    if (fields.length < 4) {
      return Optional.empty();
    }
    BigInteger prio = unsigned(fields[0]);
    BigInteger seq = unsigned(fields[1]);
    BigInteger usec = unsigned(fields[2]);
    BigInteger longMax = BigInteger.valueOf(Long.MAX_VALUE);
    if (prio == null || seq == null || usec == null || prio.compareTo(BigInteger.valueOf(Integer.MAX_VALUE)) > 0
        || seq.compareTo(longMax) > 0 || usec.compareTo(longMax) > 0) {
      return Optional.empty();
    }
    if (fields[3].length() != 1 || fields[3].charAt(0) <= ' ' || fields[3].charAt(0) >= 127) {
      return Optional.empty();
    }
    int p = prio.intValueExact();
    return Optional.of(new KmsgRecord(p & 7, p >>> 3, seq.longValueExact(), usec.longValueExact(),
        fields[3].charAt(0), line.substring(semicolon + 1)));
  }

  private static BigInteger unsigned(String digits) {
    if (digits.isEmpty() || !digits.chars().allMatch(ch -> ch >= '0' && ch <= '9')) {
      return null;
    }
    String significant = digits.replaceFirst("^0+(?=.)", "");
    // over 19 digits is over a long: say so without building a BigInteger of a megabyte of digits
    return significant.length() > 19 ? BigInteger.TEN.pow(20) : new BigInteger(significant);
  }

  // ---------------------------------------------------------------------------------------------
  // OomReportText

  private static final List<byte[]> REPORT_LINES = RECORDS.stream()
      .filter(r -> r.text().startsWith("oom-kill:") || r.text().contains("Killed process ")
          || r.text().startsWith("memory: usage ") || r.text().contains(" invoked oom-killer: "))
      .map(r -> r.text().getBytes(ISO_8859_1))
      .toList();

  @Test
  void reportLinesNeverThrowAndGiveOnlySaneValues() {
    assertFalse(REPORT_LINES.isEmpty());
    Fuzz.run("kmsg.reportText", random -> {
      Mutator mutator = mutator(random);
      return atMostARecord(mutator.text(mutator.mutatedOrRandom(REPORT_LINES)));
    }, text -> Escape.text(text, Fuzz.SHOWN_CHARS), t -> 1, KmsgFuzzPropertiesTest::checkReportText);
  }

  private static void checkReportText(String text) throws Throwable {
    Optional<?> summary = (Optional<?>) PARSE_SUMMARY.invoke(text);
    if (summary.isPresent()) {
      Object s = summary.get();
      assertTrue(text.startsWith("oom-kill:"), "a summary that does not start with oom-kill:");
      assertTrue((int) Internals.component(s, "pid") > 0, "summary pid not positive");
      assertFalse(((String) Internals.component(s, "constraint")).isEmpty(), "empty constraint");
      assertFalse(((String) Internals.component(s, "taskMemcg")).isEmpty(), "empty task_memcg");
      assertNotNull(Internals.component(s, "task"));
      Optional<?> oomMemcg = (Optional<?>) Internals.component(s, "oomMemcg");
      assertTrue(oomMemcg.isEmpty() || !((String) oomMemcg.get()).isEmpty(), "empty oom_memcg");
      assertTrue(text.contains((String) Internals.component(s, "task")), "task not from the text");
    }
    Optional<?> killed = (Optional<?>) PARSE_KILLED.invoke(text);
    if (killed.isPresent()) {
      int pid = (int) Internals.component(killed.get(), "pid");
      assertTrue(pid > 0, "killed pid not positive");
      int label = text.indexOf("Killed process ") + "Killed process ".length();
      int digits = label;
      while (digits < text.length() && text.charAt(digits) >= '0' && text.charAt(digits) <= '9') {
        digits++;
      }
      int significant = label;
      while (significant < digits - 1 && text.charAt(significant) == '0') {
        significant++;
      }
      assertEquals(Integer.toString(pid), text.substring(significant, digits),
          "pid not the number after the first 'Killed process '");
      OptionalLong anonRss = (OptionalLong) Internals.component(killed.get(), "anonRssBytes");
      assertTrue(anonRss.isEmpty() || (anonRss.getAsLong() >= 0 && anonRss.getAsLong() % 1024 == 0),
          "anon-rss negative or not whole KiB: " + anonRss);
    }
    OptionalLong limit = (OptionalLong) MEMORY_LIMIT.invoke(text);
    assertTrue(limit.isEmpty() || (limit.getAsLong() >= 0 && limit.getAsLong() % 1024 == 0),
        "limit negative or not whole KiB: " + limit);
    STARTS_REPORT.invoke(text);
  }

  // ---------------------------------------------------------------------------------------------
  // OomReportAssembler

  /** A record to feed, or (null) a call of flushPending, as the pipeline makes when the log is quiet. */
  record Step(KmsgRecord record) {
    @Override
    public String toString() {
      if (record == null) {
        return "flushPending()";
      }
      return (record.facility() * 8L + record.priority()) + "," + record.sequence() + "," + record.monotonicMicros()
          + "," + record.flags() + ";" + Escape.text(record.text(), 300);
    }
  }

  record Sequence(List<Step> steps) {
    int records() {
      return (int) steps.stream().filter(s -> s.record() != null).count();
    }

    @Override
    public String toString() {
      return steps.size() + " steps:\n" + steps.stream().map(Step::toString).collect(Collectors.joining("\n"));
    }
  }

  @Test
  void assemblerReleasesEachParsedSummaryExactlyOnceAndNothingElse() {
    Fuzz.run("kmsg.assembler", KmsgFuzzPropertiesTest::sequence, Sequence::toString, Sequence::records,
        KmsgFuzzPropertiesTest::checkAssembler);
  }

  /** Real records in kernel order, a window of them, then sequence-level and record-level mutations. */
  private static Sequence sequence(SplittableRandom random) {
    Mutator mutator = mutator(random);
    List<KmsgRecord> base = new ArrayList<>();
    int parts = 1 + random.nextInt(3);
    for (int p = 0; p < parts; p++) {
      List<KmsgRecord> fixture = FIXTURE_RECORDS.get(random.nextInt(FIXTURE_RECORDS.size()));
      int from = random.nextInt(fixture.size());
      int length = 1 + random.nextInt(Math.min(fixture.size() - from, random.nextBoolean() ? 40 : 200));
      base.addAll(fixture.subList(from, from + length));
    }
    List<KmsgRecord> records = new ArrayList<>(base);
    if (random.nextInt(3) > 0) {
      renumber(records, records.isEmpty() ? 0 : records.get(0).sequence());
    }
    int mutations = random.nextInt(random.nextBoolean() ? 3 : 20);
    for (int i = 0; i < mutations && !records.isEmpty(); i++) {
      int at = random.nextInt(records.size());
      KmsgRecord r = records.get(at);
      switch (random.nextInt(12)) {
        case 0 -> records.remove(at);
        case 1 -> records.add(at, r);
        case 2 -> {
          if (at + 1 < records.size()) {
            records.set(at, records.get(at + 1));
            records.set(at + 1, r);
          }
        }
        case 3, 4, 5 -> records.set(at, withText(r, textOf(mutator, r.text())));
        case 6 -> records.set(at, new KmsgRecord(r.priority(), 1 + random.nextInt(23), r.sequence(),
            r.monotonicMicros(), r.flags(), r.text()));
        case 7 -> { // a gap, a step back, or sequence numbers at the edge of a long from here on
          long start = switch (random.nextInt(4)) {
            case 0 -> r.sequence() > Long.MAX_VALUE - 2000 ? 0 : r.sequence() + 2 + random.nextInt(1000);
            case 1 -> Math.max(0, r.sequence() - random.nextInt(50));
            case 2 -> Long.MAX_VALUE - random.nextInt(5);
            default -> 0;
          };
          renumber(records.subList(at, records.size()), start);
        }
        case 8 -> records.add(at, forged(random, mutator, r.sequence()));
        case 9 -> records.set(at, new KmsgRecord(r.priority(), r.facility(), r.sequence(),
            random.nextBoolean() ? Long.MAX_VALUE : 0, r.flags(), r.text()));
        case 10 -> { // the whole report again: the log read again from the start
          records.addAll(at, new ArrayList<>(records.subList(0, at)));
        }
        default -> {
          byte[] read = mutator.mutate(READS.get(random.nextInt(READS.size())), READS);
          KmsgParser.parse(read, 0, read.length).ifPresent(parsed -> records.add(random.nextInt(records.size() + 1),
              parsed));
        }
      }
    }
    List<Step> steps = new ArrayList<>();
    for (KmsgRecord r : records) {
      steps.add(new Step(r));
      if (random.nextInt(40) == 0) {
        steps.add(new Step(null));
      }
    }
    return new Sequence(steps);
  }

  private static String textOf(Mutator mutator, String text) {
    return atMostARecord(mutator.text(mutator.mutate(text.getBytes(ISO_8859_1), REPORT_LINES)));
  }

  /**
   * The report lines only ever see a record's text, which {@link KmsgParser} caps at
   * {@link KmsgParser#MAX_LINE_BYTES}: longer text is cut there. (parseSummary is quadratic in the
   * number of comma-separated pieces: about 8 ms for 8 KiB of commas, 48 s for 1 MiB.)
   */
  private static String atMostARecord(String text) {
    return text.length() <= KmsgParser.MAX_LINE_BYTES ? text : text.substring(0, KmsgParser.MAX_LINE_BYTES);
  }

  private static KmsgRecord withText(KmsgRecord r, String text) {
    return new KmsgRecord(r.priority(), r.facility(), r.sequence(), r.monotonicMicros(), r.flags(), text);
  }

  private static void renumber(List<KmsgRecord> records, long start) {
    long next = start;
    for (int i = 0; i < records.size(); i++) {
      KmsgRecord r = records.get(i);
      records.set(i, new KmsgRecord(r.priority(), r.facility(), next, r.monotonicMicros(), r.flags(), r.text()));
      next = next == Long.MAX_VALUE ? 0 : next + 1;
    }
  }

  /** A made-up OOM line, with boundary numbers where the kernel prints numbers. */
  private static KmsgRecord forged(SplittableRandom random, Mutator mutator, long sequence) {
    String n = mutator.boundaryNumberText();
    String text = switch (random.nextInt(5)) {
      case 0 -> "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/kubepods/a,"
          + "task_memcg=/kubepods/a/b,task=exe,pid=" + n + ",uid=" + mutator.boundaryNumberText();
      case 1 -> "Memory cgroup out of memory: Killed process " + n + " (exe) total-vm:1kB, anon-rss:"
          + mutator.boundaryNumberText() + "kB, file-rss:0kB";
      case 2 -> "memory: usage " + n + "kB, limit " + mutator.boundaryNumberText() + "kB, failcnt 1";
      case 3 -> "exe invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=" + n;
      default -> "oom-kill:constraint=CONSTRAINT_NONE,global_oom,task_memcg=/,task=" + n + ",pid=" + n + ",uid=0";
    };
    return new KmsgRecord(random.nextInt(8), random.nextInt(4) == 0 ? 1 : 0, sequence, random.nextLong(1L << 40),
        '-', text);
  }

  private static void checkAssembler(Sequence sequence) throws Throwable {
    @SuppressWarnings("unchecked")
    LongFunction<Instant> clock = (LongFunction<Instant>) KERNEL_TIMESTAMPS.invoke();
    OomReportAssembler assembler = new OomReportAssembler(BOOT_ID, clock);
    Map<Long, Integer> summariesFed = new HashMap<>();
    Map<Long, Integer> released = new HashMap<>();
    List<KernelOomKill> kills = new ArrayList<>();
    long lastMalformed = 0;
    for (Step step : sequence.steps()) {
      Optional<KernelOomKill> kill;
      if (step.record() == null) {
        kill = assembler.flushPending();
      } else {
        KmsgRecord r = step.record();
        if (r.fromKernel() && ((Optional<?>) PARSE_SUMMARY.invoke(r.text())).isPresent()) {
          summariesFed.merge(r.sequence(), 1, Integer::sum);
        }
        kill = assembler.accept(r);
      }
      kill.ifPresent(k -> {
        released.merge(k.sequence(), 1, Integer::sum);
        kills.add(k);
      });
      OptionalLong pending = assembler.pendingSequence();
      assertTrue(pending.isEmpty() || summariesFed.containsKey(pending.getAsLong()),
          "holds a kill of sequence " + pending + " that no parsed summary had");
      long malformed = assembler.malformedSummaries();
      assertTrue(malformed >= lastMalformed, "malformedSummaries went down");
      lastMalformed = malformed;
    }
    assembler.flushPending().ifPresent(k -> {
      released.merge(k.sequence(), 1, Integer::sum);
      kills.add(k);
    });
    assertTrue(assembler.pendingSequence().isEmpty(), "a kill still held after flushPending");
    assertTrue(assembler.flushPending().isEmpty(), "flushPending released something twice");
    for (KernelOomKill k : kills) {
      assertEquals(BOOT_ID, k.bootId());
      assertTrue(k.pid() > 0, "kill with pid " + k.pid());
      assertNotNull(k.killedAt(), "no wall-clock time");
      assertTrue(k.limitBytes().isEmpty() || k.limitBytes().getAsLong() >= 0, "negative limit " + k);
      assertTrue(k.anonRssBytes().isEmpty() || k.anonRssBytes().getAsLong() >= 0, "negative anon-rss " + k);
      assertFalse(k.taskMemcg().isEmpty(), "empty task memcg");
    }
    for (Map.Entry<Long, Integer> entry : released.entrySet()) {
      int fed = summariesFed.getOrDefault(entry.getKey(), 0);
      assertTrue(entry.getValue() <= fed, "released " + entry.getValue() + " kill(s) of sequence " + entry.getKey()
          + " for " + fed + " parsed summary record(s) with that number");
    }
    assertEquals(summariesFed, released, "not every parsed oom-kill summary was released exactly once");
  }
}
