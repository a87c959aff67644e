package dev.oomwatch.source.runsc;

import static java.nio.charset.StandardCharsets.ISO_8859_1;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Tells whether a memory cgroup, or any of its ancestors below the hierarchy's root, has a memory
 * limit: on v1 {@code memory.limit_in_bytes} below "unlimited", on v2 {@code memory.max} other than
 * {@code max}. The hierarchy's root itself is not looked at: it never has a limit of its own (v2 has
 * no {@code memory.max} there; v1 keeps it unlimited). Stateless and thread-safe.
 */
final class MemoryLimitProbe {

  /**
   * v1 values from here up mean "no limit". The kernel shows no limit as the largest page-aligned
   * value ({@code 9223372036854771712} with 4 KiB pages, less with larger pages); no real limit is
   * anywhere near 4 EiB.
   */
  static final long V1_UNLIMITED_FLOOR = 1L << 62;

  /** What the walk found. */
  sealed interface Finding permits Limited, Unlimited, Unknown {}

  /** {@code cgroup} (the sandbox's own or an ancestor) limits the memory to {@code bytes}. */
  record Limited(String cgroup, long bytes) implements Finding {}

  /** Neither the cgroup nor any ancestor has a limit. */
  record Unlimited() implements Finding {}

  /** Something could not be read; {@code reason} says what (decide nothing). */
  record Unknown(String reason) implements Finding {}

  private final Path cgroupRoot;

  /** @param cgroupRoot where the cgroup filesystems are mounted, {@code /sys/fs/cgroup} on a node */
  MemoryLimitProbe(Path cgroupRoot) {
    this.cgroupRoot = cgroupRoot;
  }

  Finding check(MemoryCgroup cgroup) {
    String path = cgroup.path();
    if (!isPlainAbsolute(path)) {
      return new Unknown("cgroup path " + path + " is outside the agent's cgroup namespace; run the"
          + " agent in the host's cgroup namespace");
    }
    Path hierarchy = cgroup.version() == MemoryCgroup.Version.V1
        ? cgroupRoot.resolve("memory")
        : cgroupRoot;
    String limitFile = cgroup.version() == MemoryCgroup.Version.V1
        ? "memory.limit_in_bytes"
        : "memory.max";
    for (String current = path; !current.equals("/"); current = parent(current)) {
      Path file = hierarchy.resolve(current.substring(1)).resolve(limitFile);
      String value;
      try (InputStream in = Files.newInputStream(file)) {
        value = new String(in.readNBytes(64), ISO_8859_1).strip();
      } catch (NoSuchFileException e) {
        return new Unknown("no " + file + "; mount the host's " + cgroupRoot + " into the agent");
      } catch (IOException e) {
        return new Unknown("cannot read " + file + ": " + e.getMessage());
      }
      if (cgroup.version() == MemoryCgroup.Version.V2 && value.equals("max")) {
        continue;
      }
      long bytes = parseBytes(value);
      if (bytes < 0) {
        return new Unknown(file + " holds " + (value.length() > 40 ? value.substring(0, 40) : value));
      }
      if (cgroup.version() == MemoryCgroup.Version.V2 || bytes < V1_UNLIMITED_FLOOR) {
        return new Limited(current, bytes);
      }
    }
    return new Unlimited();
  }

  private static String parent(String path) {
    int slash = path.lastIndexOf('/');
    return slash <= 0 ? "/" : path.substring(0, slash);
  }

  /** Absolute, without empty, {@code .} or {@code ..} segments. */
  static boolean isPlainAbsolute(String path) {
    if (!path.startsWith("/")) {
      return false;
    }
    if (path.equals("/")) {
      return true;
    }
    for (String segment : path.substring(1).split("/", -1)) {
      if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
        return false;
      }
    }
    return true;
  }

  private static long parseBytes(String text) {
    if (text.isEmpty() || text.length() > 19) {
      return -1;
    }
    long value = 0;
    for (int i = 0; i < text.length(); i++) {
      int digit = text.charAt(i) - '0';
      if (digit < 0 || digit > 9 || value > (Long.MAX_VALUE - digit) / 10) {
        return -1;
      }
      value = value * 10 + digit;
    }
    return value;
  }
}
