package dev.oomwatch.source.runsc;

import java.util.Optional;

/**
 * The memory cgroup a process is in, from {@code /proc/<pid>/cgroup} (see cgroups(7)): on cgroup v1
 * the line of the hierarchy whose controllers include {@code memory} ({@code 4:memory:/kubepods/...}),
 * otherwise the unified line {@code 0::/...}. A v1 memory line wins over a {@code 0::} line, which a
 * hybrid host lists as well. Immutable.
 *
 * @param version which hierarchy the path is in
 * @param path    the cgroup path, relative to that hierarchy's root as this process's cgroup namespace
 *                sees it (it starts with {@code /..} when the process is outside that namespace)
 */
record MemoryCgroup(Version version, String path) {

  /** Which cgroup hierarchy holds the memory controller. */
  enum Version {
    V1,
    V2
  }

  /** Parses the content of {@code /proc/<pid>/cgroup}; empty when it has no usable line. */
  static Optional<MemoryCgroup> parse(String content) {
    if (content == null) {
      return Optional.empty();
    }
    MemoryCgroup unified = null;
    for (String line : content.split("\n")) {
      String[] fields = line.split(":", 3);
      if (fields.length != 3 || !isDigits(fields[0]) || !fields[2].startsWith("/")) {
        continue;
      }
      if (fields[1].isEmpty()) {
        if (fields[0].equals("0") && unified == null) {
          unified = new MemoryCgroup(Version.V2, fields[2]);
        }
        continue;
      }
      for (String controller : fields[1].split(",")) {
        if (controller.equals("memory")) {
          return Optional.of(new MemoryCgroup(Version.V1, fields[2]));
        }
      }
    }
    return Optional.ofNullable(unified);
  }

  private static boolean isDigits(String text) {
    if (text.isEmpty() || text.length() > 9) {
      return false;
    }
    for (int i = 0; i < text.length(); i++) {
      if (text.charAt(i) < '0' || text.charAt(i) > '9') {
        return false;
      }
    }
    return true;
  }
}
