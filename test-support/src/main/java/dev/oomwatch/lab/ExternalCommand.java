package dev.oomwatch.lab;

import java.io.File;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one short external command with a timeout and returns what it printed. Stateless and
 * thread-safe.
 *
 * <p>Output goes to temporary files, not pipes: a command that leaves a child holding its stdout (as
 * {@code runsc run --detach} does with the sandbox) would otherwise keep a pipe reader waiting until
 * that child dies.
 */
final class ExternalCommand {
  static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

  private static final Logger log = LoggerFactory.getLogger(ExternalCommand.class);
  private static final File DEV_NULL = new File("/dev/null");
  private static final Duration KILL_GRACE = Duration.ofSeconds(5);

  /** What a finished command printed and how it exited. */
  record Result(List<String> command, int exitStatus, String stdout, String stderr) {
    boolean succeeded() {
      return exitStatus == 0;
    }
  }

  private ExternalCommand() {}

  /** Runs the command and throws {@link CommandFailedException} unless it exits with status 0. */
  static Result runChecked(List<String> command, Duration timeout) throws IOException {
    Result result = run(command, timeout);
    if (!result.succeeded()) {
      throw new CommandFailedException(command, result.exitStatus(), result.stderr());
    }
    return result;
  }

  /**
   * Runs the command; any exit status is returned. Throws {@link CommandFailedException} only on a
   * timeout (after killing the command), and {@link InterruptedIOException} if interrupted.
   */
  static Result run(List<String> command, Duration timeout) throws IOException {
    Path stdout = Files.createTempFile("oom-lab-cmd-", ".out");
    Path stderr = Files.createTempFile("oom-lab-cmd-", ".err");
    try {
      log.debug("running {}", command);
      Process process = new ProcessBuilder(command)
          .redirectInput(ProcessBuilder.Redirect.from(DEV_NULL))
          .redirectOutput(stdout.toFile())
          .redirectError(stderr.toFile())
          .start();
      if (!waitFor(process, timeout)) {
        throw new CommandFailedException(command, CommandFailedException.TIMED_OUT,
            "no exit after " + timeout.toSeconds() + " s; stderr so far: " + read(stderr));
      }
      return new Result(command, process.exitValue(), read(stdout), read(stderr));
    } finally {
      Files.deleteIfExists(stdout);
      Files.deleteIfExists(stderr);
    }
  }

  /** Waits for the process; on timeout or interrupt kills it (only it: we started it). */
  static boolean waitFor(Process process, Duration timeout) throws IOException {
    try {
      if (process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        return true;
      }
      process.destroyForcibly().waitFor(KILL_GRACE.toMillis(), TimeUnit.MILLISECONDS);
      return false;
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while waiting for " + process.info().command());
    }
  }

  private static String read(Path file) throws IOException {
    return new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
  }
}
