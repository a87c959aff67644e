package dev.oomwatch.source.runsc;

import static java.nio.charset.StandardCharsets.ISO_8859_1;

import java.util.Optional;

/**
 * The fields of {@code /proc/<pid>/stat} needed to tell whether a process still runs and whether it is
 * still the same process (see proc(5)). Immutable.
 *
 * @param pid       field 1
 * @param comm      field 2, without its parentheses (may itself hold spaces and parentheses)
 * @param state     field 3: {@code R}, {@code S}, {@code D}, ..., {@code Z} (zombie), {@code X} (dead)
 * @param startTime field 22, in clock ticks after boot; a reused pid has a later one
 */
record ProcStat(long pid, String comm, char state, long startTime) {

  private static final int START_TIME_AFTER_COMM = 22 - 3;
  /** Longer than any stat line (52 numbers and a 64-byte comm): not one. */
  private static final int MAX_LINE = 4096;

  /** Whether the process has exited (a zombie waits only for its parent to reap it). */
  boolean exited() {
    return state == 'Z' || state == 'X' || state == 'x';
  }

  /** Parses the one line of {@code /proc/<pid>/stat}; empty for anything else. Never throws. */
  static Optional<ProcStat> parse(String line) {
    if (line == null || line.length() > MAX_LINE) {
      return Optional.empty();
    }
    // the file is bytes; a char beyond ISO-8859-1 cannot have come from it
    if (!line.chars().allMatch(c -> c <= 0xFF)) {
      return Optional.empty();
    }
    byte[] bytes = line.getBytes(ISO_8859_1);
    return parse(bytes, bytes.length);
  }

  /**
   * Parses the first {@code length} bytes of {@code line} as {@code /proc/<pid>/stat}, without making
   * strings of its fields (the sentry of every sandbox is probed every second); empty for anything else.
   * Surrounding white space is ignored; fields after comm are separated by single spaces. Never throws.
   */
  static Optional<ProcStat> parse(byte[] line, int length) {
    if (line == null || length < 0 || length > MAX_LINE || length > line.length) {
      return Optional.empty();
    }
    int from = 0;
    int to = length;
    while (from < to && isWhitespace(line[from])) {
      from++;
    }
    while (to > from && isWhitespace(line[to - 1])) {
      to--;
    }
    int open = indexOf(line, from, to, (byte) ' ', (byte) '(');
    int close = lastIndexOf(line, from, to, (byte) ')', (byte) ' ');
    if (open <= from || close < open) {
      return Optional.empty();
    }
    long pid = unsigned(line, from, open);
    int after = close + 2;
    while (after < to && isWhitespace(line[after])) {
      after++;
    }
    char state = 0;
    long startTime = -1;
    int field = 0;
    int fieldStart = after;
    for (int i = after; i <= to; i++) {
      if (i < to && line[i] != ' ') {
        continue;
      }
      if (field == 0) {
        if (i - fieldStart != 1) {
          return Optional.empty();
        }
        state = (char) (line[fieldStart] & 0xFF);
      } else if (field == START_TIME_AFTER_COMM) {
        startTime = unsigned(line, fieldStart, i);
      }
      field++;
      fieldStart = i + 1;
    }
    if (pid <= 0 || field <= START_TIME_AFTER_COMM || startTime < 0) {
      return Optional.empty();
    }
    String comm = new String(line, open + 2, close - open - 2, ISO_8859_1);
    return Optional.of(new ProcStat(pid, comm, state, startTime));
  }

  private static boolean isWhitespace(byte b) {
    return Character.isWhitespace((char) (b & 0xFF));
  }

  /** The first index of the pair {@code a b} in {@code [from, to)}, or -1. */
  private static int indexOf(byte[] bytes, int from, int to, byte a, byte b) {
    for (int i = from; i + 1 < to; i++) {
      if (bytes[i] == a && bytes[i + 1] == b) {
        return i;
      }
    }
    return -1;
  }

  /** The last index of the pair {@code a b} in {@code [from, to)}, or -1. */
  private static int lastIndexOf(byte[] bytes, int from, int to, byte a, byte b) {
    for (int i = to - 2; i >= from; i--) {
      if (bytes[i] == a && bytes[i + 1] == b) {
        return i;
      }
    }
    return -1;
  }

  /** The unsigned decimal in {@code [from, to)}, or -1 if it is not one or does not fit a long. */
  private static long unsigned(byte[] digits, int from, int to) {
    if (to <= from || to - from > 19) {
      return -1;
    }
    long value = 0;
    for (int i = from; i < to; i++) {
      int digit = digits[i] - '0';
      if (digit < 0 || digit > 9 || value > (Long.MAX_VALUE - digit) / 10) {
        return -1;
      }
      value = value * 10 + digit;
    }
    return value;
  }
}
