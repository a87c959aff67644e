package dev.oomwatch.lab;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Checks what this machine lacks to run the lab, and says each missing thing as a sentence a user can
 * act on. The lab needs: root, {@code runsc} on the PATH, a static busybox (package
 * {@code busybox-static}), the cgroup v1 memory controller mounted and writable, and, for the
 * scenarios that read the kernel log, a readable {@code /dev/kmsg}.
 *
 * <p>Immutable; every call looks at the machine afresh. Thread-safe. Side-effect free: {@code
 * /dev/kmsg} is opened and closed without reading.
 */
public final class LabPrerequisites {
  public static final Path DEFAULT_CGROUP_ROOT = Path.of("/sys/fs/cgroup");
  public static final Path DEFAULT_BUSYBOX = Path.of("/bin/busybox");
  public static final Path DEFAULT_KMSG = Path.of("/dev/kmsg");

  private final Path cgroupRoot;
  private final Path busybox;
  private final Path kmsg;

  public LabPrerequisites(Path cgroupRoot, Path busybox, Path kmsg) {
    this.cgroupRoot = cgroupRoot;
    this.busybox = busybox;
    this.kmsg = kmsg;
  }

  /** Checks the default places: {@code /sys/fs/cgroup}, {@code /bin/busybox}, {@code /dev/kmsg}. */
  public static LabPrerequisites onThisMachine() {
    return new LabPrerequisites(DEFAULT_CGROUP_ROOT, DEFAULT_BUSYBOX, DEFAULT_KMSG);
  }

  /** Everything missing, the kernel log included; empty when the lab can run. */
  public List<String> missing() {
    return missing(true);
  }

  /** Everything missing except a readable kernel log: for the scenarios that run with kmsg off. */
  public List<String> missingIgnoringKmsg() {
    return missing(false);
  }

  public List<String> missing(boolean needKmsg) {
    List<String> missing = new ArrayList<>();
    rootProblem().ifPresent(missing::add);
    runscProblem().ifPresent(missing::add);
    busyboxProblem().ifPresent(missing::add);
    memoryControllerProblem().ifPresent(missing::add);
    if (needKmsg) {
      kmsgProblem().ifPresent(missing::add);
    }
    return List.copyOf(missing);
  }

  /** Where {@code runsc} is on the PATH, if it is. */
  public static Optional<Path> findRunsc() {
    String path = System.getenv("PATH");
    if (path == null) {
      return Optional.empty();
    }
    for (String dir : path.split(File.pathSeparator)) {
      Path candidate = Path.of(dir.isEmpty() ? "." : dir, "runsc");
      if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }

  private Optional<String> rootProblem() {
    try {
      long uid = effectiveUid();
      return uid == 0
          ? Optional.empty()
          : Optional.of("Not running as root (effective uid " + uid + "): the lab creates cgroups and"
              + " starts runsc sandboxes; run it as root (e.g. with sudo).");
    } catch (IOException | RuntimeException e) {
      return Optional.of("Cannot tell whether this runs as root (" + e.getMessage() + " reading"
          + " /proc/self/status): run the lab as root on Linux.");
    }
  }

  private static long effectiveUid() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("Uid:")) {
        // "Uid:\treal\teffective\tsaved\tfs"
        return Long.parseLong(line.substring(4).trim().split("\\s+")[1]);
      }
    }
    throw new IOException("no Uid line");
  }

  private Optional<String> runscProblem() {
    return findRunsc().isPresent()
        ? Optional.empty()
        : Optional.of("runsc (gVisor) is not on the PATH: install it, e.g. `apt-get install runsc` on"
            + " Debian/Ubuntu.");
  }

  private Optional<String> busyboxProblem() {
    String install = "install a static busybox with `apt-get install busybox-static` (the sandbox's"
        + " rootfs is that one binary, with no libraries beside it).";
    if (!Files.isRegularFile(busybox)) {
      return Optional.of("No busybox at " + busybox + ": " + install);
    }
    try {
      return switch (ElfLinkage.of(busybox)) {
        case STATIC -> Optional.empty();
        case DYNAMIC -> Optional.of(busybox + " is dynamically linked: " + install);
        case NOT_ELF -> Optional.of(busybox + " is not an ELF executable: " + install);
      };
    } catch (IOException e) {
      return Optional.of("Cannot read " + busybox + " (" + e.getMessage() + "): " + install);
    }
  }

  private Optional<String> memoryControllerProblem() {
    Path memory = cgroupRoot.resolve("memory");
    if (Files.isRegularFile(memory.resolve("memory.limit_in_bytes"))) {
      return Files.isWritable(memory)
          ? Optional.empty()
          : Optional.of("The cgroup v1 memory controller at " + memory + " is not writable: run as"
              + " root on a host whose cgroup filesystem is mounted read-write.");
    }
    String v2Hint = Files.isRegularFile(cgroupRoot.resolve("cgroup.controllers"))
        ? " This machine uses cgroup v2 at " + cgroupRoot + "; for v2 use"
            + " lab/gvisor-oom-lab-cgroupv2.sh (a VM)."
        : "";
    return Optional.of("The cgroup v1 memory controller is not mounted at " + memory + ": this lab"
        + " lays out kubelet-like pod cgroups on cgroup v1 only." + v2Hint);
  }

  private Optional<String> kmsgProblem() {
    // Opening is the real test: with dmesg_restrict the open itself fails without CAP_SYSLOG.
    try (InputStream ignored = Files.newInputStream(kmsg)) {
      return Optional.empty();
    } catch (IOException | SecurityException e) {
      return Optional.of("The kernel log " + kmsg + " cannot be read (" + e.getMessage() + "): it"
          + " needs root with CAP_SYSLOG and the device (a privileged container); or run only the"
          + " scenarios with the kernel log off.");
    }
  }
}
