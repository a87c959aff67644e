package dev.oomwatch.source.runsc;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Predicate;

/**
 * A strict reader of the samples in Prometheus's text exposition format (version 0.0.4, which the
 * runsc metric server writes), for the few metrics this agent wants:
 * {@code name{label="value",...} value [timestamp]}, one per line. Comments ({@code # HELP},
 * {@code # TYPE}, anything after {@code #}) and blank lines are skipped; label values may hold the
 * escapes {@code \\}, {@code \"} and {@code \n}; values may be {@code NaN}, {@code +Inf},
 * {@code -Inf} or decimal floats; the optional timestamp is an integer of milliseconds.
 *
 * <p>Never throws: a line that does not follow the format (or is longer than {@link #MAX_LINE}, or
 * repeats a label) is counted as rejected and skipped. Lines of metrics not wanted are skipped after
 * their name, unchecked. A body can be read whole ({@link #parse}) or as it arrives, in chunks of
 * UTF-8 bytes ({@link Stream}): then it is never held whole, only one line at a time (at most
 * {@link #MAX_LINE} characters of it), and only the wanted samples are kept. {@link #parse} is
 * stateless and thread-safe; a {@link Stream} is used by one thread at a time.
 */
final class PrometheusText {

  /** Longer lines are rejected. */
  static final int MAX_LINE = 64 * 1024;

  /** One sample. {@code labels} is unmodifiable, in the order written. */
  record Sample(String name, Map<String, String> labels, double value, OptionalLong timestampMillis) {}

  /**
   * What a text held.
   *
   * @param samples       the samples of the wanted metrics that parsed
   * @param rejectedLines lines that did not follow the format
   * @param firstProblem  what was wrong with the first rejected line, with its line number
   */
  record Result(List<Sample> samples, int rejectedLines, Optional<String> firstProblem) {}

  private PrometheusText() {}

  static Result parse(CharSequence text, Predicate<String> wanted) {
    if (text == null) {
      return new Result(List.of(), 0, Optional.empty());
    }
    Lines lines = new Lines(wanted);
    int length = text.length();
    for (int start = 0; start < length; ) {
      int end = start;
      while (end < length && text.charAt(end) != '\n') {
        end++;
      }
      lines.line(text, start, end - start > MAX_LINE + 1 ? -1 : end);
      start = end + 1;
    }
    return lines.result();
  }

  /** The samples and rejections of a text, one line after the other. */
  private static final class Lines {
    private final Predicate<String> wanted;
    private final List<Sample> samples = new ArrayList<>();
    private int rejected;
    private int lineNumber;
    private String firstProblem;

    Lines(Predicate<String> wanted) {
      this.wanted = wanted;
    }

    /** The line {@code text[start, end)} without its {@code \n}; {@code end} -1 when it was too long. */
    void line(CharSequence text, int start, int end) {
      lineNumber++;
      String problem;
      int stop = end > start && text.charAt(end - 1) == '\r' ? end - 1 : end;
      if (end < 0 || stop - start > MAX_LINE) {
        problem = "longer than " + MAX_LINE + " characters";
      } else {
        problem = new LineParser(text, start, stop).parse(wanted, samples);
      }
      if (problem != null) {
        rejected++;
        if (firstProblem == null) {
          firstProblem = "line " + lineNumber + ": " + problem;
        }
      }
    }

    Result result() {
      return new Result(List.copyOf(samples), rejected, Optional.ofNullable(firstProblem));
    }
  }

  /**
   * Parses a body of UTF-8 bytes as it arrives, line by line: a line is decoded and parsed when its
   * {@code \n} (or the end) comes, and bytes of a line beyond {@link #MAX_LINE} characters' worth
   * are not kept (the line is rejected). A {@code \n} byte never occurs inside a multi-byte UTF-8
   * character, so splitting on it before decoding is exact.
   */
  static final class Stream {
    /** The most bytes {@link #MAX_LINE} characters take in UTF-8. */
    private static final int MAX_LINE_BYTES = 4 * MAX_LINE;

    private final Lines lines;
    private byte[] line = new byte[256];
    private int length;
    private boolean tooLong;
    private boolean finished;

    Stream(Predicate<String> wanted) {
      this.lines = new Lines(wanted);
    }

    /** Takes the next bytes of the body. */
    void accept(ByteBuffer bytes) {
      while (bytes.hasRemaining()) {
        byte b = bytes.get();
        if (b == '\n') {
          endLine();
        } else if (!tooLong) {
          if (length == MAX_LINE_BYTES) {
            tooLong = true;
          } else {
            if (length == line.length) {
              line = Arrays.copyOf(line, Math.min(MAX_LINE_BYTES, line.length * 2));
            }
            line[length++] = b;
          }
        }
      }
    }

    /** The body ended: what it held. */
    Result finish() {
      if (!finished) {
        finished = true;
        if (length > 0 || tooLong) {
          endLine();
        }
      }
      return lines.result();
    }

    private void endLine() {
      String text = tooLong ? "" : new String(line, 0, length, StandardCharsets.UTF_8);
      lines.line(text, 0, tooLong ? -1 : text.length());
      length = 0;
      tooLong = false;
    }
  }

  /** One line; {@link #parse} returns null when it was fine, or what was wrong. */
  private static final class LineParser {
    private final CharSequence text;
    private final int end;
    private int at;

    LineParser(CharSequence text, int start, int end) {
      this.text = text;
      this.at = start;
      this.end = end;
    }

    String parse(Predicate<String> wanted, List<Sample> out) {
      skipBlanks();
      if (at == end || text.charAt(at) == '#') {
        return null;
      }
      String name = name(true);
      if (name == null) {
        return "no metric name";
      }
      if (!wanted.test(name)) {
        return null;
      }
      int blanks = skipBlanks();
      Map<String, String> labels = new LinkedHashMap<>();
      if (at < end && text.charAt(at) == '{') {
        at++;
        String problem = labels(labels);
        if (problem != null) {
          return problem;
        }
        // As in Prometheus's own parser, the value may follow the '}' directly.
        blanks = skipBlanks() + 1;
      }
      if (blanks == 0 || at == end) {
        return "no value";
      }
      String valueToken = token();
      double value = parseFloat(valueToken);
      if (Double.isNaN(value) && !isNaN(valueToken)) {
        return "value " + abbreviate(valueToken) + " is not a float";
      }
      OptionalLong timestamp = OptionalLong.empty();
      if (skipBlanks() > 0 && at < end) {
        String stampToken = token();
        long stamp = parseLong(stampToken);
        if (stamp == Long.MIN_VALUE) {
          return "timestamp " + abbreviate(stampToken) + " is not an integer";
        }
        timestamp = OptionalLong.of(stamp);
        skipBlanks();
      }
      if (at != end) {
        return "unexpected text after the sample";
      }
      out.add(new Sample(name, Collections.unmodifiableMap(labels), value, timestamp));
      return null;
    }

    private String labels(Map<String, String> labels) {
      while (true) {
        skipBlanks();
        if (at < end && text.charAt(at) == '}') {
          at++;
          return null;
        }
        String label = name(false);
        if (label == null) {
          return "bad label name";
        }
        skipBlanks();
        if (at >= end || text.charAt(at) != '=') {
          return "no '=' after label " + label;
        }
        at++;
        skipBlanks();
        if (at >= end || text.charAt(at) != '"') {
          return "label " + label + " has no quoted value";
        }
        at++;
        StringBuilder value = new StringBuilder();
        while (true) {
          if (at >= end) {
            return "label " + label + " value is not closed";
          }
          char c = text.charAt(at++);
          if (c == '"') {
            break;
          }
          if (c == '\\') {
            if (at >= end) {
              return "label " + label + " value ends in an escape";
            }
            char escaped = text.charAt(at++);
            switch (escaped) {
              case '\\' -> value.append('\\');
              case '"' -> value.append('"');
              case 'n' -> value.append('\n');
              default -> {
                return "label " + label + " value has the unknown escape \\" + escaped;
              }
            }
          } else {
            value.append(c);
          }
        }
        if (labels.put(label, value.toString()) != null) {
          return "label " + label + " repeated";
        }
        skipBlanks();
        if (at < end && text.charAt(at) == ',') {
          at++;
        } else if (at >= end || text.charAt(at) != '}') {
          return "no ',' or '}' after label " + label;
        }
      }
    }

    /** A metric name ({@code [a-zA-Z_:][a-zA-Z0-9_:]*}) or label name (the same without ':'). */
    private String name(boolean metric) {
      int from = at;
      while (at < end) {
        char c = text.charAt(at);
        boolean letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'
            || (metric && c == ':');
        boolean digit = c >= '0' && c <= '9';
        if (!(letter || (digit && at > from))) {
          break;
        }
        at++;
      }
      return at > from ? text.subSequence(from, at).toString() : null;
    }

    private String token() {
      int from = at;
      while (at < end && text.charAt(at) != ' ' && text.charAt(at) != '\t') {
        at++;
      }
      return text.subSequence(from, at).toString();
    }

    private int skipBlanks() {
      int from = at;
      while (at < end && (text.charAt(at) == ' ' || text.charAt(at) == '\t')) {
        at++;
      }
      return at - from;
    }
  }

  /**
   * The float Go's {@code strconv.ParseFloat} would read from a decimal token, NaN for anything else
   * (hex floats and Java's own suffixes such as {@code 1d} are refused).
   */
  static double parseFloat(String token) {
    if (token.isEmpty() || token.length() > 64) {
      return Double.NaN;
    }
    int i = 0;
    boolean negative = false;
    if (token.charAt(0) == '+' || token.charAt(0) == '-') {
      negative = token.charAt(0) == '-';
      i = 1;
    }
    String rest = token.substring(i);
    if (rest.equalsIgnoreCase("inf") || rest.equalsIgnoreCase("infinity")) {
      return negative ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
    }
    if (rest.equalsIgnoreCase("nan")) {
      return Double.NaN;
    }
    int digits = 0;
    int length = token.length();
    while (i < length && isDigit(token.charAt(i))) {
      i++;
      digits++;
    }
    if (i < length && token.charAt(i) == '.') {
      i++;
      while (i < length && isDigit(token.charAt(i))) {
        i++;
        digits++;
      }
    }
    if (digits == 0) {
      return Double.NaN;
    }
    if (i < length && (token.charAt(i) == 'e' || token.charAt(i) == 'E')) {
      i++;
      if (i < length && (token.charAt(i) == '+' || token.charAt(i) == '-')) {
        i++;
      }
      int exponentDigits = 0;
      while (i < length && isDigit(token.charAt(i))) {
        i++;
        exponentDigits++;
      }
      if (exponentDigits == 0) {
        return Double.NaN;
      }
    }
    if (i != length) {
      return Double.NaN;
    }
    return Double.parseDouble(token);
  }

  private static boolean isNaN(String token) {
    String rest = token.startsWith("+") || token.startsWith("-") ? token.substring(1) : token;
    return rest.equalsIgnoreCase("nan");
  }

  /** The signed decimal, or {@link Long#MIN_VALUE} if it is not one or does not fit. */
  static long parseLong(String token) {
    if (token.isEmpty() || token.length() > 20) {
      return Long.MIN_VALUE;
    }
    boolean negative = token.charAt(0) == '-';
    int i = negative || token.charAt(0) == '+' ? 1 : 0;
    if (i == token.length()) {
      return Long.MIN_VALUE;
    }
    long value = 0;
    for (; i < token.length(); i++) {
      int digit = token.charAt(i) - '0';
      if (digit < 0 || digit > 9 || value > (Long.MAX_VALUE - digit) / 10) {
        return Long.MIN_VALUE;
      }
      value = value * 10 + digit;
    }
    return negative ? -value : value;
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  private static String abbreviate(String token) {
    return token.length() > 40 ? token.substring(0, 40) + "..." : token;
  }
}
