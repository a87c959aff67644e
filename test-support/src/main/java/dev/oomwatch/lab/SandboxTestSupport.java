package dev.oomwatch.lab;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * Shared helpers of the real-sandbox tests (tagged {@code sandbox}): prerequisites that skip the test
 * on a laptop but fail it under CI, generous deadlines, and probes for what a sandbox leaves behind.
 * Stateless; thread-safe.
 */
public final class SandboxTestSupport {
  /** How long a sandbox gets to stop: an OOM takes about 2 s here; the rest is slack for slow CI. */
  public static final Duration STOP_TIMEOUT = Duration.ofSeconds(60);
  /** How long the kernel log gets to show an OOM kill that already happened. */
  public static final Duration KERNEL_LOG_TIMEOUT = Duration.ofSeconds(30);

  private SandboxTestSupport() {}

  /**
   * Aborts the test (skipped) when this machine cannot run real sandboxes, with the list of what is
   * missing; when the environment variable {@code CI} is {@code true}, fails it instead: under CI the
   * real-sandbox tests must run, never be skipped.
   */
  public static void requirePrerequisites(boolean needKmsg) {
    require(LabPrerequisites.onThisMachine().missing(needKmsg), System.getenv("CI"));
  }

  static void require(List<String> missing, String ciVariable) {
    if (missing.isEmpty()) {
      return;
    }
    String message = "this test needs a real gVisor sandbox, and this machine lacks:\n- "
        + String.join("\n- ", missing);
    if ("true".equals(ciVariable)) {
      Assertions.fail(message);
    }
    Assumptions.abort(message);
  }

  /** Command lines of the running processes (other than this JVM) that contain {@code text}. */
  public static List<String> processesMentioning(String text) throws IOException {
    List<String> found = new ArrayList<>();
    String self = Long.toString(ProcessHandle.current().pid());
    try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
      for (Path proc : procs) {
        if (proc.getFileName().toString().equals(self)) {
          continue;
        }
        String commandLine;
        try {
          commandLine = new String(Files.readAllBytes(proc.resolve("cmdline")),
              StandardCharsets.UTF_8).replace('\0', ' ').strip();
        } catch (IOException exitedMeanwhile) {
          continue;
        }
        if (commandLine.contains(text)) {
          found.add(proc.getFileName() + " " + commandLine);
        }
      }
    }
    return found;
  }

  /** The directories named {@code cgroupPath} that exist in any hierarchy under /sys/fs/cgroup. */
  public static List<Path> cgroupDirectories(String cgroupPath) throws IOException {
    List<Path> found = new ArrayList<>();
    try (DirectoryStream<Path> hierarchies =
        Files.newDirectoryStream(LabPrerequisites.DEFAULT_CGROUP_ROOT)) {
      for (Path hierarchy : hierarchies) {
        Path dir = hierarchy.resolve(cgroupPath.substring(1));
        if (Files.isDirectory(dir)) {
          found.add(dir);
        }
      }
    }
    return found;
  }

  /**
   * Polls the kernel log ({@code dmesg}) for a line containing every one of {@code fragments}.
   *
   * @return the newest such line, if it appeared in time
   */
  public static Optional<String> awaitKernelLogLine(Duration timeout, String... fragments)
      throws IOException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      Optional<String> line = dmesg().stream()
          .filter(candidate -> List.of(fragments).stream().allMatch(candidate::contains))
          .reduce((older, newer) -> newer);
      if (line.isPresent() || System.nanoTime() - deadline >= 0) {
        return line;
      }
      Thread.sleep(200);
    }
  }

  private static List<String> dmesg() throws IOException, InterruptedException {
    Path out = Files.createTempFile("oom-lab-dmesg-", ".txt");
    try {
      Process dmesg = new ProcessBuilder("dmesg")
          .redirectOutput(out.toFile())
          .redirectError(ProcessBuilder.Redirect.DISCARD)
          .start();
      if (!dmesg.waitFor(30, TimeUnit.SECONDS)) {
        dmesg.destroyForcibly();
        throw new IOException("dmesg did not finish in 30 s");
      }
      if (dmesg.exitValue() != 0) {
        throw new IOException("dmesg exited with status " + dmesg.exitValue());
      }
      return Files.readAllLines(out);
    } finally {
      Files.deleteIfExists(out);
    }
  }
}
