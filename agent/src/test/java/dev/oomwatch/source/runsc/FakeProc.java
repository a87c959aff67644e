package dev.oomwatch.source.runsc;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A fake proc filesystem in a temp dir: {@code <pid>/stat} lines shaped like the kernel's (this is a
 * real sentry's, with its pid, state and start time replaced) and {@code <pid>/cgroup}. It shows the
 * host's pid namespace (pid 2 is kthreadd, as {@link HostPidView} checks) unless {@link #asAContainerSeesIt}.
 */
final class FakeProc {

  /** The host's pid 2, as read on this project's lab machine. */
  static final String KTHREADD = "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 19 0 0"
      + " 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n";

  private final Path root;

  FakeProc(Path root) {
    this.root = root;
    stat(2, KTHREADD);
  }

  /** Without the host's kernel threads: a container's own pid namespace. */
  FakeProc asAContainerSeesIt() {
    return gone(2);
  }

  Path root() {
    return root;
  }

  /** The stat line of a process; {@code state} {@code S} runs, {@code Z} is a zombie. */
  static String statLine(long pid, String comm, char state, long startTime) {
    return pid + " (" + comm + ") " + state + " 1 " + pid + " " + pid + " 0 -1 4194560 4585 1606 0 0"
        + " 1 2 0 1 20 0 15 0 " + startTime + " 1833230336 6408 18446744073709551615 4194304"
        + " 14568024 140731999293568 0 0 0 0 0 2147221247 0 0 0 17 0 0 0 0 0 0 27897856 28206408"
        + " 347779072 140731999297201 140731999297513 140731999297513 140731999297513 0\n";
  }

  /** A running sentry ({@code exe}) with this pid and start time. */
  FakeProc running(long pid, long startTime) {
    return stat(pid, statLine(pid, "exe", 'S', startTime));
  }

  /** The pid's process exited and awaits its parent. */
  FakeProc zombie(long pid, long startTime) {
    return stat(pid, statLine(pid, "exe", 'Z', startTime));
  }

  FakeProc stat(long pid, String content) {
    write(root.resolve(Long.toString(pid)).resolve("stat"), content);
    return this;
  }

  FakeProc cgroup(long pid, String content) {
    write(root.resolve(Long.toString(pid)).resolve("cgroup"), content);
    return this;
  }

  /** The pid's process was reaped: its dir is gone. */
  FakeProc gone(long pid) {
    Path dir = root.resolve(Long.toString(pid));
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(path);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return this;
  }

  private static void write(Path file, String content) {
    try {
      Files.createDirectories(file.getParent());
      Files.writeString(file, content);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
