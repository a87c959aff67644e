package dev.oomwatch.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.slf4j.LoggerFactory;

/**
 * Captures what slf4j-simple (the project's logging backend) prints to standard error while open.
 * Tests using it must not run in parallel with others that log.
 */
public final class CapturedLog implements AutoCloseable {

  private final PrintStream original = System.err;
  private final ByteArrayOutputStream captured = new ByteArrayOutputStream();

  public CapturedLog() {
    assumeTrue(LoggerFactory.getILoggerFactory().getClass().getName().startsWith("org.slf4j.simple"),
        "log capture needs slf4j-simple, which prints to System.err at each call");
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
  }

  public List<String> lines() {
    return Arrays.asList(captured.toString(StandardCharsets.UTF_8).split("\n"));
  }

  @Override
  public void close() {
    System.setErr(original);
  }
}
