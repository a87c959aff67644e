package dev.oomwatch.lab;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Removes a cgroup v1 directory and its child cgroups, children first. A cgroup is removed with
 * {@code rmdir} (its control files do not count); the kernel refuses while it still has tasks or
 * children, so this polls until the tasks have left, and after a grace period SIGKILLs the ones that
 * stay. Killing is safe here because the lab removes only cgroups it created for its own sandboxes.
 * Stateless and thread-safe; two removers racing on one tree both succeed.
 */
final class CgroupTree {
  private static final Duration RMDIR_RETRY = Duration.ofMillis(100);

  private static final Logger log = LoggerFactory.getLogger(CgroupTree.class);

  private CgroupTree() {}

  /**
   * Removes {@code dir} and every cgroup below it.
   *
   * @param killAfterNanos {@link System#nanoTime()} after which tasks still inside get SIGKILL
   * @param deadlineNanos {@link System#nanoTime()} after which this gives up
   * @throws IOException naming the cgroup and its tasks when it could not be removed by the deadline
   */
  static void remove(Path dir, long killAfterNanos, long deadlineNanos) throws IOException {
    boolean killed = false;
    while (true) {
      for (Path child : childCgroups(dir)) {
        remove(child, killAfterNanos, deadlineNanos);
      }
      Optional<String> refusal = tryRmdir(dir);
      if (refusal.isEmpty()) {
        return;
      }
      List<Long> tasks = tasks(dir);
      long now = System.nanoTime();
      if (now - deadlineNanos >= 0) {
        throw new IOException("could not remove cgroup " + dir + " (" + refusal.get()
            + "); tasks still in it: " + tasks);
      }
      if (!killed && !tasks.isEmpty() && now - killAfterNanos >= 0) {
        log.warn("cgroup {} still holds tasks {}; killing them so it can be removed", dir, tasks);
        tasks.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
        killed = true;
      }
      pause();
    }
  }

  /** Removes {@code dir} only if it is an empty cgroup now; reports whether it is gone. */
  static boolean removeIfEmpty(Path dir) {
    return tryRmdir(dir).isEmpty();
  }

  /** Tries one rmdir; returns why the kernel refused (busy: tasks or children), if it did. */
  private static Optional<String> tryRmdir(Path dir) {
    try {
      Files.delete(dir);
      log.debug("removed cgroup {}", dir);
      return Optional.empty();
    } catch (NoSuchFileException gone) {
      return Optional.empty();
    } catch (FileSystemException refused) {
      return Optional.of(String.valueOf(refused.getReason()));
    } catch (IOException e) {
      return Optional.of(String.valueOf(e.getMessage()));
    }
  }

  private static List<Path> childCgroups(Path dir) throws IOException {
    List<Path> children = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path entry : entries) {
        if (Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS)) {
          children.add(entry);
        }
      }
    } catch (NoSuchFileException gone) {
      return List.of();
    }
    return children;
  }

  private static List<Long> tasks(Path dir) {
    try {
      return Files.readAllLines(dir.resolve("cgroup.procs")).stream()
          .map(String::strip)
          .filter(line -> !line.isEmpty())
          .map(Long::parseLong)
          .toList();
    } catch (IOException | NumberFormatException e) {
      return List.of();
    }
  }

  private static void pause() throws IOException {
    try {
      Thread.sleep(RMDIR_RETRY.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while removing cgroups");
    }
  }
}
