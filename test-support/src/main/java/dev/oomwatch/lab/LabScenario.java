package dev.oomwatch.lab;

import dev.oomwatch.model.PodRef;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A pod cgroup with a memory limit and one runsc sandbox in it, made in one call. With the defaults,
 * {@code LabScenario.builder().start()} is a real sandbox OOM: a burstable pod {@code default/oom-lab}
 * limited to 64 MiB whose app writes 512 MiB into tmpfs one second after starting; the host kernel
 * OOM-kills the sentry, and {@code sandbox().awaitStopped(...)} sees the sandbox stop.
 *
 * <p>{@link #close()} deletes the sandbox, then removes the pod cgroup (reverse order of creation). It
 * is idempotent, never throws (it logs), and is safe to call from a JVM shutdown hook, which this class
 * does not register: a caller that wants one adds
 * {@code Runtime.getRuntime().addShutdownHook(new Thread(scenario::close))}.
 *
 * <p>Thread-safe: the handles are; {@link #close()} is synchronized.
 */
public final class LabScenario implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(LabScenario.class);

  private final PodCgroupV1 podCgroup;
  private final RunscSandbox sandbox;
  private final long startedNanos;
  private boolean closed; // guarded by this

  private LabScenario(PodCgroupV1 podCgroup, RunscSandbox sandbox, long startedNanos) {
    this.podCgroup = podCgroup;
    this.sandbox = sandbox;
    this.startedNanos = startedNanos;
  }

  public static Builder builder() {
    return new Builder();
  }

  public PodCgroupV1 podCgroup() {
    return podCgroup;
  }

  public RunscSandbox sandbox() {
    return sandbox;
  }

  public PodRef pod() {
    return sandbox.pod();
  }

  /** Time since {@link Builder#start()} began. */
  public Duration elapsed() {
    return Duration.ofNanos(System.nanoTime() - startedNanos);
  }

  /** Deletes the sandbox, then removes the pod cgroup. Idempotent; logs, never throws. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      sandbox.close();
    } finally {
      podCgroup.closeQuietly();
    }
    log.info("lab scenario for pod {} cleaned up after {} ms", pod(), elapsed().toMillis());
  }

  /** Options of a scenario; {@link #start()} makes it. Not thread-safe (use from one thread). */
  public static final class Builder {
    private static final long MIB = 1024L * 1024L;

    private PodRef pod;
    private PodQosClass qos = PodQosClass.BURSTABLE;
    private OptionalLong memoryLimitBytes = OptionalLong.of(64 * MIB);
    private SandboxWorkload workload = SandboxWorkload.allocatePastLimit(512);
    private Path cgroupRoot = LabPrerequisites.DEFAULT_CGROUP_ROOT;
    private Path runscRoot;
    private Path tempDirectory;
    private String sandboxId;

    private Builder() {}

    /** The pod (its uid names the pod cgroup); default {@code default/oom-lab} with a random uid. */
    public Builder pod(PodRef pod) {
      this.pod = Objects.requireNonNull(pod, "pod");
      return this;
    }

    /** Default {@link PodQosClass#BURSTABLE}. */
    public Builder qos(PodQosClass qos) {
      this.qos = Objects.requireNonNull(qos, "qos");
      return this;
    }

    /** The pod cgroup's memory limit; default 64 MiB. */
    public Builder memoryLimitMib(long mib) {
      this.memoryLimitBytes = OptionalLong.of(mib * MIB);
      return this;
    }

    /** No memory limit on the pod cgroup (as for a BestEffort pod). */
    public Builder noMemoryLimit() {
      this.memoryLimitBytes = OptionalLong.empty();
      return this;
    }

    /** Default {@link SandboxWorkload#allocatePastLimit(int) allocatePastLimit(512)}. */
    public Builder workload(SandboxWorkload workload) {
      this.workload = Objects.requireNonNull(workload, "workload");
      return this;
    }

    /** Where the v1 hierarchies are mounted; default {@code /sys/fs/cgroup}. */
    public Builder cgroupRoot(Path dir) {
      this.cgroupRoot = Objects.requireNonNull(dir, "cgroupRoot");
      return this;
    }

    /** The runsc {@code --root} (kept on close); default: a temporary one, removed on close. */
    public Builder runscRoot(Path dir) {
      this.runscRoot = dir;
      return this;
    }

    /** Where the sandbox's bundle (and default runsc root) are made; default {@code java.io.tmpdir}. */
    public Builder tempDirectory(Path dir) {
      this.tempDirectory = dir;
      return this;
    }

    /** Default {@link RunscSandbox#newSandboxId()}. */
    public Builder sandboxId(String id) {
      this.sandboxId = id;
      return this;
    }

    /** Makes the pod cgroup, then starts the sandbox in it; on failure removes what it made. */
    public LabScenario start() throws IOException {
      long started = System.nanoTime();
      PodRef thePod = pod != null
          ? pod
          : new PodRef("default", "oom-lab", UUID.randomUUID().toString());
      String id = sandboxId != null ? sandboxId : RunscSandbox.newSandboxId();
      PodCgroupV1 podCgroup = PodCgroupV1.create(cgroupRoot, thePod.uid(), qos, memoryLimitBytes);
      try {
        RunscSandbox.Builder sandbox = RunscSandbox
            .builder(id, thePod, podCgroup.sandboxCgroupsPath(id), workload)
            .runscRoot(runscRoot);
        if (tempDirectory != null) {
          sandbox.tempDirectory(tempDirectory);
        }
        return new LabScenario(podCgroup, sandbox.start(), started);
      } catch (IOException | RuntimeException e) {
        podCgroup.closeQuietly();
        throw e;
      }
    }
  }
}
