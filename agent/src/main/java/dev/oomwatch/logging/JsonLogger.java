package dev.oomwatch.logging;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.Locale;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.LegacyAbstractLogger;
import org.slf4j.helpers.MessageFormatter;

/**
 * Writes each log call as one line holding one JSON object: {@code time} (RFC 3339, UTC), {@code level},
 * {@code logger}, {@code thread}, {@code message} (the formatted message) and, when there is one,
 * {@code exception}: the throwable's whole stack trace as one string. Jackson escapes every string, so a
 * message with newlines or quotes stays on its line. Thread-safe: a line is built whole, then printed
 * with one call on a stream that locks per call.
 */
final class JsonLogger extends LegacyAbstractLogger {
  private static final long serialVersionUID = 1L;
  private static final JsonFactory JSON = new JsonFactory();
  private final int threshold;
  private final transient PrintStream out;

  JsonLogger(String name, int threshold, PrintStream out) {
    this.name = name;
    this.threshold = threshold;
    this.out = out;
  }

  static int level(String text) {
    return switch (text.trim().toLowerCase(Locale.ROOT)) {
      case "trace" -> Level.TRACE.toInt();
      case "debug" -> Level.DEBUG.toInt();
      case "warn" -> Level.WARN.toInt();
      case "error" -> Level.ERROR.toInt();
      case "off" -> Integer.MAX_VALUE;
      default -> Level.INFO.toInt();
    };
  }

  private boolean on(Level level) {
    return level.toInt() >= threshold;
  }

  @Override
  public boolean isTraceEnabled() {
    return on(Level.TRACE);
  }

  @Override
  public boolean isDebugEnabled() {
    return on(Level.DEBUG);
  }

  @Override
  public boolean isInfoEnabled() {
    return on(Level.INFO);
  }

  @Override
  public boolean isWarnEnabled() {
    return on(Level.WARN);
  }

  @Override
  public boolean isErrorEnabled() {
    return on(Level.ERROR);
  }

  @Override
  protected String getFullyQualifiedCallerName() {
    return null;
  }

  @Override
  protected void handleNormalizedLoggingCall(Level level, Marker marker, String pattern, Object[] arguments,
      Throwable throwable) {
    out.print(line(level, name, Thread.currentThread().getName(), Instant.now(),
        MessageFormatter.basicArrayFormat(pattern, arguments), throwable));
  }

  /** One log line: the JSON object and a newline. */
  static String line(Level level, String logger, String thread, Instant time, String message, Throwable throwable) {
    StringWriter text = new StringWriter(256);
    try (JsonGenerator json = JSON.createGenerator(text)) {
      json.writeStartObject();
      json.writeStringField("time", time.toString());
      json.writeStringField("level", level.toString());
      json.writeStringField("logger", logger);
      json.writeStringField("thread", thread);
      json.writeStringField("message", message);
      if (throwable != null) {
        StringWriter stack = new StringWriter();
        throwable.printStackTrace(new PrintWriter(stack));
        json.writeStringField("exception", stack.toString());
      }
      json.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a StringWriter does not fail
    }
    return text.append('\n').toString();
  }
}
