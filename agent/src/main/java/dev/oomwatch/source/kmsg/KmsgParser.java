package dev.oomwatch.source.kmsg;

import static java.nio.charset.StandardCharsets.ISO_8859_1;

import java.util.Optional;

/**
 * Parses one {@code /dev/kmsg} record, {@code prio,seq,usec,flags[,more...];text}, optionally followed
 * by dictionary lines that start with a space (see the kernel's
 * {@code Documentation/ABI/testing/dev-kmsg}). Only the first line is read; the dictionary is ignored.
 *
 * <p>Never throws: anything that is not a well-formed record (garbage, a missing {@code ;}, negative or
 * overflowing numbers, a first line longer than {@link #MAX_LINE_BYTES}) gives {@link Optional#empty()}.
 * The header is parsed byte by byte without regular expressions, because every kernel line passes
 * through here. Stateless and thread-safe.
 */
public final class KmsgParser {

  /**
   * The longest first line accepted. The kernel never hands out a record longer than this
   * ({@code CONSOLE_EXT_LOG_MAX}); anything longer is not a kernel record.
   */
  public static final int MAX_LINE_BYTES = 8192;

  private KmsgParser() {}

  /** Parses the record in {@code bytes[offset, offset + length)}, such as one read() of the device. */
  public static Optional<KmsgRecord> parse(byte[] bytes, int offset, int length) {
    if (bytes == null || offset < 0 || length < 0 || offset > bytes.length - length) {
      return Optional.empty();
    }
    int end = offset + length;
    int lineEnd = indexOf(bytes, offset, end, (byte) '\n');
    if (lineEnd < 0) {
      lineEnd = end;
    }
    if (lineEnd - offset > MAX_LINE_BYTES) {
      return Optional.empty();
    }
    int headerEnd = indexOf(bytes, offset, lineEnd, (byte) ';');
    if (headerEnd < 0) {
      return Optional.empty();
    }
    int prioEnd = indexOf(bytes, offset, headerEnd, (byte) ',');
    if (prioEnd < 0) {
      return Optional.empty();
    }
    int seqEnd = indexOf(bytes, prioEnd + 1, headerEnd, (byte) ',');
    if (seqEnd < 0) {
      return Optional.empty();
    }
    int usecEnd = indexOf(bytes, seqEnd + 1, headerEnd, (byte) ',');
    if (usecEnd < 0) {
      return Optional.empty();
    }
    // Kernels may append more comma-separated fields after the flags (e.g. caller=T123); skip them.
    int flagsEnd = indexOf(bytes, usecEnd + 1, headerEnd, (byte) ',');
    if (flagsEnd < 0) {
      flagsEnd = headerEnd;
    }
    long prio = parseDecimal(bytes, offset, prioEnd);
    long sequence = parseDecimal(bytes, prioEnd + 1, seqEnd);
    long micros = parseDecimal(bytes, seqEnd + 1, usecEnd);
    if (prio < 0 || prio > Integer.MAX_VALUE || sequence < 0 || micros < 0) {
      return Optional.empty();
    }
    if (flagsEnd - usecEnd != 2 || !isVisibleAscii(bytes[usecEnd + 1])) {
      return Optional.empty();
    }
    char flags = (char) bytes[usecEnd + 1];
    // The kernel escapes every byte outside printable ASCII as \xNN, so ISO-8859-1 decodes it as is.
    String text = new String(bytes, headerEnd + 1, lineEnd - headerEnd - 1, ISO_8859_1);
    int level = (int) (prio & 7);
    int facility = (int) (prio >>> 3);
    return Optional.of(new KmsgRecord(level, facility, sequence, micros, flags, text));
  }

  /** Parses a record given as text, such as one line of a saved kernel log. */
  public static Optional<KmsgRecord> parse(String record) {
    if (record == null) {
      return Optional.empty();
    }
    byte[] bytes = record.getBytes(ISO_8859_1);
    return parse(bytes, 0, bytes.length);
  }

  private static int indexOf(byte[] bytes, int from, int to, byte wanted) {
    for (int i = from; i < to; i++) {
      if (bytes[i] == wanted) {
        return i;
      }
    }
    return -1;
  }

  /** The unsigned decimal in {@code bytes[from, to)}, or -1 if empty, not all digits, or over a long. */
  private static long parseDecimal(byte[] bytes, int from, int to) {
    if (from >= to) {
      return -1;
    }
    long value = 0;
    for (int i = from; i < to; i++) {
      int digit = bytes[i] - '0';
      if (digit < 0 || digit > 9 || value > (Long.MAX_VALUE - digit) / 10) {
        return -1;
      }
      value = value * 10 + digit;
    }
    return value;
  }

  private static boolean isVisibleAscii(byte b) {
    return b > ' ' && b < 127;
  }
}
