package dev.oomwatch.source.cgroup;

import java.nio.file.Path;
import java.util.Set;

/**
 * Tells when the kernel signals a memory event in one of the followed pod cgroups, so that the poller
 * reads them again at once instead of at its next tick. A notification is only a hint to poll: what is
 * reported still comes from the counters the poll reads (see {@link CgroupSource}).
 *
 * <p>Threading: {@link #follow} is called by the polling thread only; each implementation waits for
 * the kernel on one daemon thread of its own and calls {@link CgroupNotifications#notified} from it.
 * {@link #close()} may be called from any thread, once.
 */
interface CgroupNotifier extends AutoCloseable {

  /** A notifier that could not start: registers nothing, so the poll alone sees every pod. */
  CgroupNotifier UNAVAILABLE = new CgroupNotifier() {
    @Override
    public void follow(Set<Path> podCgroups) {}

    @Override
    public int registered() {
      return 0;
    }

    @Override
    public boolean available() {
      return false;
    }

    @Override
    public void close() {}
  };

  /**
   * From now on, notifications come for exactly these pod cgroup directories: new ones are registered,
   * the others released. Registration failures are reported to {@link CgroupNotifications#failed}, and
   * that pod is then seen by the poll only.
   */
  void follow(Set<Path> podCgroups);

  /** How many of the followed cgroups have a notification registered now. */
  int registered();

  /** False when this notifier can register nothing at all (its failure was reported once). */
  default boolean available() {
    return true;
  }

  /** Releases every registration and stops the waiting thread. */
  @Override
  void close();
}
