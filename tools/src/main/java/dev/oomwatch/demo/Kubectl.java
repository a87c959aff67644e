package dev.oomwatch.demo;

import dev.oomwatch.testing.FileTrees;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A real {@code kubectl} binary, run against the stand-in API server with its kubeconfig. Which one: the
 * file named by {@code OOMWATCH_KUBECTL}; else the pinned one {@code scripts/install-kubectl.sh}
 * installs ({@link #PINNED}); else {@code kubectl} on the PATH. Each run gets a discovery cache of its
 * own (a temporary directory, deleted afterwards), so nothing is written under {@code ~/.kube}. Immutable;
 * runs may be concurrent.
 */
public final class Kubectl {
  /** Where {@code scripts/install-kubectl.sh} puts the pinned kubectl (its KUBECTL_INSTALL_DIR default). */
  public static final Path PINNED = Path.of("/usr/local/lib/oomwatch-kubectl/kubectl");
  public static final String OVERRIDE = "OOMWATCH_KUBECTL";
  private static final long TIMEOUT_SECONDS = 60;

  /** What one run printed (stdout and stderr, interleaved) and its exit status. */
  public record Result(int exitCode, String output) {}

  private final Path binary;
  private final String version;

  private Kubectl(Path binary, String version) {
    this.binary = binary;
    this.version = version;
  }

  /**
   * The kubectl to use, given the environment ({@code OOMWATCH_KUBECTL}, {@code PATH}).
   *
   * @throws IllegalStateException saying where it looked, when there is none or it does not run
   */
  public static Kubectl locate(Map<String, String> env) throws InterruptedException {
    Path binary = candidate(env).orElseThrow(() -> new IllegalStateException("no kubectl: not at " + PINNED
        + " (scripts/install-kubectl.sh installs it there) nor on the PATH; or set " + OVERRIDE));
    Result version;
    try {
      version = run(binary, List.of("version", "--client"));
    } catch (IOException e) {
      throw new IllegalStateException("kubectl " + binary + " does not run: " + e.getMessage(), e);
    }
    if (version.exitCode() != 0) {
      throw new IllegalStateException("kubectl " + binary + " version --client failed (" + version.exitCode() + "): "
          + version.output().strip());
    }
    String first = version.output().lines().findFirst().orElse("").replace("Client Version:", "").strip();
    return new Kubectl(binary, first);
  }

  private static Optional<Path> candidate(Map<String, String> env) {
    String override = env.get(OVERRIDE);
    if (override != null && !override.isBlank()) {
      return Optional.of(Path.of(override)); // used as given: if it does not run, locate says so
    }
    if (Files.isExecutable(PINNED)) {
      return Optional.of(PINNED);
    }
    for (String dir : env.getOrDefault("PATH", "").split(":")) {
      Path onPath = Path.of(dir.isEmpty() ? "." : dir, "kubectl");
      if (!dir.isEmpty() && Files.isRegularFile(onPath) && Files.isExecutable(onPath)) {
        return Optional.of(onPath);
      }
    }
    return Optional.empty();
  }

  public Path binary() {
    return binary;
  }

  /** The client version it reports ({@code v1.31.9}). */
  public String version() {
    return version;
  }

  /** Runs {@code kubectl --kubeconfig <kubeconfig> <args>} with a fresh discovery cache. */
  public Result run(Path kubeconfig, String... args) throws IOException, InterruptedException {
    Path cache = Files.createTempDirectory("oomwatch-kubectl-cache");
    try {
      List<String> all = new ArrayList<>(List.of("--kubeconfig", kubeconfig.toString(), "--cache-dir", cache.toString()));
      all.addAll(List.of(args));
      return run(binary, all);
    } finally {
      FileTrees.delete(cache);
    }
  }

  private static Result run(Path binary, List<String> args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(binary.toString());
    command.addAll(args);
    Path out = Files.createTempFile("oomwatch-kubectl-out", ".txt");
    try {
      ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile());
      builder.environment().remove("KUBECONFIG"); // only the stand-in's, given by --kubeconfig
      Process process = builder.start();
      if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new IOException(String.join(" ", command) + " did not finish in " + TIMEOUT_SECONDS + " s");
      }
      return new Result(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(out);
    }
  }
}
