package dev.oomwatch.logging;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.slf4j.ILoggerFactory;
import org.slf4j.IMarkerFactory;
import org.slf4j.Logger;
import org.slf4j.helpers.BasicMarkerFactory;
import org.slf4j.helpers.NOPMDCAdapter;
import org.slf4j.spi.MDCAdapter;
import org.slf4j.spi.SLF4JServiceProvider;

/**
 * An SLF4J 2 provider that writes one JSON object per log call on stderr ({@link JsonLogger}). It is not
 * registered as a service: {@code Main} selects it with the system property {@code slf4j.provider} when
 * the JSON log format is asked for, so the default stays slf4j-simple's text lines. Which levels are on
 * is read from the same {@code simplelogger.properties} keys and {@code -D} overrides as slf4j-simple
 * ({@code org.slf4j.simpleLogger.defaultLogLevel}, {@code org.slf4j.simpleLogger.log.<name prefix>}), so
 * switching the format changes nothing else. Thread-safe.
 */
public final class JsonLogProvider implements SLF4JServiceProvider {
  /** The value of {@code slf4j.provider} that selects this provider. */
  public static final String NAME = JsonLogProvider.class.getName();
  private static final String PREFIX = "org.slf4j.simpleLogger.";

  private final PrintStream out;
  private ILoggerFactory factory;
  private final IMarkerFactory markers = new BasicMarkerFactory();
  private final MDCAdapter mdc = new NOPMDCAdapter();

  public JsonLogProvider() {
    this(System.err);
  }

  JsonLogProvider(PrintStream out) {
    this.out = out;
  }

  @Override
  public ILoggerFactory getLoggerFactory() {
    return factory;
  }

  @Override
  public IMarkerFactory getMarkerFactory() {
    return markers;
  }

  @Override
  public MDCAdapter getMDCAdapter() {
    return mdc;
  }

  @Override
  public String getRequestedApiVersion() {
    return "2.0.99";
  }

  @Override
  public void initialize() {
    Properties levels = new Properties();
    try (InputStream in = JsonLogProvider.class.getClassLoader().getResourceAsStream("simplelogger.properties")) {
      if (in != null) {
        levels.load(in);
      }
    } catch (IOException e) {
      // no file: the defaults below
    }
    System.getProperties().stringPropertyNames().stream().filter(k -> k.startsWith(PREFIX))
        .forEach(k -> levels.setProperty(k, System.getProperty(k)));
    ConcurrentMap<String, Logger> loggers = new ConcurrentHashMap<>();
    factory = name -> loggers.computeIfAbsent(name, n -> new JsonLogger(n, levelOf(levels, n), out));
  }

  /** slf4j-simple's rule: the longest {@code log.<prefix>} of the name, else the default level, else info. */
  static int levelOf(Properties levels, String name) {
    String key = name;
    while (true) {
      String level = levels.getProperty(PREFIX + "log." + key);
      if (level != null) {
        return JsonLogger.level(level);
      }
      int dot = key.lastIndexOf('.');
      if (dot < 0) {
        return JsonLogger.level(levels.getProperty(PREFIX + "defaultLogLevel", "info"));
      }
      key = key.substring(0, dot);
    }
  }
}
