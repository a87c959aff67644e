package dev.oomwatch.lab;

import com.fasterxml.jackson.databind.JsonNode;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.testing.Await;
import dev.oomwatch.testing.FileTrees;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Objects;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One real runsc sandbox, started detached like containerd starts a pod sandbox: its own OCI bundle
 * (a static busybox as rootfs, the CRI annotations naming the pod), a runsc root dir the caller may
 * choose (the agent under test reads the state files there), {@code --network=none}, and a cgroups
 * path, normally one of a {@link PodCgroupV1}. The app's stdout and stderr, and runsc's, go to a log
 * file ({@link #log()}).
 *
 * <p>Every runsc command has a timeout (30 s by default); a failure throws
 * {@link CommandFailedException} with runsc's stderr. {@link #close()} force-deletes the sandbox and
 * removes the bundle (and the runsc root if this class made it); it is idempotent, never throws, and
 * may be called from a shutdown hook. runsc leaves the parents of the cgroups path it created; remove
 * them by closing the {@link PodCgroupV1} after this.
 *
 * <p>Thread-safe: the queries only run runsc; {@link #close()} is synchronized. After close the
 * queries report a stopped sandbox or fail with {@link CommandFailedException}.
 */
public final class RunscSandbox implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RunscSandbox.class);
  // runsc's own rule for container ids.
  private static final Pattern SANDBOX_ID = Pattern.compile("[\\w+.-]+");
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final String LOG_FILE = "sandbox.log";

  private final String id;
  private final PodRef pod;
  private final Path runscRoot;
  private final boolean ownsRunscRoot;
  private final Path bundleDir;
  private final RunscCommands runsc;
  private volatile long sentryPid = -1;
  private boolean closed; // guarded by this
  private volatile String logAfterClose;

  private RunscSandbox(Builder builder, Path runscRoot, boolean ownsRunscRoot, Path bundleDir) {
    this.id = builder.sandboxId;
    this.pod = builder.pod;
    this.runscRoot = runscRoot;
    this.ownsRunscRoot = ownsRunscRoot;
    this.bundleDir = bundleDir;
    this.runsc = new RunscCommands(builder.runsc, runscRoot, builder.commandTimeout);
  }

  /**
   * Describes a sandbox to start.
   *
   * @param sandboxId runsc's container id, also the sandbox cgroup's name; see {@link #newSandboxId()}
   * @param pod the pod named by the CRI annotations
   * @param cgroupsPath e.g. {@link PodCgroupV1#sandboxCgroupsPath(String)}
   */
  public static Builder builder(String sandboxId, PodRef pod, String cgroupsPath,
      SandboxWorkload workload) {
    return new Builder(sandboxId, pod, cgroupsPath, workload);
  }

  /** A fresh id shaped like containerd's sandbox ids (64 hex digits). */
  public static String newSandboxId() {
    byte[] bytes = new byte[32];
    RANDOM.nextBytes(bytes);
    return HexFormat.of().formatHex(bytes);
  }

  public String id() {
    return id;
  }

  public PodRef pod() {
    return pod;
  }

  /** The {@code --root} runsc keeps this sandbox's state in. */
  public Path runscRoot() {
    return runscRoot;
  }

  /** runsc's state file for this sandbox: {@code <root>/<id>_sandbox:<id>.state}. */
  public Path stateFile() {
    return stateFile(runscRoot, id);
  }

  private static Path stateFile(Path runscRoot, String id) {
    return runscRoot.resolve(id + "_sandbox:" + id + ".state");
  }

  public Path bundleDirectory() {
    return bundleDir;
  }

  /**
   * The sentry's (runsc-sandbox process's) pid, recorded when the sandbox started; it stays as it was
   * after the sandbox died, which is when the kernel log names it; -1 if it was already gone when
   * runsc was first asked.
   */
  public long sentryPid() {
    return sentryPid;
  }

  /**
   * runsc's status now: {@code creating}, {@code created}, {@code running}, {@code paused} or
   * {@code stopped}.
   */
  public String status() throws IOException {
    return runsc.state(id).path("status").asText();
  }

  /** Whether runsc says the sandbox is running; false too when runsc no longer knows it. */
  public boolean isRunning() {
    try {
      return "running".equals(status());
    } catch (IOException e) {
      log.debug("runsc state {} failed: {}", id, e.getMessage());
      return false;
    }
  }

  /** Sends SIGKILL to the sandbox's app ({@code runsc kill <id> KILL}); the sandbox then stops. */
  public void kill() throws IOException {
    log.info("killing sandbox {} (runsc kill KILL)", id);
    runsc.kill(id, "KILL");
  }

  /**
   * Polls {@code runsc state} until the sandbox is stopped, or runsc no longer knows it.
   *
   * @return whether it stopped within {@code timeout}
   */
  public boolean awaitStopped(Duration timeout) throws InterruptedException {
    return Await.until(this::isStoppedOrGone, timeout, Duration.ofMillis(100));
  }

  /** What the app and runsc printed so far (also after {@link #close()}). */
  public String log() {
    String captured = logAfterClose;
    return captured != null ? captured : readLog();
  }

  /**
   * Force-deletes the sandbox ({@code runsc delete -force}, which also removes the sandbox's own
   * cgroup) and removes the bundle, and the runsc root if it was made here. Idempotent; logs, never
   * throws.
   */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    // Cleanup must run even on an interrupted thread; the interrupt is restored afterwards.
    boolean interrupted = Thread.interrupted();
    try {
      runsc.deleteForce(id);
    } catch (CommandFailedException e) {
      log.error("the sandbox may be left behind: {}", e.getMessage());
    } catch (IOException | RuntimeException e) {
      log.error("runsc delete -force {} failed; the sandbox may be left behind", id, e);
    } finally {
      logAfterClose = readLog();
      deleteTreeQuietly(bundleDir);
      if (ownsRunscRoot) {
        deleteTreeQuietly(runscRoot);
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
    log.info("deleted sandbox {}", id);
  }

  private boolean isStoppedOrGone() {
    try {
      return "stopped".equals(status());
    } catch (IOException e) {
      // runsc forgets a deleted sandbox; "no longer known" means it is not running either.
      log.debug("runsc state {} failed, taking it as stopped: {}", id, e.getMessage());
      return true;
    }
  }

  private String readLog() {
    try {
      return new String(Files.readAllBytes(bundleDir.resolve(LOG_FILE)), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  private void start(Builder builder) throws IOException {
    OciBundle.write(bundleDir, builder.busybox, id, pod, builder.cgroupsPath,
        builder.workload.shellCommand());
    runsc.runDetached(bundleDir, id, bundleDir.resolve(LOG_FILE));
    JsonNode state = runsc.state(id);
    sentryPid = state.path("pid").asLong(-1);
    log.info("started sandbox {} for pod {} ({}; cgroups path {}, sentry pid {}, status {})", id,
        pod, builder.workload.description(), builder.cgroupsPath, sentryPid,
        state.path("status").asText());
  }

  private static void deleteTreeQuietly(Path dir) {
    try {
      FileTrees.delete(dir);
    } catch (IOException | UncheckedIOException e) {
      log.error("could not remove {}", dir, e);
    }
  }

  /**
   * Options of a sandbox to start; {@link #start()} starts it. Not thread-safe (use from one thread).
   */
  public static final class Builder {
    private final String sandboxId;
    private final PodRef pod;
    private final String cgroupsPath;
    private final SandboxWorkload workload;
    private Path runscRoot;
    private Path busybox = LabPrerequisites.DEFAULT_BUSYBOX;
    private String runsc = "runsc";
    private Duration commandTimeout = ExternalCommand.DEFAULT_TIMEOUT;
    private Path tempDirectory = Path.of(System.getProperty("java.io.tmpdir"));

    private Builder(String sandboxId, PodRef pod, String cgroupsPath, SandboxWorkload workload) {
      if (!SANDBOX_ID.matcher(sandboxId).matches()) {
        throw new IllegalArgumentException("not a valid runsc container id: " + sandboxId);
      }
      if (!cgroupsPath.startsWith("/")) {
        throw new IllegalArgumentException("cgroups path must be absolute: " + cgroupsPath);
      }
      this.sandboxId = sandboxId;
      this.pod = Objects.requireNonNull(pod, "pod");
      this.cgroupsPath = cgroupsPath;
      this.workload = Objects.requireNonNull(workload, "workload");
    }

    /**
     * The runsc {@code --root} to use, e.g. the one the agent under test watches; the caller keeps
     * it (it is not removed). Default: a temporary dir of this sandbox's own, removed on close.
     */
    public Builder runscRoot(Path dir) {
      this.runscRoot = dir;
      return this;
    }

    /** The static busybox copied into the rootfs; default {@code /bin/busybox}. */
    public Builder busybox(Path file) {
      this.busybox = file;
      return this;
    }

    /** The runsc executable; default {@code runsc} from the PATH. */
    public Builder runsc(String executable) {
      this.runsc = executable;
      return this;
    }

    /**
     * Where the bundle (and the default runsc root) are made, each in a new dir removed on close;
     * default {@code java.io.tmpdir}.
     */
    public Builder tempDirectory(Path dir) {
      this.tempDirectory = Objects.requireNonNull(dir, "tempDirectory");
      return this;
    }

    /** The timeout of each runsc command; default 30 s. */
    public Builder commandTimeout(Duration timeout) {
      this.commandTimeout = timeout;
      return this;
    }

    /**
     * Writes the bundle and starts the sandbox detached; returns once runsc reports it. On failure
     * everything made so far is removed before the exception propagates.
     *
     * @throws FileAlreadyExistsException if the runsc root already has a sandbox of this id (which
     *     this must not delete on its way out)
     * @throws CommandFailedException if runsc failed; the message holds its stderr
     */
    public RunscSandbox start() throws IOException {
      if (runscRoot != null && Files.exists(stateFile(runscRoot, sandboxId))) {
        throw new FileAlreadyExistsException(stateFile(runscRoot, sandboxId).toString(), null,
            "runsc root already has a sandbox with this id");
      }
      boolean ownsRoot = runscRoot == null;
      Path root = ownsRoot
          ? Files.createTempDirectory(tempDirectory, "oom-lab-runsc-root-")
          : Files.createDirectories(runscRoot);
      Path bundle;
      try {
        bundle = Files.createTempDirectory(tempDirectory, "oom-lab-bundle-");
      } catch (IOException e) {
        if (ownsRoot) {
          deleteTreeQuietly(root);
        }
        throw e;
      }
      RunscSandbox sandbox = new RunscSandbox(this, root, ownsRoot, bundle);
      try {
        sandbox.start(this);
        return sandbox;
      } catch (IOException | RuntimeException e) {
        sandbox.close();
        throw e;
      }
    }
  }
}
