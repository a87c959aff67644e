package dev.oomwatch.source.runsc;

import static java.nio.charset.StandardCharsets.ISO_8859_1;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Looks up a process in a proc filesystem ({@code /proc} on a node; a fake tree in tests): whether it
 * runs, and since when. Thread-safe: each thread reads into a buffer of its own, reused (no state
 * otherwise).
 */
final class ProcessProbe {

  /** What the proc filesystem says about a pid. */
  sealed interface Finding permits Running, Exited, Unknown {}

  /** A live process; {@code startTime} tells it from a later process given the same pid. */
  record Running(ProcStat stat) implements Finding {}

  /** No such process, or only its zombie (it exited and awaits its parent). */
  record Exited(boolean zombie) implements Finding {}

  /** The proc entry could not be read or made sense of (permissions, garbage); decide nothing. */
  record Unknown(String reason) implements Finding {}

  private static final ThreadLocal<byte[]> BUFFER = ThreadLocal.withInitial(() -> new byte[1024]);

  private final Path procRoot;

  ProcessProbe(Path procRoot) {
    this.procRoot = procRoot;
  }

  Path procRoot() {
    return procRoot;
  }

  Finding probe(long pid) {
    Path stat = procRoot.resolve(Long.toString(pid)).resolve("stat");
    // The line is a few hundred bytes (comm is at most 64); a longer one is not a stat line. Every
    // sandbox's sentry is probed every second: the buffer is reused, one per thread.
    byte[] bytes = BUFFER.get();
    int length = 0;
    try (InputStream in = Files.newInputStream(stat)) {
      for (int read; length < bytes.length
          && (read = in.read(bytes, length, bytes.length - length)) > 0; ) {
        length += read;
      }
    } catch (NoSuchFileException e) {
      return new Exited(false);
    } catch (AccessDeniedException e) {
      return new Unknown("permission denied reading " + stat);
    } catch (IOException e) {
      // A process that exits between open and read makes the read fail with ESRCH.
      if (String.valueOf(e.getMessage()).contains("No such process")) {
        return new Exited(false);
      }
      return new Unknown("cannot read " + stat + ": " + e.getMessage());
    }
    Optional<ProcStat> parsed = ProcStat.parse(bytes, length);
    if (parsed.isEmpty() || parsed.get().pid() != pid) {
      return new Unknown(stat + " does not parse");
    }
    return parsed.get().exited() ? new Exited(true) : new Running(parsed.get());
  }

  /** The content of {@code /proc/<pid>/cgroup}, at most 64 KiB of it. */
  String cgroupFile(long pid) throws IOException {
    Path file = procRoot.resolve(Long.toString(pid)).resolve("cgroup");
    try (InputStream in = Files.newInputStream(file)) {
      return new String(in.readNBytes(64 * 1024), ISO_8859_1);
    }
  }
}
