package dev.oomwatch.app;

import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Optional;

/**
 * The parts of an HTTP/1.x request head that the agent's endpoints use: method, path (query dropped)
 * and whether a body follows. Parsing is strict where leniency would hide a misbehaving client and
 * lenient where clients differ harmlessly (bare LF line ends). Pure and immutable.
 */
record RequestHead(String method, String path, boolean hasBody) {

  /**
   * Where the head in {@code bytes[0, length)} ends (the index after its blank line), or -1 while it
   * is incomplete.
   */
  static int endOfHead(byte[] bytes, int length) {
    for (int i = 0; i < length; i++) {
      if (bytes[i] != '\n') {
        continue;
      }
      if (i + 1 < length && bytes[i + 1] == '\n') {
        return i + 2;
      }
      if (i + 2 < length && bytes[i + 1] == '\r' && bytes[i + 2] == '\n') {
        return i + 3;
      }
    }
    return -1;
  }

  /** Parses a complete head; empty when it is not a well-formed HTTP/1.x request head. */
  static Optional<RequestHead> parse(byte[] bytes, int length) {
    String[] lines = new String(bytes, 0, length, StandardCharsets.ISO_8859_1).split("\r?\n");
    if (lines.length == 0) {
      return Optional.empty();
    }
    String[] requestLine = lines[0].split(" ", -1);
    if (requestLine.length != 3 || requestLine[0].isEmpty() || !requestLine[1].startsWith("/")
        || !requestLine[2].startsWith("HTTP/1.")) {
      return Optional.empty();
    }
    boolean hasBody = false;
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      if (colon <= 0) {
        return Optional.empty();
      }
      String name = lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT);
      String value = lines[i].substring(colon + 1).trim();
      if (name.equals("transfer-encoding") || (name.equals("content-length") && !value.equals("0"))) {
        hasBody = true;
      }
    }
    String target = requestLine[1];
    int query = target.indexOf('?');
    return Optional.of(new RequestHead(requestLine[0], query < 0 ? target : target.substring(0, query), hasBody));
  }
}
