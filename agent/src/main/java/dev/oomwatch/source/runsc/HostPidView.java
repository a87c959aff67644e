package dev.oomwatch.source.runsc;

import static java.nio.charset.StandardCharsets.ISO_8859_1;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Whether a proc filesystem shows the host's processes, where runsc's state files name the sentries'
 * pids. A container has a pid namespace of its own: its {@code /proc} shows its own processes, so a
 * sentry's pid is not found there (or is another process), and a sandbox would be taken for dead — with
 * its pod at its limit, a false OOM. The test: pid 2 is {@code kthreadd}, the kernel thread that starts
 * all others, with no parent and the kernel-thread flag. Kernel threads exist in the host's (initial) pid
 * namespace only, so no container's own {@code /proc} passes it, and a procfs hidden with {@code hidepid}
 * fails it too. Immutable; {@link #check} reads one small file and never throws.
 *
 * @param visible whether the host's processes are visible in the proc root
 * @param detail  one sentence saying what was found, for the log and {@code /readyz}
 */
public record HostPidView(boolean visible, String detail) {

  /** {@code PF_KTHREAD} in the flags field (9) of {@code /proc/<pid>/stat}: a kernel thread. */
  static final long PF_KTHREAD = 0x00200000L;
  private static final int FLAGS_AFTER_COMM = 9 - 3;
  private static final int PPID_AFTER_COMM = 4 - 3;

  /** Looks at {@code <procRoot>/2/stat}. */
  public static HostPidView check(Path procRoot) {
    Path stat = procRoot.resolve("2").resolve("stat");
    String line;
    try (InputStream in = Files.newInputStream(stat)) {
      line = new String(in.readNBytes(4096), ISO_8859_1).trim();
    } catch (NoSuchFileException e) {
      return notVisible(procRoot, "it has no pid 2, as in a container's own pid namespace");
    } catch (IOException | RuntimeException e) {
      return notVisible(procRoot, "cannot read " + stat + ": " + e.getMessage());
    }
    int open = line.indexOf(" (");
    int close = line.lastIndexOf(") ");
    if (open < 0 || close < open) {
      return notVisible(procRoot, stat + " does not parse");
    }
    String comm = line.substring(open + 2, close);
    String[] fields = line.substring(close + 2).split(" ");
    long ppid = fields.length > PPID_AFTER_COMM ? number(fields[PPID_AFTER_COMM]) : -1;
    long flags = fields.length > FLAGS_AFTER_COMM ? number(fields[FLAGS_AFTER_COMM]) : -1;
    if (!comm.equals("kthreadd") || ppid != 0 || flags < 0 || (flags & PF_KTHREAD) == 0) {
      return notVisible(procRoot, "its pid 2 is '" + comm + "', not the kernel's kthreadd, as in a container's own"
          + " pid namespace");
    }
    return new HostPidView(true, "visible in " + procRoot);
  }

  private static HostPidView notVisible(Path procRoot, String why) {
    return new HostPidView(false, "not visible in " + procRoot + " (" + why + "): sandbox deaths and memory-limit"
        + " checks are off; OOM kills are still seen through the cgroup counters and the kernel log. Mount the"
        + " host's /proc read-only and pass it with --proc-root (the chart mounts it at /host/proc)");
  }

  private static long number(String field) {
    try {
      return Long.parseLong(field);
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
