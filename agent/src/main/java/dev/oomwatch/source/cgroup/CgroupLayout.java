package dev.oomwatch.source.cgroup;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * How the node's memory cgroups are laid out, as read from the mounted tree (never from config):
 * the cgroup version, the directory of the memory hierarchy, and kubelet's cgroup driver.
 *
 * <ul>
 *   <li>cgroup v1: a {@code memory} hierarchy under the root ({@code <root>/memory/memory.limit_in_bytes}).
 *       A cgroup2 mount beside it ({@code <root>/unified}, systemd's hybrid mode, as on this project's
 *       build machine) does not change that: the memory controller is bound to v1.
 *   <li>cgroup v2: a unified root whose {@code cgroup.controllers} lists {@code memory}; or, in hybrid
 *       mode with memory bound to v2, {@code <root>/unified}.
 *   <li>the driver: {@code kubepods/} (cgroupfs) or {@code kubepods.slice/} (systemd) under the memory
 *       root; empty until kubelet has made either (see {@link #redetectDriver()}).
 * </ul>
 *
 * Immutable.
 *
 * @param version    1 or 2
 * @param memoryRoot the directory cgroup paths are relative to (the kernel's {@code oom_memcg=} paths)
 * @param driver     kubelet's cgroup driver, when its top cgroup exists
 */
public record CgroupLayout(int version, Path memoryRoot, Optional<Driver> driver) {

  /** Kubelet's cgroup driver, told apart by the name of its top cgroup. */
  public enum Driver {
    /** {@code kubepods[/burstable|/besteffort]/pod<uid>} */
    CGROUPFS("kubepods"),
    /** {@code kubepods.slice[/kubepods-<qos>.slice]/kubepods[-<qos>]-pod<uid_>.slice} */
    SYSTEMD("kubepods.slice");

    private final String topCgroup;

    Driver(String topCgroup) {
      this.topCgroup = topCgroup;
    }

    /** The driver's top cgroup below the memory root. */
    public String topCgroup() {
      return topCgroup;
    }
  }

  private static final String ADVICE =
      "mount the host's /sys/fs/cgroup (read-only is enough) and pass its path with --cgroup-root";

  public CgroupLayout {
    if (version != 1 && version != 2) {
      throw new IllegalArgumentException("cgroup version must be 1 or 2: " + version);
    }
    Objects.requireNonNull(memoryRoot, "memoryRoot");
    Objects.requireNonNull(driver, "driver");
  }

  /**
   * Reads the layout under {@code cgroupRoot} ({@code /sys/fs/cgroup} on a node). A {@code cgroupRoot}
   * that is itself a v1 memory hierarchy is accepted too.
   *
   * @throws CgroupUnavailableException with a sentence saying what to do, when there is no readable
   *     memory controller under it
   */
  static CgroupLayout detect(Path cgroupRoot) throws CgroupUnavailableException {
    if (!Files.isDirectory(cgroupRoot)) {
      throw new CgroupUnavailableException("cannot read the cgroup root " + cgroupRoot + ": "
          + (Files.exists(cgroupRoot) ? "not a directory" : "no such directory") + "; " + ADVICE);
    }
    if (!Files.isReadable(cgroupRoot)) {
      throw new CgroupUnavailableException(
          "cannot read the cgroup root " + cgroupRoot + ": permission denied; " + ADVICE);
    }
    Path v1Memory = cgroupRoot.resolve("memory");
    if (isV1MemoryHierarchy(v1Memory)) {
      return withDriver(1, v1Memory);
    }
    if (isV1MemoryHierarchy(cgroupRoot)) {
      return withDriver(1, cgroupRoot);
    }
    if (hasV2Memory(cgroupRoot)) {
      return withDriver(2, cgroupRoot);
    }
    Path unified = cgroupRoot.resolve("unified");
    if (hasV2Memory(unified)) {
      return withDriver(2, unified);
    }
    throw new CgroupUnavailableException(
        "no memory cgroup controller under " + cgroupRoot + ": " + ADVICE);
  }

  /**
   * The same layout with the driver looked up again: two directory checks, cheap enough to run every
   * poll until kubelet has made its top cgroup.
   */
  CgroupLayout redetectDriver() {
    Optional<Driver> now = driverUnder(memoryRoot);
    return now.equals(driver) ? this : new CgroupLayout(version, memoryRoot, now);
  }

  /** For logs and health: {@code cgroup v1, cgroupfs driver}. */
  String describe() {
    return "cgroup v" + version + ", "
        + driver.map(d -> d == Driver.CGROUPFS ? "cgroupfs driver" : "systemd driver")
            .orElse("no kubepods cgroup yet");
  }

  private static CgroupLayout withDriver(int version, Path memoryRoot) {
    return new CgroupLayout(version, memoryRoot, driverUnder(memoryRoot));
  }

  private static Optional<Driver> driverUnder(Path memoryRoot) {
    for (Driver driver : Driver.values()) {
      if (Files.isDirectory(memoryRoot.resolve(driver.topCgroup()))) {
        return Optional.of(driver);
      }
    }
    return Optional.empty();
  }

  private static boolean isV1MemoryHierarchy(Path dir) {
    return Files.isRegularFile(dir.resolve("memory.limit_in_bytes"));
  }

  private static boolean hasV2Memory(Path dir) {
    Path controllers = dir.resolve("cgroup.controllers");
    if (!Files.isRegularFile(controllers)) {
      return false;
    }
    try {
      for (String controller : Files.readString(controllers, StandardCharsets.US_ASCII).split("\\s+")) {
        if (controller.equals("memory")) {
          return true;
        }
      }
    } catch (IOException e) {
      return false;
    }
    return false;
  }
}
