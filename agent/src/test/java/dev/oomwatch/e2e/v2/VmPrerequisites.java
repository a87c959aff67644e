package dev.oomwatch.e2e.v2;

import dev.oomwatch.lab.LabPrerequisites;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * What the cgroup v2 VM test needs on the host, each missing thing said as a sentence a user can act
 * on: qemu and cpio, Debian's kernel in the VM cache ({@code scripts/vm/kernel.sh}), a jlink (or the
 * runtime it made, cached by {@code scripts/vm/runtime.sh}), runsc, a static busybox, and the packaged
 * agent. It needs neither root nor cgroup v2 on the host. Stateless.
 */
final class VmPrerequisites {
  /** Where scripts/vm/ caches the kernel and the Java runtime; {@code OOMWATCH_VM_CACHE} moves it. */
  static Path cacheDir() {
    String dir = System.getenv("OOMWATCH_VM_CACHE");
    return Path.of(dir == null || dir.isBlank() ? "/var/cache/oomwatch-vm" : dir);
  }

  static Path kernel() {
    return cacheDir().resolve("kernel/current/vmlinuz");
  }

  private VmPrerequisites() {}

  static List<String> missing(Path agentJar) {
    String install = "; `scripts/prereqs.sh` (as root) installs it";
    List<String> missing = new ArrayList<>();
    if (onPath("qemu-system-x86_64").isEmpty()) {
      missing.add("qemu-system-x86_64 is not on the PATH (apt-get install qemu-system-x86)" + install);
    }
    if (onPath("cpio").isEmpty()) {
      missing.add("cpio is not on the PATH (apt-get install cpio)" + install);
    }
    if (onPath("timeout").isEmpty()) {
      missing.add("timeout (coreutils) is not on the PATH");
    }
    if (!Files.isRegularFile(kernel())) {
      missing.add("no kernel image at " + kernel() + ": `scripts/vm/kernel.sh` downloads Debian's current"
          + " kernel there (set OOMWATCH_VM_CACHE for another place)" + install);
    }
    if (!hasCachedRuntime() && jlink().isEmpty()) {
      missing.add("no jlink (a JDK's, to make the VM's Java runtime) and no runtime cached under "
          + cacheDir().resolve("jre") + install);
    }
    if (LabPrerequisites.findRunsc().isEmpty()) {
      missing.add("runsc (gVisor) is not on the PATH (apt-get install runsc)" + install);
    }
    if (!isStaticExecutable(LabPrerequisites.DEFAULT_BUSYBOX)) {
      missing.add("no static busybox at " + LabPrerequisites.DEFAULT_BUSYBOX + " (apt-get install busybox-static)"
          + install);
    }
    if (agentJar == null || !Files.isRegularFile(agentJar)) {
      missing.add("no agent jar at " + agentJar + ": run this test with `mvn verify` (it is a Failsafe"
          + " integration test of the packaged jar)");
    }
    return List.copyOf(missing);
  }

  /**
   * Skips the test when something is missing, with the list; when the environment variable {@code CI}
   * is {@code true}, fails it instead: under CI this test must run, never be skipped.
   */
  static void require(Path agentJar) {
    List<String> missing = missing(agentJar);
    if (missing.isEmpty()) {
      return;
    }
    String message = "the cgroup v2 VM test needs, and this machine lacks:\n- " + String.join("\n- ", missing);
    if ("true".equals(System.getenv("CI"))) {
      Assertions.fail(message);
    }
    Assumptions.abort(message);
  }

  private static boolean hasCachedRuntime() {
    Path jre = cacheDir().resolve("jre");
    if (!Files.isDirectory(jre)) {
      return false;
    }
    try (var dirs = Files.list(jre)) {
      return dirs.anyMatch(d -> Files.isRegularFile(d.resolve("complete")));
    } catch (IOException e) {
      return false;
    }
  }

  private static Optional<Path> jlink() {
    Path besideJava = Path.of(System.getProperty("java.home"), "bin", "jlink");
    if (Files.isExecutable(besideJava)) {
      return Optional.of(besideJava);
    }
    String javaHome = System.getenv("JAVA_HOME");
    if (javaHome != null && Files.isExecutable(Path.of(javaHome, "bin", "jlink"))) {
      return Optional.of(Path.of(javaHome, "bin", "jlink"));
    }
    return onPath("jlink");
  }

  static Optional<Path> onPath(String name) {
    String path = System.getenv("PATH");
    if (path == null) {
      return Optional.empty();
    }
    for (String dir : path.split(File.pathSeparator)) {
      Path candidate = Path.of(dir.isEmpty() ? "." : dir, name);
      if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }

  /** A file that runs without a dynamic loader: {@code ldd} says it is not dynamic. */
  private static boolean isStaticExecutable(Path file) {
    if (!Files.isRegularFile(file) || !Files.isExecutable(file)) {
      return false;
    }
    try {
      Process ldd = new ProcessBuilder("ldd", file.toString())
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .start();
      if (!ldd.waitFor(30, TimeUnit.SECONDS)) {
        ldd.destroyForcibly();
        return false;
      }
      return ldd.exitValue() != 0;
    } catch (IOException e) {
      return true; // no ldd to ask: the busybox-static check of scripts/prereqs.sh is the same one
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
