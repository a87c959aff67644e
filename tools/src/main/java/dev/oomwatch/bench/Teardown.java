package dev.oomwatch.bench;

import dev.oomwatch.testing.FileTrees;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything the bench made that must not outlive it — agent JVMs, sandboxes, stand-in processes, pod
 * cgroups, temporary dirs — undone in reverse order by {@link #close}, also from a shutdown hook
 * (Ctrl-C). Steps may be closed early by their owner; each step's close must be idempotent. Something
 * added after {@link #close} began is closed at once and the add fails, so nothing made during a
 * shutdown is left behind. Thread-safe (synchronized).
 */
final class Teardown implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Teardown.class);

  private final Deque<AutoCloseable> steps = new ArrayDeque<>();
  private boolean closed;

  /** Registers {@code step} to be closed at the end; returns it. */
  synchronized <T extends AutoCloseable> T add(T step) {
    if (closed) {
      closeQuietly(step);
      throw new IllegalStateException("the bench is stopping");
    }
    steps.push(step);
    return step;
  }

  /** Work done in a temporary directory of its own; returns the command's exit code. */
  interface InWorkDir {
    int run(Path workDir) throws Exception;
  }

  /**
   * Runs {@code work} in a new temporary directory {@code oomwatch-<name>-…}, with this teardown closed at
   * the end and on Ctrl-C (a shutdown hook). The directory goes with the teardown unless {@code work}
   * threw: then it is kept, with the agents' logs, the failure is printed on {@code out}, and the exit
   * code is 1. On the calling thread.
   */
  int runInWorkDir(String name, PrintStream out, InWorkDir work) {
    Thread cleanupOnCtrlC = new Thread(this::close, name + "-cleanup");
    Runtime.getRuntime().addShutdownHook(cleanupOnCtrlC);
    AtomicBoolean keep = new AtomicBoolean();
    Path dir = null;
    try {
      dir = Files.createTempDirectory("oomwatch-" + name + "-");
      Path created = dir;
      add(() -> {
        if (!keep.get()) {
          FileTrees.delete(created);
        }
      });
      return work.run(dir);
    } catch (Exception e) {
      keep.set(true);
      out.println(name + " failed: " + e);
      e.printStackTrace(out);
      if (dir != null) {
        out.println("agent logs kept in " + dir);
      }
      return 1;
    } finally {
      close();
      try {
        Runtime.getRuntime().removeShutdownHook(cleanupOnCtrlC);
      } catch (IllegalStateException shuttingDown) {
        // the hook is running or ran: it cleans up
      }
    }
  }

  @Override
  public synchronized void close() {
    closed = true;
    while (!steps.isEmpty()) {
      closeQuietly(steps.pop());
    }
  }

  private static void closeQuietly(AutoCloseable step) {
    try {
      step.close();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      LOG.warn("cleanup step interrupted: {}", e.toString());
    } catch (Exception | Error e) {
      LOG.warn("cleanup step failed: {}", e.toString());
    }
  }
}
