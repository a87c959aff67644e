package dev.oomwatch.source.cgroup;

import static java.nio.charset.StandardCharsets.ISO_8859_1;

import java.util.OptionalDouble;

/**
 * Parses the contents of the memory cgroup files the cgroup source reads, as the kernel prints them:
 *
 * <ul>
 *   <li>single values: v1 {@code memory.limit_in_bytes}, {@code memory.usage_in_bytes},
 *       {@code memory.max_usage_in_bytes}, {@code memory.failcnt}; v2 {@code memory.max} ({@code max}
 *       when unlimited), {@code memory.current}, {@code memory.peak};
 *   <li>flat keyed files, one {@code key value} a line: v1 {@code memory.oom_control}
 *       ({@link #OOM_CONTROL_KEYS}), v2 {@code memory.events} ({@link #EVENTS_KEYS});
 *   <li>v2 {@code memory.pressure}: {@code some avg10=0.00 avg60=0.00 avg300=0.00 total=9911}.
 * </ul>
 *
 * <p>Never throws: anything that is not a well-formed value (empty or truncated contents, a negative or
 * overflowing number, garbage) gives {@link #INVALID}, or is counted as a malformed line. Unknown keys
 * in a keyed file are skipped without complaint: kernels add keys. Works on a byte range without
 * regular expressions or allocation, since the source parses a few files of every pod every poll.
 * Stateless and thread-safe.
 */
final class MemoryFileParser {

  /** A value that did not parse. */
  static final long INVALID = -1;
  /** A limit that does not limit: v2 {@code max}, or v1's "no limit" value. */
  static final long UNLIMITED = Long.MAX_VALUE;
  /**
   * v1 prints "no limit" as the largest page-aligned long ({@code 9223372036854771712} with 4 KiB
   * pages, less with bigger pages); any limit from 4 EiB up is taken as that, since no machine has it.
   */
  static final long V1_UNLIMITED_FROM = 1L << 62;

  /** {@code memory.oom_control} keys, in the order of the output array of {@link #parseKeyed}. */
  static final byte[][] OOM_CONTROL_KEYS = keys("oom_kill_disable", "under_oom", "oom_kill");
  static final int OOM_CONTROL_DISABLE = 0;
  static final int OOM_CONTROL_UNDER_OOM = 1;
  static final int OOM_CONTROL_OOM_KILL = 2;

  /** {@code memory.events} keys, in the order of the output array of {@link #parseKeyed}. */
  static final byte[][] EVENTS_KEYS = keys("low", "high", "max", "oom", "oom_kill", "oom_group_kill");
  static final int EVENTS_LOW = 0;
  static final int EVENTS_HIGH = 1;
  static final int EVENTS_MAX = 2;
  static final int EVENTS_OOM = 3;
  static final int EVENTS_OOM_KILL = 4;
  static final int EVENTS_OOM_GROUP_KILL = 5;

  private static final byte[] MAX = "max".getBytes(ISO_8859_1);
  private static final byte[] SOME = "some".getBytes(ISO_8859_1);
  private static final byte[] AVG10 = "avg10=".getBytes(ISO_8859_1);
  private static final int MAX_FRACTION_DIGITS = 9;

  private MemoryFileParser() {}

  /**
   * A memory limit ({@code memory.limit_in_bytes}, {@code memory.max}) in bytes; {@link #UNLIMITED}
   * for {@code max} or v1's "no limit"; {@link #INVALID} for anything else.
   */
  static long parseLimit(byte[] bytes, int offset, int length) {
    if (!inBounds(bytes, offset, length)) {
      return INVALID;
    }
    int from = skipSpace(bytes, offset, offset + length);
    int to = trimSpace(bytes, from, offset + length);
    if (equalsAt(bytes, from, to, MAX)) {
      return UNLIMITED;
    }
    long value = parseDecimal(bytes, from, to);
    return value >= V1_UNLIMITED_FROM ? UNLIMITED : value;
  }

  /** A byte count or event count printed alone on a line; {@link #INVALID} if it is not one. */
  static long parseCounter(byte[] bytes, int offset, int length) {
    if (!inBounds(bytes, offset, length)) {
      return INVALID;
    }
    int from = skipSpace(bytes, offset, offset + length);
    return parseDecimal(bytes, from, trimSpace(bytes, from, offset + length));
  }

  /**
   * Parses a flat keyed file, {@code key value} a line, into {@code values}: {@code values[i]} is the
   * value of {@code keys[i]}, or {@link #INVALID} when the key is missing or its value did not parse.
   * A key given twice keeps its last value.
   *
   * @return how many lines were malformed: a line without a value, or a known key with a bad value
   */
  static int parseKeyed(byte[] bytes, int offset, int length, byte[][] keys, long[] values) {
    for (int i = 0; i < keys.length; i++) {
      values[i] = INVALID;
    }
    if (!inBounds(bytes, offset, length)) {
      return 1;
    }
    int malformed = 0;
    int end = offset + length;
    int lineStart = offset;
    while (lineStart < end) {
      int lineEnd = indexOf(bytes, lineStart, end, (byte) '\n');
      if (lineEnd < 0) {
        lineEnd = end;
      }
      int keyStart = skipSpace(bytes, lineStart, lineEnd);
      if (keyStart < lineEnd) {
        int keyEnd = indexOfSpace(bytes, keyStart, lineEnd);
        if (keyEnd < 0) {
          malformed++;
        } else {
          int key = keyIndex(bytes, keyStart, keyEnd, keys);
          if (key >= 0) {
            int valueStart = skipSpace(bytes, keyEnd, lineEnd);
            long value = parseDecimal(bytes, valueStart, trimSpace(bytes, valueStart, lineEnd));
            values[key] = value;
            if (value == INVALID) {
              malformed++;
            }
          }
        }
      }
      lineStart = lineEnd + 1;
    }
    return malformed;
  }

  /**
   * The {@code avg10} of the {@code some} line of {@code memory.pressure}: the share of the last 10 s,
   * in percent, in which some task stalled on memory. Empty when there is no such well-formed field.
   */
  static OptionalDouble parsePressureSomeAvg10(byte[] bytes, int offset, int length) {
    if (!inBounds(bytes, offset, length)) {
      return OptionalDouble.empty();
    }
    int end = offset + length;
    int lineStart = offset;
    while (lineStart < end) {
      int lineEnd = indexOf(bytes, lineStart, end, (byte) '\n');
      if (lineEnd < 0) {
        lineEnd = end;
      }
      int wordEnd = indexOfSpace(bytes, lineStart, lineEnd);
      if (wordEnd >= 0 && equalsAt(bytes, lineStart, wordEnd, SOME)) {
        return avg10(bytes, wordEnd, lineEnd);
      }
      lineStart = lineEnd + 1;
    }
    return OptionalDouble.empty();
  }

  // String forms, for tests and one-off callers.

  static long parseLimit(String text) {
    byte[] bytes = text.getBytes(ISO_8859_1);
    return parseLimit(bytes, 0, bytes.length);
  }

  static long parseCounter(String text) {
    byte[] bytes = text.getBytes(ISO_8859_1);
    return parseCounter(bytes, 0, bytes.length);
  }

  static int parseKeyed(String text, byte[][] keys, long[] values) {
    byte[] bytes = text.getBytes(ISO_8859_1);
    return parseKeyed(bytes, 0, bytes.length, keys, values);
  }

  static OptionalDouble parsePressureSomeAvg10(String text) {
    byte[] bytes = text.getBytes(ISO_8859_1);
    return parsePressureSomeAvg10(bytes, 0, bytes.length);
  }

  private static OptionalDouble avg10(byte[] bytes, int from, int lineEnd) {
    int at = from;
    while (at < lineEnd) {
      int fieldStart = skipSpace(bytes, at, lineEnd);
      int fieldEnd = indexOfSpace(bytes, fieldStart, lineEnd);
      if (fieldEnd < 0) {
        fieldEnd = lineEnd;
      }
      if (fieldEnd - fieldStart > AVG10.length
          && equalsAt(bytes, fieldStart, fieldStart + AVG10.length, AVG10)) {
        return parseFixedPoint(bytes, fieldStart + AVG10.length, fieldEnd);
      }
      at = fieldEnd + 1;
    }
    return OptionalDouble.empty();
  }

  /** {@code 12.34}: unsigned digits with an optional fraction of up to nine digits. */
  private static OptionalDouble parseFixedPoint(byte[] bytes, int from, int to) {
    int dot = indexOf(bytes, from, to, (byte) '.');
    int integerEnd = dot < 0 ? to : dot;
    long integer = parseDecimal(bytes, from, integerEnd);
    if (integer == INVALID) {
      return OptionalDouble.empty();
    }
    if (dot < 0) {
      return OptionalDouble.of(integer);
    }
    int fractionDigits = to - dot - 1;
    if (fractionDigits > MAX_FRACTION_DIGITS) {
      return OptionalDouble.empty();
    }
    long fraction = fractionDigits == 0 ? 0 : parseDecimal(bytes, dot + 1, to);
    if (fraction == INVALID) {
      return OptionalDouble.empty();
    }
    return OptionalDouble.of(integer + fraction / Math.pow(10, fractionDigits));
  }

  private static int keyIndex(byte[] bytes, int from, int to, byte[][] keys) {
    for (int i = 0; i < keys.length; i++) {
      if (equalsAt(bytes, from, to, keys[i])) {
        return i;
      }
    }
    return -1;
  }

  private static boolean equalsAt(byte[] bytes, int from, int to, byte[] expected) {
    if (to - from != expected.length) {
      return false;
    }
    for (int i = 0; i < expected.length; i++) {
      if (bytes[from + i] != expected[i]) {
        return false;
      }
    }
    return true;
  }

  /** The unsigned decimal in {@code bytes[from, to)}, or {@link #INVALID} if empty, not all digits, or over a long. */
  private static long parseDecimal(byte[] bytes, int from, int to) {
    if (from >= to) {
      return INVALID;
    }
    long value = 0;
    for (int i = from; i < to; i++) {
      int digit = bytes[i] - '0';
      if (digit < 0 || digit > 9 || value > (Long.MAX_VALUE - digit) / 10) {
        return INVALID;
      }
      value = value * 10 + digit;
    }
    return value;
  }

  private static int indexOf(byte[] bytes, int from, int to, byte wanted) {
    for (int i = from; i < to; i++) {
      if (bytes[i] == wanted) {
        return i;
      }
    }
    return -1;
  }

  private static int indexOfSpace(byte[] bytes, int from, int to) {
    for (int i = from; i < to; i++) {
      if (isSpace(bytes[i])) {
        return i;
      }
    }
    return -1;
  }

  private static int skipSpace(byte[] bytes, int from, int to) {
    int i = from;
    while (i < to && isSpace(bytes[i])) {
      i++;
    }
    return i;
  }

  private static int trimSpace(byte[] bytes, int from, int to) {
    int i = to;
    while (i > from && isSpace(bytes[i - 1])) {
      i--;
    }
    return i;
  }

  private static boolean isSpace(byte b) {
    return b == ' ' || b == '\t' || b == '\n' || b == '\r';
  }

  private static boolean inBounds(byte[] bytes, int offset, int length) {
    return bytes != null && offset >= 0 && length >= 0 && offset <= bytes.length - length;
  }

  private static byte[][] keys(String... names) {
    byte[][] keys = new byte[names.length][];
    for (int i = 0; i < names.length; i++) {
      keys[i] = names[i].getBytes(ISO_8859_1);
    }
    return keys;
  }
}
