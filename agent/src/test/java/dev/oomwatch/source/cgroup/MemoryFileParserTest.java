package dev.oomwatch.source.cgroup;

import static dev.oomwatch.source.cgroup.CgroupFixtures.V1;
import static dev.oomwatch.source.cgroup.CgroupFixtures.V2;
import static dev.oomwatch.source.cgroup.MemoryFileParser.EVENTS_KEYS;
import static dev.oomwatch.source.cgroup.MemoryFileParser.INVALID;
import static dev.oomwatch.source.cgroup.MemoryFileParser.OOM_CONTROL_KEYS;
import static dev.oomwatch.source.cgroup.MemoryFileParser.UNLIMITED;
import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link MemoryFileParser} on the real captures, and on what a file can hold when things go wrong. */
class MemoryFileParserTest {

  private static final String BURSTABLE = V2 + "/cgroupfs-burstable/";
  private static final String POD_V2 = "/kubepods/burstable/podc9611c80-7e7e-4c28-a30f-6ca723600e4a/";
  private static final String SANDBOX_V2 = POD_V2 + "aaaa1111bbbb2222/";

  static Stream<Arguments> realLimits() {
    return Stream.of(
        Arguments.of(V1 + "/cgroup-running/pod/memory.limit_in_bytes", 67108864L),
        Arguments.of(V1 + "/cgroup-running/sandbox/memory.limit_in_bytes", UNLIMITED),
        Arguments.of(BURSTABLE + "running" + POD_V2 + "memory.max", 67108864L),
        Arguments.of(BURSTABLE + "running" + SANDBOX_V2 + "memory.max", UNLIMITED));
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @MethodSource("realLimits")
  void parsesRealLimits(String file, long expected) {
    assertEquals(expected, MemoryFileParser.parseLimit(CgroupFixtures.text(file)));
  }

  static Stream<Arguments> realCounters() {
    return Stream.of(
        Arguments.of(V1 + "/cgroup-running/pod/memory.usage_in_bytes", 13463552L),
        Arguments.of(V1 + "/cgroup-running/pod/memory.max_usage_in_bytes", 38334464L),
        Arguments.of(V1 + "/cgroup-running/pod/memory.failcnt", 0L),
        Arguments.of(V1 + "/cgroup-after-oom/pod/memory.failcnt", 108L),
        Arguments.of(V1 + "/cgroup-after-oom/pod/memory.max_usage_in_bytes", 67108864L),
        Arguments.of(BURSTABLE + "running" + POD_V2 + "memory.current", 16572416L),
        Arguments.of(BURSTABLE + "after-kill" + POD_V2 + "memory.peak", 67108864L));
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @MethodSource("realCounters")
  void parsesRealCounters(String file, long expected) {
    assertEquals(expected, MemoryFileParser.parseCounter(CgroupFixtures.text(file)));
  }

  @ParameterizedTest(name = "[{index}] \"{0}\" -> {1}")
  @CsvSource(delimiter = '|', nullValues = "NONE", value = {
      "67108864\\n | 67108864",
      "0\\n | 0",
      "' 4096 \\n' | 4096",
      "4096\\r\\n | 4096",
      // no newline: a truncated read still gives the digits it has
      "6710 | 6710",
      // "no limit" on v1 with 4 KiB, 16 KiB and 64 KiB pages
      "9223372036854771712\\n | 9223372036854775807",
      "9223372036854759424\\n | 9223372036854775807",
      "9223372036854710272\\n | 9223372036854775807",
      "max\\n | 9223372036854775807",
      "max | 9223372036854775807",
      // garbage
      "'' | -1",
      "'\\n' | -1",
      "-1\\n | -1",
      "9223372036854775808\\n | -1",
      "18446744073709551615\\n | -1",
      "MAX\\n | -1",
      "maximum\\n | -1",
      "64M\\n | -1",
      "1 2\\n | -1",
      "0x40\\n | -1",
  })
  void parsesLimits(String text, long expected) {
    assertEquals(expected, MemoryFileParser.parseLimit(unescape(text)));
  }

  @ParameterizedTest(name = "[{index}] \"{0}\" -> {1}")
  @CsvSource(delimiter = '|', value = {
      "13463552\\n | 13463552",
      "0\\n | 0",
      "9223372036854775807\\n | 9223372036854775807",
      "9223372036854775808\\n | -1",
      "-5\\n | -1",
      "max\\n | -1",
      "'' | -1",
      "12ab\\n | -1",
      "'\\t\\n' | -1",
  })
  void parsesCounters(String text, long expected) {
    assertEquals(expected, MemoryFileParser.parseCounter(unescape(text)));
  }

  static Stream<Arguments> realKeyedFiles() {
    return Stream.of(
        Arguments.of(V1 + "/cgroup-running/sandbox/memory.oom_control", OOM_CONTROL_KEYS, new long[] {0, 0, 0}),
        Arguments.of(V1 + "/cgroup-after-oom/pod/memory.oom_control", OOM_CONTROL_KEYS, new long[] {0, 0, 0}),
        Arguments.of(BURSTABLE + "running" + POD_V2 + "memory.events", EVENTS_KEYS, new long[] {0, 0, 0, 0, 0, 0}),
        Arguments.of(BURSTABLE + "after-kill" + POD_V2 + "memory.events", EVENTS_KEYS, new long[] {0, 0, 22, 1, 1, 0}),
        Arguments.of(BURSTABLE + "after-kill" + POD_V2 + "memory.events.local", EVENTS_KEYS,
            new long[] {0, 0, 22, 1, 0, 0}),
        Arguments.of(BURSTABLE + "after-kill" + SANDBOX_V2 + "memory.events", EVENTS_KEYS, new long[] {0, 0, 0, 0, 1, 0}),
        Arguments.of(BURSTABLE + "after-delete" + POD_V2 + "memory.events", EVENTS_KEYS, new long[] {0, 0, 22, 1, 1, 0}));
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @MethodSource("realKeyedFiles")
  void parsesRealKeyedFiles(String file, byte[][] keys, long[] expected) {
    long[] values = new long[keys.length];
    assertEquals(0, MemoryFileParser.parseKeyed(CgroupFixtures.text(file), keys, values));
    assertArrayEquals(expected, values);
  }

  static Stream<Arguments> keyedGarbage() {
    return Stream.of(
        // a read cut short: the last line has no value
        Arguments.of("oom_kill_disable 0\nunder_oom 0\noom_ki", new long[] {0, 0, INVALID}, 1),
        Arguments.of("oom_kill_disable 0\nunder_oom 0\noom_kill", new long[] {0, 0, INVALID}, 1),
        // a cut-short number is still a number
        Arguments.of("oom_kill_disable 0\nunder_oom 0\noom_kill 1", new long[] {0, 0, 1}, 0),
        // keys that are unknown (newer kernels) are skipped without counting
        Arguments.of("oom_kill_disable 0\nunder_oom 1\noom_kill 3\nsomething_new 42\n", new long[] {0, 1, 3}, 0),
        Arguments.of("oom_kill_disable 0\nsomething_new many\noom_kill 3\n", new long[] {0, INVALID, 3}, 0),
        // bad values of known keys
        Arguments.of("oom_kill -1\n", new long[] {INVALID, INVALID, INVALID}, 1),
        Arguments.of("oom_kill 99999999999999999999\n", new long[] {INVALID, INVALID, INVALID}, 1),
        Arguments.of("oom_kill 1 2\n", new long[] {INVALID, INVALID, INVALID}, 1),
        // a key must match whole, not as a prefix of another
        Arguments.of("oom_kill_disable 1\n", new long[] {1, INVALID, INVALID}, 0),
        Arguments.of("oom 5\noom_killed 6\n", new long[] {INVALID, INVALID, INVALID}, 0),
        // the last of a repeated key wins; blank lines, CRLF, tabs and extra spaces are fine
        Arguments.of("oom_kill 1\n\n  oom_kill\t2\r\n", new long[] {INVALID, INVALID, 2}, 0),
        Arguments.of("", new long[] {INVALID, INVALID, INVALID}, 0),
        Arguments.of("\u0000\u00ff\u0001garbage", new long[] {INVALID, INVALID, INVALID}, 1));
  }

  @ParameterizedTest(name = "[{index}] {0}")
  @MethodSource("keyedGarbage")
  void parsesKeyedGarbage(String text, long[] expected, int malformed) {
    long[] values = new long[OOM_CONTROL_KEYS.length];
    assertEquals(malformed, MemoryFileParser.parseKeyed(text, OOM_CONTROL_KEYS, values));
    assertArrayEquals(expected, values);
  }

  @Test
  void parsesTheRealPressureFiles() {
    assertEquals(OptionalDouble.of(0.0), MemoryFileParser.parsePressureSomeAvg10(
        CgroupFixtures.text(BURSTABLE + "after-kill" + POD_V2 + "memory.pressure")));
    assertEquals(OptionalDouble.of(0.0), MemoryFileParser.parsePressureSomeAvg10(
        CgroupFixtures.text(BURSTABLE + "running" + SANDBOX_V2 + "memory.pressure")));
  }

  @ParameterizedTest(name = "[{index}] \"{0}\"")
  @CsvSource(delimiter = '|', nullValues = "NONE", value = {
      "some avg10=12.34 avg60=1.00 avg300=0.10 total=9911\\nfull avg10=3.00 avg60=0.00 avg300=0.00 total=8738\\n | 12.34",
      "full avg10=3.00 avg60=0.00 avg300=0.00 total=8738\\nsome avg10=0.50 avg60=0.00 avg300=0.00 total=1\\n | 0.5",
      "some total=5 avg10=7 | 7.0",
      "some avg10=100.00 | 100.0",
      "full avg10=3.00 avg60=0.00 avg300=0.00 total=8738\\n | NONE",
      "some avg10= avg60=0.00 | NONE",
      "some avg10=abc | NONE",
      "some avg10=-1.00 | NONE",
      "some avg10=1.2.3 | NONE",
      "some avg10=0.1234567890 | NONE",
      "somewhere avg10=1.00 | NONE",
      "'' | NONE",
      "some | NONE",
  })
  void parsesPressure(String text, Double expected) {
    OptionalDouble avg10 = MemoryFileParser.parsePressureSomeAvg10(unescape(text));
    assertEquals(expected == null ? OptionalDouble.empty() : OptionalDouble.of(expected), avg10);
  }

  @Test
  void rejectsRangesOutsideTheArray() {
    byte[] bytes = "42\n".getBytes(ISO_8859_1);
    long[] values = new long[OOM_CONTROL_KEYS.length];
    assertEquals(INVALID, MemoryFileParser.parseCounter(bytes, 2, 5));
    assertEquals(INVALID, MemoryFileParser.parseLimit(bytes, -1, 2));
    assertEquals(INVALID, MemoryFileParser.parseLimit(null, 0, 0));
    assertEquals(1, MemoryFileParser.parseKeyed(bytes, 0, 9, OOM_CONTROL_KEYS, values));
    assertEquals(OptionalDouble.empty(), MemoryFileParser.parsePressureSomeAvg10(bytes, 3, 1));
    assertEquals(42, MemoryFileParser.parseCounter(bytes, 0, 2));
  }

  /** Every captured memory file, cut and mutated at random: nothing throws. Seeded for replay. */
  @Test
  void mutatedCapturesNeverThrow() throws Exception {
    List<byte[]> captures = new ArrayList<>();
    try (Stream<Path> files = Files.walk(CgroupFixtures.resource(""))) {
      for (Path file : files.filter(Files::isRegularFile).toList()) {
        captures.add(Files.readAllBytes(file));
      }
    }
    byte[] interesting = " \n-=.0123456789maxoom_kill".getBytes(ISO_8859_1);
    long[] values = new long[EVENTS_KEYS.length];
    for (long seed = 1; seed <= 20; seed++) {
      Random random = new Random(seed);
      for (byte[] capture : captures) {
        byte[] input = capture.clone();
        for (int i = random.nextInt(4); i > 0 && input.length > 0; i--) {
          input[random.nextInt(input.length)] = random.nextBoolean()
              ? interesting[random.nextInt(interesting.length)]
              : (byte) random.nextInt(256);
        }
        int length = input.length == 0 ? 0 : random.nextInt(input.length + 1);
        MemoryFileParser.parseLimit(input, 0, length);
        MemoryFileParser.parseCounter(input, 0, length);
        MemoryFileParser.parseKeyed(input, 0, length, EVENTS_KEYS, values);
        MemoryFileParser.parseKeyed(input, 0, length, OOM_CONTROL_KEYS, values);
        MemoryFileParser.parsePressureSomeAvg10(input, 0, length);
      }
    }
  }

  /** CSV rows spell control characters as {@code \\n}, {@code \\r}, {@code \\t}. */
  private static String unescape(String text) {
    return text.replace("\\n", "\n").replace("\\r", "\r").replace("\\t", "\t");
  }
}
