package dev.oomwatch.lab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The runsc command lines the lab uses, all with one {@code --root}, {@code --network=none} and a
 * timeout; a failure throws {@link CommandFailedException} with runsc's stderr. Immutable and
 * thread-safe (runsc itself locks its state files).
 */
final class RunscCommands {
  private static final Logger log = LoggerFactory.getLogger(RunscCommands.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final String runsc;
  private final Path root;
  private final Duration timeout;

  RunscCommands(String runsc, Path root, Duration timeout) {
    this.runsc = runsc;
    this.root = root;
    this.timeout = timeout;
  }

  /**
   * {@code runsc run --detach}: starts the sandbox and returns once runsc has. runsc hands its stdio to
   * the sandbox's app, so stdout and stderr go to {@code logFile} (appended), stdin is /dev/null, and
   * nothing here reads a pipe that would stay open as long as the sandbox lives.
   */
  void runDetached(Path bundle, String id, Path logFile) throws IOException {
    List<String> command = command("run", "--detach", "--bundle", bundle.toString(), id);
    log.debug("running {}", command);
    Process run = new ProcessBuilder(command)
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
        .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
        .redirectErrorStream(true)
        .start();
    boolean exited = ExternalCommand.waitFor(run, timeout);
    if (!exited || run.exitValue() != 0) {
      String output = new String(Files.readAllBytes(logFile), StandardCharsets.UTF_8);
      throw new CommandFailedException(command,
          exited ? run.exitValue() : CommandFailedException.TIMED_OUT, output);
    }
  }

  /** {@code runsc state}: the OCI state JSON ({@code status}, {@code pid}, ...). */
  JsonNode state(String id) throws IOException {
    return JSON.readTree(checked("state", id).stdout());
  }

  /** {@code runsc kill <id> <signal>}. */
  void kill(String id, String signal) throws IOException {
    checked("kill", id, signal);
  }

  /** {@code runsc delete -force}: kills the sandbox if it runs, removes its cgroup and state. */
  void deleteForce(String id) throws IOException {
    checked("delete", "-force", id);
  }

  private ExternalCommand.Result checked(String... args) throws IOException {
    return ExternalCommand.runChecked(command(args), timeout);
  }

  private List<String> command(String... args) {
    List<String> command = new ArrayList<>(
        List.of(runsc, "--root", root.toString(), "--network=none"));
    command.addAll(List.of(args));
    return command;
  }
}
