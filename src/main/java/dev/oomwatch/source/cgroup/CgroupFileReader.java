package dev.oomwatch.source.cgroup;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Reads one small cgroup file at a time into a buffer it reuses, so that polling allocates next to
 * nothing. A file that is gone — its cgroup was removed before the open ({@code ENOENT}) or between
 * the open and the read ({@code ENODEV}, which is what the kernel returns then) — reads as
 * {@link #VANISHED}, not as an error: sandbox cgroups disappear with their sandbox at any moment.
 *
 * <p>Not thread-safe: one instance per polling thread; {@link #bytes()} is overwritten by the next read.
 */
final class CgroupFileReader {

  /** What {@link #read} returns when the file (or its whole cgroup) no longer exists. */
  static final int VANISHED = -1;

  /** The memory files read here are under 200 bytes; a longer file is read up to this much. */
  static final int BUFFER_BYTES = 4096;

  private final ByteBuffer buffer = ByteBuffer.allocate(BUFFER_BYTES);

  /**
   * Reads {@code file} from its start into {@link #bytes()}.
   *
   * @return how many bytes were read, or {@link #VANISHED}
   * @throws IOException when the file exists but cannot be read (permission denied, ...)
   */
  int read(Path file) throws IOException {
    FileChannel channel;
    try {
      channel = FileChannel.open(file, StandardOpenOption.READ);
    } catch (IOException e) {
      if (isVanished(e)) {
        return VANISHED;
      }
      throw e;
    }
    buffer.clear();
    try (channel) {
      while (buffer.hasRemaining()) {
        int wanted = buffer.remaining();
        int read = channel.read(buffer);
        if (read < 0) {
          break;
        }
        // cgroup files are generated whole at the first read and end with a newline: a short read
        // ending in one is all there is, which saves the read() that would return end-of-file.
        if (read > 0 && read < wanted && buffer.get(buffer.position() - 1) == '\n') {
          break;
        }
      }
    } catch (IOException e) {
      if (isVanished(e)) {
        return VANISHED;
      }
      throw e;
    }
    return buffer.position();
  }

  /** The bytes of the last {@link #read}, from index 0. */
  byte[] bytes() {
    return buffer.array();
  }

  /** Whether the failure means the file or its cgroup is gone, as opposed to unreadable. */
  static boolean isVanished(IOException e) {
    if (e instanceof NoSuchFileException) {
      return true;
    }
    String reason = e instanceof FileSystemException fse ? fse.getReason() : e.getMessage();
    return reason != null
        && (reason.contains("No such device") || reason.contains("No such file or directory"));
  }
}
