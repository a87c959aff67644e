package dev.oomwatch.chart;

import static org.junit.jupiter.api.Assertions.fail;

import dev.oomwatch.testing.ProjectFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * The external tools the chart checks run (helm, dockerfilelint) and where the chart is. A missing tool
 * fails the test under {@code CI=true} (CI must not pass by skipping) and skips it elsewhere, saying how
 * to install it ({@code scripts/install-chart-tools.sh}). Thread-safe.
 */
final class ChartTools {
  /** What a finished command printed. */
  record Result(int exitCode, String stdout, String stderr) {
    boolean ok() {
      return exitCode == 0;
    }

    String both() {
      return "exit " + exitCode + "\n--- stdout\n" + stdout + "\n--- stderr\n" + stderr;
    }
  }

  private static final long TIMEOUT_SECONDS = 120;
  private static final ConcurrentHashMap<String, Boolean> AVAILABLE = new ConcurrentHashMap<>();

  private ChartTools() {}

  /** The project's directory (surefire's {@code basedir}, else the working directory). */
  static Path projectDir() {
    return ProjectFiles.root();
  }

  static Path chartDir() {
    return projectDir().resolve("charts/gvisor-oom-watcher");
  }

  /** The helm binary: {@code $HELM} if set, else {@code helm} on the PATH. */
  static String helmBinary() {
    String helm = System.getenv("HELM");
    return helm == null || helm.isBlank() ? "helm" : helm;
  }

  /** Fails (CI) or skips (elsewhere) the calling test unless {@code tool versionArgs...} runs. */
  static void require(String tool, String... versionArgs) {
    boolean available = AVAILABLE.computeIfAbsent(tool, t -> {
      List<String> command = new ArrayList<>(List.of(t.equals("helm") ? helmBinary() : t));
      command.addAll(List.of(versionArgs));
      try {
        return run(command, projectDir()).ok();
      } catch (IOException e) {
        return false;
      }
    });
    if (available) {
      return;
    }
    String message = tool + " is not installed (or does not run): `sudo bash scripts/install-chart-tools.sh`"
        + " installs it";
    if ("true".equalsIgnoreCase(System.getenv("CI"))) {
      fail(message + " — CI=true, so the chart checks fail rather than skip");
    }
    Assumptions.abort(message);
  }

  /** Runs {@code helm args...} in the project directory (helm must be {@link #require}d first). */
  static Result helm(List<String> args) {
    List<String> command = new ArrayList<>(List.of(helmBinary()));
    command.addAll(args);
    try {
      return run(command, projectDir());
    } catch (IOException e) {
      throw new IllegalStateException("cannot run " + command + ": " + e.getMessage(), e);
    }
  }

  /**
   * {@code helm template} of the chart as release {@code oomwatch} in namespace {@code oomwatch-system},
   * with the given extra arguments ({@code -f file}, {@code --set k=v}); fails the test when helm does.
   */
  static String template(List<String> extraArgs) {
    Result result = templateResult(extraArgs);
    if (!result.ok()) {
      fail("helm template " + extraArgs + " failed:\n" + result.both());
    }
    return result.stdout();
  }

  static Result templateResult(List<String> extraArgs) {
    require("helm", "version");
    List<String> args = new ArrayList<>(List.of("template", "oomwatch", chartDir().toString(),
        "--namespace", "oomwatch-system"));
    args.addAll(extraArgs);
    return helm(args);
  }

  /** The chart's {@code ci/*-values.yaml} files, sorted. */
  static List<Path> ciValuesFiles() throws IOException {
    try (var files = Files.list(chartDir().resolve("ci"))) {
      return files.filter(f -> f.getFileName().toString().endsWith("-values.yaml")).sorted().toList();
    }
  }

  static Result run(List<String> command, Path workingDir) throws IOException {
    Path out = Files.createTempFile("chart-tool", ".out");
    Path err = Files.createTempFile("chart-tool", ".err");
    try {
      Process process = new ProcessBuilder(command)
          .directory(workingDir.toFile())
          .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
          .redirectOutput(out.toFile())
          .redirectError(err.toFile())
          .start();
      if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new IOException(command + " did not finish within " + TIMEOUT_SECONDS + " s");
      }
      return new Result(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
          Files.readString(err, StandardCharsets.UTF_8));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while running " + command, e);
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }
}
