package dev.oomwatch.app;

/** A setting is missing or wrong; the message says which and what to do. Thrown at start only. */
public final class ConfigException extends RuntimeException {
  public ConfigException(String message) {
    super(message);
  }
}
