package dev.oomwatch.lab;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A kubelet-like pod cgroup on cgroup v1 with the cgroupfs driver's layout:
 * {@code <cgroupRoot>/memory/kubepods[/burstable|/besteffort]/pod<uid>}, optionally with a memory limit,
 * as kubelet sets it for a pod. A runsc sandbox joins it by the cgroups path
 * {@link #sandboxCgroupsPath(String)}; runsc then creates {@code pod<uid>/<sandbox-id>} in every v1
 * hierarchy (cpu, pids, ... too) and, on delete, removes only that leaf.
 *
 * <p>{@link #close()} therefore removes the pod cgroup from every v1 hierarchy under the cgroup root,
 * child cgroups first, waiting (with a deadline) for tasks to leave and killing the ones that stay. Of
 * the shared parents ({@code kubepods}, {@code kubepods/burstable}) it removes only those that did not
 * exist when this pod cgroup was created, and only when no other pod is left in them. It never touches
 * a pod cgroup it did not create: {@link #create} fails if the pod cgroup already exists.
 *
 * <p>Thread-safe: reads and writes are single cgroup-file operations; {@link #close()} is synchronized
 * and idempotent, so it may be called again, and from a shutdown hook.
 */
public final class PodCgroupV1 implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PodCgroupV1.class);
  private static final Pattern POD_UID = Pattern.compile("[0-9A-Za-z_-]+");
  private static final Duration REMOVAL_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration KILL_LEFTOVERS_AFTER = Duration.ofSeconds(10);
  private static final int CREATE_ATTEMPTS = 5;

  private final Path cgroupRoot;
  private final String podUid;
  private final PodQosClass qos;
  /** Per v1 hierarchy, the shared parents (deepest first) that were absent at creation. */
  private final Map<Path, List<String>> parentsAbsentAtCreation;
  private boolean removed; // guarded by this

  private PodCgroupV1(Path cgroupRoot, String podUid, PodQosClass qos,
      Map<Path, List<String>> parentsAbsentAtCreation) {
    this.cgroupRoot = cgroupRoot;
    this.podUid = podUid;
    this.qos = qos;
    this.parentsAbsentAtCreation = parentsAbsentAtCreation;
  }

  /**
   * Creates the pod cgroup in the memory hierarchy (and the shared parents it needs) and, when given,
   * sets its {@code memory.limit_in_bytes}.
   *
   * @param cgroupRoot where the v1 hierarchies are mounted, normally {@code /sys/fs/cgroup}
   * @throws FileAlreadyExistsException if the pod cgroup exists already (someone else's)
   */
  public static PodCgroupV1 create(Path cgroupRoot, String podUid, PodQosClass qos,
      OptionalLong memoryLimitBytes) throws IOException {
    if (!POD_UID.matcher(podUid).matches()) {
      throw new IllegalArgumentException("not a pod uid: " + podUid);
    }
    Map<Path, List<String>> absentParents = new LinkedHashMap<>();
    for (Path hierarchy : v1Hierarchies(cgroupRoot)) {
      absentParents.put(hierarchy, absentParents(hierarchy, qos));
    }
    PodCgroupV1 pod = new PodCgroupV1(cgroupRoot, podUid, qos, Map.copyOf(absentParents));
    pod.makeMemoryDirectory();
    try {
      if (memoryLimitBytes.isPresent()) {
        pod.setMemoryLimitBytes(memoryLimitBytes.getAsLong());
      }
    } catch (IOException | RuntimeException e) {
      pod.closeQuietly();
      throw e;
    }
    log.info("created pod cgroup {} (memory limit {})", pod.cgroupPath(),
        memoryLimitBytes.isPresent() ? memoryLimitBytes.getAsLong() + " bytes" : "none");
    return pod;
  }

  public String podUid() {
    return podUid;
  }

  public PodQosClass qos() {
    return qos;
  }

  /** The pod cgroup's path inside a hierarchy, e.g. {@code /kubepods/burstable/pod<uid>}. */
  public String cgroupPath() {
    return qos.podCgroupPath(podUid);
  }

  /** The pod cgroup's directory in the memory hierarchy. */
  public Path memoryDirectory() {
    return memoryHierarchy().resolve(relative(cgroupPath()));
  }

  /** The cgroups path to give runsc for a sandbox of this pod: {@code <cgroupPath>/<sandboxId>}. */
  public String sandboxCgroupsPath(String sandboxId) {
    return cgroupPath() + "/" + sandboxId;
  }

  /** The sandbox's own cgroup directory in the memory hierarchy (runsc creates and deletes it). */
  public Path sandboxMemoryDirectory(String sandboxId) {
    return memoryDirectory().resolve(sandboxId);
  }

  public void setMemoryLimitBytes(long bytes) throws IOException {
    if (bytes <= 0) {
      throw new IllegalArgumentException("memory limit must be positive: " + bytes);
    }
    Files.writeString(memoryDirectory().resolve("memory.limit_in_bytes"), Long.toString(bytes));
  }

  public long memoryLimitBytes() throws IOException {
    return readCounter("memory.limit_in_bytes");
  }

  public long memoryUsageBytes() throws IOException {
    return readCounter("memory.usage_in_bytes");
  }

  /**
   * {@code memory.max_usage_in_bytes}: reaches the limit once the pod has hit it, and now and then a
   * page or so more (measured here: 4096 bytes over in about 1 OOM in 12), because the kernel lets a
   * task that is being OOM-killed charge past the limit.
   */
  public long memoryMaxUsageBytes() throws IOException {
    return readCounter("memory.max_usage_in_bytes");
  }

  /** {@code memory.failcnt}: how often a charge hit the limit; survives the sandbox's death. */
  public long memoryFailCount() throws IOException {
    return readCounter("memory.failcnt");
  }

  /**
   * Removes the pod cgroup from every v1 hierarchy (children first), then the shared parents this
   * instance found absent, if no other pod is in them. Waits for tasks to leave, up to 30 s, killing
   * them after 10 s. Idempotent.
   *
   * @throws IOException naming what could not be removed, after trying everything
   */
  @Override
  public synchronized void close() throws IOException {
    if (removed) {
      return;
    }
    // Cleanup must run even on an interrupted thread; the interrupt is restored afterwards.
    boolean interrupted = Thread.interrupted();
    try {
      removeEverywhere();
      removed = true;
      log.info("removed pod cgroup {}", cgroupPath());
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void removeEverywhere() throws IOException {
    long start = System.nanoTime();
    long killAfter = start + KILL_LEFTOVERS_AFTER.toNanos();
    long deadline = start + REMOVAL_TIMEOUT.toNanos();
    List<String> failures = new ArrayList<>();
    for (Path hierarchy : hierarchiesToClean()) {
      try {
        CgroupTree.remove(hierarchy.resolve(relative(cgroupPath())), killAfter, deadline);
      } catch (IOException e) {
        failures.add(e.getMessage());
        continue;
      }
      for (String parent : parentsAbsentAtCreation.getOrDefault(hierarchy, List.of())) {
        // Fails harmlessly (EBUSY) while another pod is still inside: that parent is shared.
        if (!CgroupTree.removeIfEmpty(hierarchy.resolve(relative(parent)))) {
          log.debug("kept shared cgroup {} in {}: not empty", parent, hierarchy);
        }
      }
    }
    if (!failures.isEmpty()) {
      throw new IOException("pod cgroup " + cgroupPath() + " left behind: " + failures);
    }
  }

  /** {@link #close()} for error paths: logs instead of throwing. */
  void closeQuietly() {
    try {
      close();
    } catch (IOException | RuntimeException e) {
      log.error("cleaning up pod cgroup {} failed", cgroupPath(), e);
    }
  }

  private void makeMemoryDirectory() throws IOException {
    Path parent = memoryHierarchy().resolve(relative(qos.parentCgroupPath()));
    for (int attempt = 1; ; attempt++) {
      try {
        Files.createDirectories(parent);
        Files.createDirectory(memoryDirectory());
        return;
      } catch (NoSuchFileException parentJustRemoved) {
        // Another lab removed an empty shared parent between the two mkdirs: make it again.
        if (attempt == CREATE_ATTEMPTS) {
          throw parentJustRemoved;
        }
      }
    }
  }

  private long readCounter(String file) throws IOException {
    return Long.parseLong(Files.readString(memoryDirectory().resolve(file)).strip());
  }

  private Path memoryHierarchy() {
    return cgroupRoot.resolve("memory");
  }

  /** The memory hierarchy first, then every other v1 hierarchy seen now or at creation. */
  private List<Path> hierarchiesToClean() {
    List<Path> hierarchies = new ArrayList<>();
    hierarchies.add(memoryHierarchy());
    List<Path> candidates = new ArrayList<>(parentsAbsentAtCreation.keySet());
    try {
      candidates.addAll(v1Hierarchies(cgroupRoot));
    } catch (IOException e) {
      log.warn("cannot list cgroup hierarchies under {}: {}", cgroupRoot, e.getMessage());
    }
    for (Path hierarchy : candidates) {
      if (!hierarchies.contains(hierarchy)) {
        hierarchies.add(hierarchy);
      }
    }
    return hierarchies;
  }

  /** Mounted v1 hierarchies (a {@code tasks} file marks v1); symlinked aliases are skipped. */
  private static List<Path> v1Hierarchies(Path cgroupRoot) throws IOException {
    List<Path> hierarchies = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(cgroupRoot)) {
      for (Path entry : entries) {
        if (Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS)
            && Files.isRegularFile(entry.resolve("tasks"))) {
          hierarchies.add(entry);
        }
      }
    }
    hierarchies.sort(null);
    return hierarchies;
  }

  private static List<String> absentParents(Path hierarchy, PodQosClass qos) {
    List<String> absent = new ArrayList<>();
    for (String parent = qos.parentCgroupPath(); !parent.isEmpty();
        parent = parent.substring(0, parent.lastIndexOf('/'))) {
      if (!Files.isDirectory(hierarchy.resolve(relative(parent)))) {
        absent.add(parent);
      }
    }
    return List.copyOf(absent);
  }

  private static String relative(String cgroupPath) {
    return cgroupPath.substring(1);
  }
}
