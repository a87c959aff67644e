package dev.oomwatch.source.kmsg;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Reads the kernel's OOM report lines ({@code mm/oom_kill.c}, {@code mm/memcontrol.c}): the report's
 * start, the memcg's {@code memory: usage} line, the {@code oom-kill:} summary and the
 * {@code Killed process} line. Never throws; a line that does not parse gives an empty result.
 * Stateless and thread-safe.
 */
final class OomReportText {

  static final String SUMMARY_PREFIX = "oom-kill:";
  private static final String REPORT_START = " invoked oom-killer: ";
  private static final String MEMORY_PREFIX = "memory: usage ";
  private static final String LIMIT_LABEL = ", limit ";
  private static final String KILLED_LABEL = "Killed process ";
  private static final String ANON_RSS_LABEL = "anon-rss:";
  private static final String GLOBAL_OOM_FLAG = "global_oom";

  private OomReportText() {}

  /** {@code <comm> invoked oom-killer: gfp_mask=...}: the first line of every OOM report. */
  static boolean startsReport(String text) {
    return text.contains(REPORT_START);
  }

  /** Whether the line claims to be an {@code oom-kill:} summary, parseable or not. */
  static boolean looksLikeSummary(String text) {
    return text.startsWith(SUMMARY_PREFIX);
  }

  /** The limit in {@code memory: usage 65536kB, limit 65536kB, failcnt 40}, in bytes. */
  static OptionalLong memoryLimitBytes(String text) {
    if (!text.startsWith(MEMORY_PREFIX)) {
      return OptionalLong.empty();
    }
    return kibibytesAfter(text, LIMIT_LABEL, MEMORY_PREFIX.length());
  }

  /**
   * Parses {@code oom-kill:constraint=...,oom_memcg=...,task_memcg=...,task=exe,pid=7932,uid=65534}.
   * Keys may come in any order and unknown keys are ignored. A comma-separated piece that is neither
   * {@code key=value} nor the bare {@code global_oom} flag continues the previous value: node lists
   * ({@code mems_allowed=0,2}) and, rarely, cgroup paths or task names contain commas.
   */
  static Optional<OomSummary> parseSummary(String text) {
    if (!looksLikeSummary(text)) {
      return Optional.empty();
    }
    Map<String, String> fields = new HashMap<>();
    String lastKey = null;
    for (String piece : text.substring(SUMMARY_PREFIX.length()).split(",", -1)) {
      int equals = piece.indexOf('=');
      if (equals > 0 && isKeyName(piece, equals)) {
        lastKey = piece.substring(0, equals);
        if (fields.putIfAbsent(lastKey, piece.substring(equals + 1)) != null) {
          return Optional.empty();
        }
      } else if (piece.equals(GLOBAL_OOM_FLAG)) {
        lastKey = null;
      } else if (lastKey != null) {
        fields.merge(lastKey, "," + piece, String::concat);
      } else {
        return Optional.empty();
      }
    }
    String constraint = fields.get("constraint");
    String taskMemcg = fields.get("task_memcg");
    String task = fields.get("task");
    String oomMemcg = fields.get("oom_memcg");
    long pid = parseDigits(fields.get("pid"));
    long uid = parseSignedInt(fields.get("uid"));
    if (isBlank(constraint) || isBlank(taskMemcg) || task == null || pid <= 0
        || pid > Integer.MAX_VALUE || uid == Long.MIN_VALUE
        || (oomMemcg != null && oomMemcg.isEmpty())) {
      return Optional.empty();
    }
    return Optional.of(new OomSummary(
        constraint, Optional.ofNullable(oomMemcg), taskMemcg, task, (int) pid, (int) uid));
  }

  /**
   * Parses {@code Memory cgroup out of memory: Killed process 7932 (exe) total-vm:1790264kB,
   * anon-rss:5376kB, ...} and the node-wide {@code Out of memory: Killed process ...}.
   */
  static Optional<KilledProcess> parseKilledProcess(String text) {
    int label = text.indexOf(KILLED_LABEL);
    if (label < 0) {
      return Optional.empty();
    }
    int pidStart = label + KILLED_LABEL.length();
    int pidEnd = digitsEnd(text, pidStart);
    long pid = parseDigits(text, pidStart, pidEnd);
    if (pid <= 0 || pid > Integer.MAX_VALUE) {
      return Optional.empty();
    }
    return Optional.of(new KilledProcess((int) pid, kibibytesAfter(text, ANON_RSS_LABEL, pidEnd)));
  }

  /** The number of bytes in {@code <label><digits>kB}, searching from {@code from}. */
  private static OptionalLong kibibytesAfter(String text, String label, int from) {
    int at = text.indexOf(label, from);
    if (at < 0) {
      return OptionalLong.empty();
    }
    int start = at + label.length();
    int end = digitsEnd(text, start);
    long kib = parseDigits(text, start, end);
    if (kib < 0 || !text.startsWith("kB", end) || kib > Long.MAX_VALUE / 1024) {
      return OptionalLong.empty();
    }
    return OptionalLong.of(kib * 1024);
  }

  private static boolean isKeyName(String piece, int length) {
    for (int i = 0; i < length; i++) {
      char c = piece.charAt(i);
      if (!(c >= 'a' && c <= 'z') && c != '_') {
        return false;
      }
    }
    return true;
  }

  private static boolean isBlank(String value) {
    return value == null || value.isEmpty();
  }

  private static int digitsEnd(String text, int from) {
    int i = from;
    while (i < text.length() && text.charAt(i) >= '0' && text.charAt(i) <= '9') {
      i++;
    }
    return i;
  }

  private static long parseDigits(String value) {
    return value == null ? -1 : parseDigits(value, 0, value.length());
  }

  /** The unsigned decimal in {@code text[from, to)}, or -1 if empty, not all digits, or over a long. */
  private static long parseDigits(String text, int from, int to) {
    if (from >= to) {
      return -1;
    }
    long value = 0;
    for (int i = from; i < to; i++) {
      int digit = text.charAt(i) - '0';
      if (digit < 0 || digit > 9 || value > (Long.MAX_VALUE - digit) / 10) {
        return -1;
      }
      value = value * 10 + digit;
    }
    return value;
  }

  /** An int printed with {@code %d}, or {@link Long#MIN_VALUE} if it is not one. */
  private static long parseSignedInt(String value) {
    if (value == null) {
      return Long.MIN_VALUE;
    }
    boolean negative = value.startsWith("-");
    long magnitude = parseDigits(value, negative ? 1 : 0, value.length());
    if (magnitude < 0) {
      return Long.MIN_VALUE;
    }
    long signed = negative ? -magnitude : magnitude;
    return signed < Integer.MIN_VALUE || signed > Integer.MAX_VALUE ? Long.MIN_VALUE : signed;
  }
}
