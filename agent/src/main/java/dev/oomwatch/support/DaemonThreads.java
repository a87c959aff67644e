package dev.oomwatch.support;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The agent's threads: each is a daemon, so that none of them keeps the JVM up after {@code main}'s
 * shutdown has run, and each has a name that says what it does, so that a thread dump or a log line
 * can be read. The one place the agent makes a thread. Stateless and thread-safe.
 */
public final class DaemonThreads {
  private DaemonThreads() {}

  /** A daemon thread named {@code name} that runs {@code body}; not started. */
  public static Thread thread(String name, Runnable body) {
    Thread thread = new Thread(body, name);
    thread.setDaemon(true);
    return thread;
  }

  /**
   * A factory for an executor's threads: daemons named {@code name}, the second and later ones
   * {@code name-2}, {@code name-3}, ...
   */
  public static ThreadFactory factory(String name) {
    AtomicInteger made = new AtomicInteger();
    return body -> {
      int number = made.incrementAndGet();
      return thread(number == 1 ? name : name + "-" + number, body);
    };
  }

  /** A single daemon thread named {@code name} that runs tasks in order and on schedule. */
  public static ScheduledExecutorService scheduler(String name) {
    return Executors.newSingleThreadScheduledExecutor(factory(name));
  }
}
