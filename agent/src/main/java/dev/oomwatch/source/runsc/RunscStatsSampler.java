package dev.oomwatch.source.runsc;

import dev.oomwatch.model.ContainerMemorySample;
import dev.oomwatch.model.Observation;
import dev.oomwatch.model.SandboxRef;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Samples the memory each container of a live sandbox uses, as the sentry accounts it, by running
 * {@code runsc --root <root> events --stats <container-id>} (with a timeout) for each app container;
 * a sandbox with no app container of its own (a single-container sandbox, as the lab starts) is
 * sampled through its sandbox id, named {@link #SANDBOX_CONTAINER_NAME}. Each usage becomes a
 * {@link ContainerMemorySample}, so that the culprit container of a multi-container pod can be named.
 *
 * <p>One run costs about 20 ms of wall time and 10 ms of CPU here (Debian's runsc 20221219), so by
 * default only sandboxes with two or more running app containers are sampled: in a pod of one
 * container the culprit needs no naming. {@code everySandbox} samples them all.
 *
 * <p>Output is read through pipes after runsc exits, without blocking (runsc prints one short line),
 * so nothing here writes to the agent's file system. Not thread-safe: one thread of the source calls
 * {@link #sample}; {@link #abort()} may be called from any thread.
 */
final class RunscStatsSampler {

  /** The container name of a sample of a sandbox's own container (no Kubernetes container has it). */
  static final String SANDBOX_CONTAINER_NAME = "(sandbox)";

  private static final Logger log = LoggerFactory.getLogger(RunscStatsSampler.class);
  private static final int MAX_OUTPUT = 64 * 1024;
  private static final Duration KILL_GRACE = Duration.ofSeconds(2);

  /** One container to sample. */
  record Target(String sandboxId, String containerId, String containerName) {}

  /**
   * What one round of sampling did.
   *
   * @param problem when every sample of the round failed, why the first one did, as a sentence
   */
  record Round(int samples, int failures, Optional<String> problem) {}

  private final Path runsc;
  private final Path root;
  private final Duration timeout;
  private final boolean everySandbox;
  private volatile Process running;
  private volatile boolean aborted;

  RunscStatsSampler(Path runsc, Path root, Duration timeout, boolean everySandbox) {
    this.runsc = runsc;
    this.root = root;
    this.timeout = timeout;
    this.everySandbox = everySandbox;
  }

  /**
   * The containers to sample in these live sandboxes, in order: with {@code everySandbox} all of
   * them, otherwise only those of sandboxes with two or more running app containers.
   */
  static List<Target> targets(List<SandboxTracker.LiveSandbox> live, boolean everySandbox) {
    List<Target> targets = new ArrayList<>();
    for (SandboxTracker.LiveSandbox sandbox : live) {
      String sandboxId = sandbox.ref().sandboxId();
      List<Target> apps = new ArrayList<>();
      for (RunscStateFile file : sandbox.containers()) {
        if (file.kind() == RunscStateFile.Kind.CONTAINER && !file.stopped()) {
          apps.add(new Target(sandboxId, file.containerId(),
              file.containerName().orElse(file.containerId())));
        }
      }
      if (apps.size() >= 2 || (everySandbox && !apps.isEmpty())) {
        targets.addAll(apps);
      } else if (everySandbox) {
        targets.add(new Target(sandboxId, sandboxId, SANDBOX_CONTAINER_NAME));
      }
    }
    return targets;
  }

  /**
   * Samples every container of {@code live} (nothing at all when it is empty). A sample that fails
   * because its sandbox died meanwhile ({@code stillRuns} says no) is no failure.
   */
  Round sample(Supplier<Instant> clock, List<SandboxTracker.LiveSandbox> live,
      Predicate<SandboxRef> stillRuns, Consumer<Observation> emit) throws InterruptedException {
    int samples = 0;
    int failures = 0;
    String firstProblem = null;
    sandboxes:
    for (SandboxTracker.LiveSandbox sandbox : live) {
      for (Target target : targets(List.of(sandbox), everySandbox)) {
        if (aborted) {
          break sandboxes;
        }
        try {
          long usage = usage(target.containerId());
          emit.accept(new ContainerMemorySample(target.sandboxId(), target.containerId(),
              target.containerName(), usage, clock.get()));
          samples++;
        } catch (SampleFailure e) {
          if (!e.cannotRun && !stillRuns.test(sandbox.ref())) {
            log.debug("sandbox {} stopped while sampled: {}", target.sandboxId(), e.getMessage());
            continue sandboxes;
          }
          failures++;
          log.debug("{}", e.getMessage());
          if (firstProblem == null) {
            firstProblem = e.getMessage();
          }
          if (e.cannotRun) {
            break sandboxes; // the binary itself is missing: every other run would fail the same way
          }
        }
      }
    }
    return new Round(samples, failures,
        samples == 0 && failures > 0 ? Optional.of(firstProblem) : Optional.empty());
  }

  /** Kills a runsc command under way; no further command is started. */
  void abort() {
    aborted = true;
    Process process = running;
    if (process != null) {
      process.destroyForcibly();
    }
  }

  private long usage(String containerId) throws SampleFailure, InterruptedException {
    List<String> command = List.of(runsc.toString(), "--root", root.toString(), "events", "--stats",
        containerId);
    Process process;
    try {
      process = new ProcessBuilder(command)
          .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
          .start();
    } catch (IOException e) {
      throw new SampleFailure("cannot run " + runsc + " (" + e.getMessage() + "); install runsc in"
          + " the agent's image or mount the host's, or unset the runsc binary", true);
    }
    running = process;
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly().waitFor(KILL_GRACE.toMillis(), TimeUnit.MILLISECONDS);
        throw new SampleFailure(String.join(" ", command) + " did not finish within "
            + timeout.toMillis() + " ms", false);
      }
      byte[] stdout = available(process.getInputStream());
      byte[] stderr = available(process.getErrorStream());
      if (process.exitValue() != 0) {
        throw new SampleFailure(String.join(" ", command) + " exited with status "
            + process.exitValue() + ": " + firstLine(stderr.length > 0 ? stderr : stdout), false);
      }
      OptionalLong usage = RunscEventsStats.memoryUsage(stdout, containerId);
      if (usage.isEmpty()) {
        throw new SampleFailure(String.join(" ", command) + " printed no memory usage: "
            + firstLine(stdout), false);
      }
      return usage.getAsLong();
    } catch (InterruptedException e) {
      process.destroyForcibly();
      throw e;
    } finally {
      running = null;
      closeStreams(process);
    }
  }

  /** What the exited process left in a pipe, without waiting for more. */
  private static byte[] available(InputStream in) {
    try {
      byte[] buffer = new byte[MAX_OUTPUT];
      int filled = 0;
      int ready;
      while (filled < MAX_OUTPUT && (ready = in.available()) > 0) {
        int read = in.read(buffer, filled, Math.min(ready, MAX_OUTPUT - filled));
        if (read < 0) {
          break;
        }
        filled += read;
      }
      byte[] bytes = new byte[filled];
      System.arraycopy(buffer, 0, bytes, 0, filled);
      return bytes;
    } catch (InterruptedIOException e) {
      Thread.currentThread().interrupt();
      return new byte[0];
    } catch (IOException e) {
      return new byte[0];
    }
  }

  private static void closeStreams(Process process) {
    try {
      process.getInputStream().close();
      process.getErrorStream().close();
      process.getOutputStream().close();
    } catch (IOException e) {
      log.debug("closing the pipes of a runsc command failed", e);
    }
  }

  private static String firstLine(byte[] bytes) {
    String text = new String(bytes, StandardCharsets.UTF_8).strip();
    int newline = text.indexOf('\n');
    String line = newline < 0 ? text : text.substring(0, newline);
    return line.length() > 300 ? line.substring(0, 300) + "..." : line;
  }

  /** One sample failed; the message says why. */
  private static final class SampleFailure extends Exception {
    private static final long serialVersionUID = 1L;
    final boolean cannotRun;

    SampleFailure(String sentence, boolean cannotRun) {
      super(sentence);
      this.cannotRun = cannotRun;
    }
  }
}
