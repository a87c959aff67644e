package dev.oomwatch.fuzz;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.model.CgroupMemorySnapshot;
import java.lang.invoke.MethodHandle;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile cgroup memory files: {@code MemoryFileParser} (limits, counters, keyed files, pressure),
 * checked against a plain reference reading of the kernel's formats, and {@code CgroupMemoryReader}
 * reading whole directories of mutated files. Both document "never throws".
 */
@Tag("fuzz")
class CgroupFuzzPropertiesTest {

  static final List<String> DICTIONARY = List.of(
      "max", "max\n", "oom_kill ", "oom ", "max ", "low ", "high ", "oom_group_kill ", "oom_kill_disable ",
      "under_oom ", "some ", "full ", "avg10=", "avg60=", "avg300=", "total=", "0.00", "99.99", "100.00",
      "9223372036854771712", "\n", " ", "\t", "\r\n", "  ", "=", ".");

  private static final Class<?> PARSER = Internals.type("dev.oomwatch.source.cgroup.MemoryFileParser");
  private static final MethodHandle PARSE_LIMIT =
      Internals.method(PARSER, "parseLimit", byte[].class, int.class, int.class);
  private static final MethodHandle PARSE_COUNTER =
      Internals.method(PARSER, "parseCounter", byte[].class, int.class, int.class);
  private static final MethodHandle PARSE_KEYED =
      Internals.method(PARSER, "parseKeyed", byte[].class, int.class, int.class, byte[][].class, long[].class);
  private static final MethodHandle PARSE_PRESSURE =
      Internals.method(PARSER, "parsePressureSomeAvg10", byte[].class, int.class, int.class);
  private static final MethodHandle PARSE_LIMIT_TEXT = Internals.method(PARSER, "parseLimit", String.class);
  private static final long INVALID = (long) Internals.constant(PARSER, "INVALID");
  private static final long UNLIMITED = (long) Internals.constant(PARSER, "UNLIMITED");
  private static final long V1_UNLIMITED_FROM = (long) Internals.constant(PARSER, "V1_UNLIMITED_FROM");
  private static final byte[][] OOM_CONTROL_KEYS = (byte[][]) Internals.constant(PARSER, "OOM_CONTROL_KEYS");
  private static final byte[][] EVENTS_KEYS = (byte[][]) Internals.constant(PARSER, "EVENTS_KEYS");

  private static final Class<?> READER = Internals.type("dev.oomwatch.source.cgroup.CgroupMemoryReader");
  private static final Class<?> COUNTERS = Internals.type("dev.oomwatch.source.cgroup.PollCounters");
  private static final MethodHandle NEW_READER = Internals.constructor(READER, COUNTERS);
  private static final MethodHandle NEW_COUNTERS = Internals.constructor(COUNTERS);
  private static final MethodHandle READ = Internals.method(READER, "read", Path.class, String.class, int.class,
      Instant.class);
  private static final int BUFFER_BYTES = (int) Internals.constant(
      Internals.type("dev.oomwatch.source.cgroup.CgroupFileReader"), "BUFFER_BYTES");

  /** Every memory file of the captures, by file name (memory.max, memory.events, ...). */
  private static final Map<String, List<byte[]>> BY_NAME = byName();
  private static final List<byte[]> ALL = BY_NAME.values().stream().flatMap(List::stream).toList();
  private static final List<String> V1_FILES = List.of("memory.limit_in_bytes", "memory.usage_in_bytes",
      "memory.max_usage_in_bytes", "memory.failcnt", "memory.oom_control");
  private static final List<String> V2_FILES = List.of("memory.max", "memory.current", "memory.peak",
      "memory.events", "memory.pressure");

  private static Map<String, List<byte[]>> byName() {
    Map<String, byte[]> files = new LinkedHashMap<>(
        Corpus.files("cgroup", p -> p.getFileName().toString().startsWith("memory.")));
    Corpus.files("runsc", p -> p.getFileName().toString().startsWith("memory."))
        .forEach((k, v) -> files.put("runsc/" + k, v));
    Map<String, List<byte[]>> byName = new LinkedHashMap<>();
    files.forEach((path, content) -> {
      String name = Path.of(path).getFileName().toString();
      List<byte[]> list = byName.computeIfAbsent(name, n -> new ArrayList<>());
      if (list.stream().noneMatch(known -> Arrays.equals(known, content))) {
        list.add(content);
      }
    });
    if (!byName.keySet().containsAll(List.of("memory.limit_in_bytes", "memory.max", "memory.events",
        "memory.oom_control", "memory.pressure"))) {
      throw new IllegalStateException("cgroup captures lack some memory files: " + byName.keySet());
    }
    return byName;
  }

  @TempDir Path dir;

  // ---------------------------------------------------------------------------------------------
  // MemoryFileParser

  record FileCase(byte[] bytes, int offset, int length) {
    @Override
    public String toString() {
      return Escape.bytes(bytes, Fuzz.SHOWN_CHARS) + ", window [" + offset + ", +" + length + "]";
    }
  }

  @Test
  void memoryFilesParseAsTheReferenceSaysAndNeverNegative() {
    Fuzz.run("cgroup.files", random -> {
      Mutator mutator = new Mutator(random, DICTIONARY, BUFFER_BYTES);
      byte[] bytes = random.nextInt(10) == 0 ? keyedFile(random, mutator) : mutator.mutatedOrRandom(ALL);
      int offset = 0;
      int length = bytes.length;
      int roll = random.nextInt(10);
      if (roll == 0 && bytes.length > 0) {
        offset = random.nextInt(bytes.length);
        length = random.nextInt(bytes.length - offset + 1);
      } else if (roll == 1) {
        int[][] bad = {{-1, 1}, {0, bytes.length + 1}, {Integer.MAX_VALUE, Integer.MAX_VALUE}, {1, Integer.MAX_VALUE},
            {bytes.length + 1, 0}, {Integer.MIN_VALUE, 0}};
        int[] pick = bad[random.nextInt(bad.length)];
        offset = pick[0];
        length = pick[1];
      }
      return new FileCase(bytes, offset, length);
    }, FileCase::toString, c -> 1, CgroupFuzzPropertiesTest::checkFile);
  }

  /** A made-up keyed file: known and unknown keys, boundary values, odd spacing. */
  private static byte[] keyedFile(SplittableRandom random, Mutator mutator) {
    List<String> keys = List.of("low", "high", "max", "oom", "oom_kill", "oom_group_kill", "oom_kill_disable",
        "under_oom", "some", "full", "rss", "x");
    StringBuilder text = new StringBuilder();
    int lines = random.nextInt(12);
    for (int i = 0; i < lines; i++) {
      String space = switch (random.nextInt(5)) {
        case 0 -> "\t";
        case 1 -> "  ";
        case 2 -> "";
        default -> " ";
      };
      text.append(random.nextInt(10) == 0 ? " " : "").append(keys.get(random.nextInt(keys.size()))).append(space)
          .append(mutator.boundaryNumberText()).append(random.nextInt(10) == 0 ? " \r" : "").append('\n');
    }
    return text.toString().getBytes(ISO_8859_1);
  }

  private static void checkFile(FileCase c) throws Throwable {
    byte[] bytes = c.bytes();
    int offset = c.offset();
    int length = c.length();
    boolean inside = offset >= 0 && length >= 0 && (long) offset + length <= bytes.length;
    String window = inside ? new String(bytes, offset, length, ISO_8859_1) : null;

    long limit = (long) PARSE_LIMIT.invoke(bytes, offset, length);
    long counter = (long) PARSE_COUNTER.invoke(bytes, offset, length);
    long[] oomControl = new long[OOM_CONTROL_KEYS.length];
    long[] events = new long[EVENTS_KEYS.length];
    int malformedV1 = (int) PARSE_KEYED.invoke(bytes, offset, length, OOM_CONTROL_KEYS, oomControl);
    int malformedV2 = (int) PARSE_KEYED.invoke(bytes, offset, length, EVENTS_KEYS, events);
    OptionalDouble pressure = (OptionalDouble) PARSE_PRESSURE.invoke(bytes, offset, length);

    assertTrue(limit == INVALID || limit >= 0, "negative limit " + limit);
    assertTrue(limit < V1_UNLIMITED_FROM || limit == UNLIMITED, "limit above the unlimited floor: " + limit);
    assertTrue(counter == INVALID || counter >= 0, "negative counter " + counter);
    for (long v : oomControl) {
      assertTrue(v == INVALID || v >= 0, "negative oom_control value " + v);
    }
    for (long v : events) {
      assertTrue(v == INVALID || v >= 0, "negative events value " + v);
    }
    assertTrue(malformedV1 >= 0 && malformedV2 >= 0, "negative malformed count");
    assertTrue(pressure.isEmpty() || (Double.isFinite(pressure.getAsDouble()) && pressure.getAsDouble() >= 0),
        "pressure " + pressure);

    if (!inside) {
      assertEquals(INVALID, limit, "a window outside the array gave a limit");
      assertEquals(INVALID, counter, "a window outside the array gave a counter");
      assertTrue(pressure.isEmpty(), "a window outside the array gave a pressure");
      return;
    }
    assertEquals(referenceLimit(window), limit, "limit differs from the reference");
    assertEquals(referenceDecimal(trim(window)), counter, "counter differs from the reference");
    long[] expected = new long[OOM_CONTROL_KEYS.length];
    assertEquals(referenceKeyed(window, OOM_CONTROL_KEYS, expected), malformedV1,
        "malformed oom_control lines differ from the reference");
    assertEquals(Arrays.toString(expected), Arrays.toString(oomControl), "oom_control differs from the reference");
    expected = new long[EVENTS_KEYS.length];
    assertEquals(referenceKeyed(window, EVENTS_KEYS, expected), malformedV2,
        "malformed memory.events lines differ from the reference");
    assertEquals(Arrays.toString(expected), Arrays.toString(events), "memory.events differs from the reference");
    assertEquals(referencePressure(window), pressure, "pressure differs from the reference");
    if (offset == 0 && length == bytes.length) {
      assertEquals(limit, (long) PARSE_LIMIT_TEXT.invoke(window), "the String form differs");
    }
  }

  private static boolean isSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
  }

  private static String trim(String s) {
    int from = 0;
    int to = s.length();
    while (from < to && isSpace(s.charAt(from))) {
      from++;
    }
    while (to > from && isSpace(s.charAt(to - 1))) {
      to--;
    }
    return s.substring(from, to);
  }

  private static long referenceDecimal(String s) {
    if (s.isEmpty() || !s.chars().allMatch(ch -> ch >= '0' && ch <= '9')) {
      return INVALID;
    }
    String digits = s.replaceFirst("^0+(?=.)", "");
    if (digits.length() > 19) {
      return INVALID; // (BigInteger of a megabyte of digits would take minutes)
    }
    BigInteger value = new BigInteger(digits);
    return value.compareTo(BigInteger.valueOf(Long.MAX_VALUE)) > 0 ? INVALID : value.longValueExact();
  }

  private static long referenceLimit(String window) {
    String t = trim(window);
    if (t.equals("max")) {
      return UNLIMITED;
    }
    long value = referenceDecimal(t);
    return value >= V1_UNLIMITED_FROM ? UNLIMITED : value;
  }

  private static List<String> lines(String window) {
    List<String> lines = new ArrayList<>(Arrays.asList(window.split("\n", -1)));
    if (!lines.isEmpty() && lines.get(lines.size() - 1).isEmpty()) {
      lines.remove(lines.size() - 1);
    }
    return lines;
  }

  private static int referenceKeyed(String window, byte[][] keys, long[] values) {
    Arrays.fill(values, INVALID);
    List<String> names = Arrays.stream(keys).map(k -> new String(k, ISO_8859_1)).toList();
    int malformed = 0;
    for (String line : lines(window)) {
      int start = 0;
      while (start < line.length() && isSpace(line.charAt(start))) {
        start++;
      }
      if (start == line.length()) {
        continue;
      }
      int keyEnd = start;
      while (keyEnd < line.length() && !isSpace(line.charAt(keyEnd))) {
        keyEnd++;
      }
      if (keyEnd == line.length()) {
        malformed++;
        continue;
      }
      int key = names.indexOf(line.substring(start, keyEnd));
      if (key >= 0) {
        values[key] = referenceDecimal(trim(line.substring(keyEnd)));
        if (values[key] == INVALID) {
          malformed++;
        }
      }
    }
    return malformed;
  }

  private static OptionalDouble referencePressure(String window) {
    for (String line : lines(window)) {
      int space = 0;
      while (space < line.length() && !isSpace(line.charAt(space))) {
        space++;
      }
      if (space == line.length() || !line.substring(0, space).equals("some")) {
        continue;
      }
      for (String field : line.substring(space).split("[ \t\r]+")) {
        if (field.length() > 6 && field.startsWith("avg10=")) {
          String value = field.substring(6);
          if (!value.matches("[0-9]+(\\.[0-9]{0,9})?")) {
            return OptionalDouble.empty();
          }
          int dot = value.indexOf('.');
          long integer = referenceDecimal(dot < 0 ? value : value.substring(0, dot));
          if (integer == INVALID) {
            return OptionalDouble.empty();
          }
          if (dot < 0) {
            return OptionalDouble.of(integer);
          }
          String fraction = value.substring(dot + 1);
          long f = fraction.isEmpty() ? 0 : Long.parseLong(fraction);
          return OptionalDouble.of(integer + f / Math.pow(10, fraction.length()));
        }
      }
      return OptionalDouble.empty();
    }
    return OptionalDouble.empty();
  }

  // ---------------------------------------------------------------------------------------------
  // CgroupMemoryReader: whole directories

  /** A cgroup directory: its version and each file's content (null: the file is missing). */
  record DirectoryCase(int version, Map<String, byte[]> files) {
    @Override
    public String toString() {
      return "cgroup v" + version + "\n" + files.entrySet().stream()
          .map(e -> e.getKey() + ": " + (e.getValue() == null ? "(missing)" : Escape.bytes(e.getValue(), 300)))
          .collect(Collectors.joining("\n"));
    }
  }

  @Test
  void snapshotReaderNeverThrowsAndAgreesWithTheParser() {
    Fuzz.run("cgroup.snapshot", random -> {
      Mutator mutator = new Mutator(random, DICTIONARY, BUFFER_BYTES);
      int version = random.nextBoolean() ? 1 : 2;
      Map<String, byte[]> files = new LinkedHashMap<>();
      for (String name : version == 1 ? V1_FILES : V2_FILES) {
        List<byte[]> seeds = BY_NAME.get(name);
        byte[] seed = seeds.get(random.nextInt(seeds.size()));
        int roll = random.nextInt(20);
        files.put(name, roll == 0 ? null : roll < 8 ? seed : mutator.mutate(seed, ALL));
      }
      return new DirectoryCase(version, files);
    }, DirectoryCase::toString, c -> 1, this::checkDirectory);
  }

  private void checkDirectory(DirectoryCase c) throws Throwable {
    Path cgroup = dir.resolve("v" + c.version());
    Files.createDirectories(cgroup);
    for (Map.Entry<String, byte[]> file : c.files().entrySet()) {
      Path path = cgroup.resolve(file.getKey());
      if (file.getValue() == null) {
        Files.deleteIfExists(path);
      } else {
        Files.write(path, file.getValue());
      }
    }
    Object reader = NEW_READER.invoke(NEW_COUNTERS.invoke());
    @SuppressWarnings("unchecked")
    Optional<CgroupMemorySnapshot> read = (Optional<CgroupMemorySnapshot>) READ.invoke(reader, cgroup, "/kubepods/pod",
        c.version(), Instant.EPOCH);
    boolean v1 = c.version() == 1;
    boolean pollFilesPresent = c.files().get(v1 ? "memory.limit_in_bytes" : "memory.max") != null
        && c.files().get(v1 ? "memory.usage_in_bytes" : "memory.current") != null
        && (!v1 || c.files().get("memory.failcnt") != null)
        && c.files().get(v1 ? "memory.oom_control" : "memory.events") != null;
    assertEquals(pollFilesPresent, read.isPresent(), "a cgroup read as gone (or not) against its files");
    if (read.isEmpty()) {
      return;
    }
    CgroupMemorySnapshot s = read.get();
    assertEquals(c.version(), s.version());
    assertTrue(s.usageBytes() >= 0, "negative usage");
    for (OptionalLong value : List.of(s.limitBytes(), s.peakBytes(), s.failcnt(), s.oomKill(), s.eventsMax(),
        s.eventsOom(), s.oomGroupKill())) {
      assertTrue(value.isEmpty() || value.getAsLong() >= 0, "negative value in " + s);
    }
    assertTrue(s.limitBytes().isEmpty() || s.limitBytes().getAsLong() != UNLIMITED, "unlimited given as a limit");
    assertTrue(s.pressureSomeAvg10().isEmpty() || Double.isFinite(s.pressureSomeAvg10().getAsDouble()));
    if (v1) {
      assertTrue(s.eventsMax().isEmpty() && s.eventsOom().isEmpty() && s.oomGroupKill().isEmpty()
          && s.pressureSomeAvg10().isEmpty(), "v2 values in a v1 snapshot");
    } else {
      assertTrue(s.failcnt().isEmpty(), "failcnt in a v2 snapshot");
    }
    // what the reader made of each file is what the parser makes of its first BUFFER_BYTES bytes
    long limit = (long) PARSE_LIMIT.invoke(head(c, v1 ? "memory.limit_in_bytes" : "memory.max"), 0,
        head(c, v1 ? "memory.limit_in_bytes" : "memory.max").length);
    assertEquals(limit >= 0 && limit != UNLIMITED ? OptionalLong.of(limit) : OptionalLong.empty(), s.limitBytes(),
        "limit");
    byte[] usage = head(c, v1 ? "memory.usage_in_bytes" : "memory.current");
    assertEquals(Math.max(0, (long) PARSE_COUNTER.invoke(usage, 0, usage.length)), s.usageBytes(), "usage");
    byte[] events = head(c, v1 ? "memory.oom_control" : "memory.events");
    long[] keyed = new long[v1 ? OOM_CONTROL_KEYS.length : EVENTS_KEYS.length];
    int ignored = (int) PARSE_KEYED.invoke(events, 0, events.length, v1 ? OOM_CONTROL_KEYS : EVENTS_KEYS, keyed);
    long oomKill = keyed[v1 ? 2 : 4];
    assertEquals(oomKill >= 0 ? OptionalLong.of(oomKill) : OptionalLong.empty(), s.oomKill(), "oom_kill");
  }

  private static byte[] head(DirectoryCase c, String name) {
    byte[] content = c.files().get(name);
    return content.length <= BUFFER_BYTES ? content : Arrays.copyOf(content, BUFFER_BYTES);
  }
}
