package dev.oomwatch.bench;

import java.util.ArrayDeque;
import java.util.Deque;
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
