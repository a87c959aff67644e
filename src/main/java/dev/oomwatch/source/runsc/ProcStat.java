package dev.oomwatch.source.runsc;

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

  /** Whether the process has exited (a zombie waits only for its parent to reap it). */
  boolean exited() {
    return state == 'Z' || state == 'X' || state == 'x';
  }

  /** Parses the one line of {@code /proc/<pid>/stat}; empty for anything else. Never throws. */
  static Optional<ProcStat> parse(String line) {
    if (line == null || line.length() > 4096) {
      return Optional.empty();
    }
    int open = line.indexOf(" (");
    int close = line.lastIndexOf(") ");
    if (open <= 0 || close < open) {
      return Optional.empty();
    }
    long pid = unsigned(line.substring(0, open));
    String[] after = line.substring(close + 2).strip().split(" ");
    if (pid <= 0 || after.length <= START_TIME_AFTER_COMM || after[0].length() != 1) {
      return Optional.empty();
    }
    long startTime = unsigned(after[START_TIME_AFTER_COMM]);
    if (startTime < 0) {
      return Optional.empty();
    }
    String comm = line.substring(open + 2, close);
    return Optional.of(new ProcStat(pid, comm, after[0].charAt(0), startTime));
  }

  /** The unsigned decimal, or -1 if it is not one or does not fit a long. */
  private static long unsigned(String digits) {
    if (digits.isEmpty() || digits.length() > 19) {
      return -1;
    }
    long value = 0;
    for (int i = 0; i < digits.length(); i++) {
      int digit = digits.charAt(i) - '0';
      if (digit < 0 || digit > 9 || value > (Long.MAX_VALUE - digit) / 10) {
        return -1;
      }
      value = value * 10 + digit;
    }
    return value;
  }
}
