package dev.oomwatch.fuzz;

/**
 * Prints fuzz inputs so that they can be read and pasted back into a Java string: printable ASCII as
 * is, {@code \n}, {@code \r}, {@code \t}, {@code \\}, {@code \"}, other bytes as {@code \xNN} (which
 * Java does not know: for bytes, read it as "this byte") and other characters as {@code \\uNNNN}.
 */
public final class Escape {

  private Escape() {}

  /** The input escaped, cut to about {@code max} characters with a note of its real size. */
  public static String of(Object input, int max) {
    if (input instanceof byte[] bytes) {
      return bytes(bytes, max);
    }
    if (input instanceof CharSequence text) {
      return text(text, max);
    }
    return text(String.valueOf(input), max);
  }

  /** A description of a value that is neither bytes nor text. */
  static String describe(Object input) {
    if (input instanceof byte[] bytes) {
      return bytes(bytes, Integer.MAX_VALUE);
    }
    return String.valueOf(input);
  }

  public static String bytes(byte[] bytes, int max) {
    StringBuilder out = new StringBuilder("\"");
    int i = 0;
    for (; i < bytes.length && out.length() < max; i++) {
      int b = bytes[i] & 0xff;
      appendChar(out, b, true);
    }
    out.append('"');
    if (i < bytes.length) {
      out.append("... (").append(bytes.length).append(" bytes in all)");
    } else {
      out.append(" (").append(bytes.length).append(" bytes)");
    }
    return out.toString();
  }

  public static String text(CharSequence text, int max) {
    StringBuilder out = new StringBuilder("\"");
    int i = 0;
    for (; i < text.length() && out.length() < max; i++) {
      appendChar(out, text.charAt(i), false);
    }
    out.append('"');
    if (i < text.length()) {
      out.append("... (").append(text.length()).append(" chars in all)");
    }
    return out.toString();
  }

  /**
   * An exception's message as readable text: line breaks kept, other control characters, non-ASCII
   * and lone surrogates escaped (a message may quote the hostile input), cut to {@code max}.
   */
  public static String message(String message, int max) {
    StringBuilder out = new StringBuilder();
    int i = 0;
    for (; i < message.length() && out.length() < max; i++) {
      char c = message.charAt(i);
      if (c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f)) {
        out.append(c);
      } else {
        out.append(String.format("\\u%04x", (int) c));
      }
    }
    if (i < message.length()) {
      out.append("... (").append(message.length()).append(" chars in all)");
    }
    return out.toString();
  }

  private static void appendChar(StringBuilder out, int c, boolean isByte) {
    switch (c) {
      case '\n' -> out.append("\\n");
      case '\r' -> out.append("\\r");
      case '\t' -> out.append("\\t");
      case '\\' -> out.append("\\\\");
      case '"' -> out.append("\\\"");
      default -> {
        if (c >= 0x20 && c < 0x7f) {
          out.append((char) c);
        } else if (isByte) {
          out.append(String.format("\\x%02x", c));
        } else {
          out.append(String.format("\\u%04x", c));
        }
      }
    }
  }
}
