package dev.oomwatch.source.cgroup;

import static java.nio.file.StandardWatchEventKinds.ENTRY_MODIFY;
import static java.nio.file.StandardWatchEventKinds.OVERFLOW;

import dev.oomwatch.support.DaemonThreads;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * cgroup v2 notifications: the kernel marks a cgroup's {@code memory.events} modified (inotify) when
 * one of its counters rises, in that cgroup and every ancestor, so a watch of each followed pod
 * cgroup directory through the JDK's {@link WatchService} (inotify on Linux; it works through a
 * read-only bind mount, being per inode) tells of a kill below it as it is counted. The {@code max}
 * and {@code high} counters rise often in a pod that works near its limit (the kernel sends at most one
 * such notification per 10 ms and file), so each notification re-reads that one small file and wakes
 * the poller only when {@code oom} or {@code oom_kill} rose.
 *
 * <p>Cost: one inotify instance (the JDK's, with its own background thread), one watch per followed
 * pod cgroup, and the daemon thread {@code cgroup-notify} that takes the JDK's events; no polling.
 *
 * <p>Threading: {@link #follow} on the polling thread, the events on {@code cgroup-notify};
 * {@link #close()} from any thread.
 */
final class CgroupV2Notifier implements CgroupNotifier {

  private static final Logger log = LoggerFactory.getLogger(CgroupV2Notifier.class);
  private static final Path MEMORY_EVENTS = Path.of("memory.events");
  private static final long THREAD_EXIT_WAIT_MILLIS = 5_000;

  private final CgroupNotifications owner;
  private final WatchService watcher;
  private final Thread thread;
  private final Map<Path, Watch> watches = new ConcurrentHashMap<>();
  /** Followed cgroups that could not be watched; not tried again while followed. Polling thread. */
  private final Set<Path> failed = ConcurrentHashMap.newKeySet();
  private final long[] values = new long[MemoryFileParser.EVENTS_KEYS.length];
  private volatile boolean closed;

  /** One watched pod cgroup and the counters it had at its latest notification. */
  private static final class Watch {
    final Path cgroup;
    final WatchKey key;
    long oom = MemoryFileParser.INVALID;
    long oomKill = MemoryFileParser.INVALID;

    Watch(Path cgroup, WatchKey key) {
      this.cgroup = cgroup;
      this.key = key;
    }
  }

  CgroupV2Notifier(CgroupNotifications owner) {
    this.owner = owner;
    WatchService service = null;
    try {
      service = FileSystems.getDefault().newWatchService();
    } catch (IOException | RuntimeException e) {
      owner.failed(Path.of("/"), reason(e), "cannot start an inotify watch: " + e);
    }
    this.watcher = service;
    this.thread = DaemonThreads.thread("cgroup-notify", this::run);
    if (service != null) {
      thread.start();
    }
  }

  @Override
  public void follow(Set<Path> podCgroups) {
    if (watcher == null || closed) {
      return;
    }
    for (Watch watch : watches.values()) {
      if (!podCgroups.contains(watch.cgroup)) {
        watch.key.cancel();
        watches.remove(watch.cgroup);
      }
    }
    failed.retainAll(podCgroups);
    for (Path cgroup : podCgroups) {
      if (!watches.containsKey(cgroup) && !failed.contains(cgroup)) {
        try {
          Watch watch = new Watch(cgroup, cgroup.register(watcher, ENTRY_MODIFY));
          // the counters now: a rise from here on wakes the poller
          synchronized (this) {
            readCounters(watch);
          }
          watches.put(cgroup, watch);
        } catch (NoSuchFileException e) {
          log.debug("cgroup {} went away before it could be watched", cgroup);
          failed.add(cgroup);
        } catch (IOException | RuntimeException e) {
          owner.failed(cgroup, reason(e), "inotify watch: " + e);
          failed.add(cgroup);
        }
      }
    }
  }

  @Override
  public int registered() {
    return watches.size();
  }

  @Override
  public boolean available() {
    return watcher != null;
  }

  @Override
  public void close() {
    if (closed || watcher == null) {
      closed = true;
      return;
    }
    closed = true;
    try {
      watcher.close();
    } catch (IOException e) {
      log.debug("closing the inotify watch: {}", e.toString());
    }
    if (thread != Thread.currentThread()) {
      try {
        thread.join(THREAD_EXIT_WAIT_MILLIS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    watches.clear();
  }

  private void run() {
    try {
      while (!closed) {
        WatchKey key = watcher.take();
        Watch watch = watchOf(key);
        boolean rose = false;
        for (WatchEvent<?> event : key.pollEvents()) {
          if (watch != null && (event.kind() == OVERFLOW || MEMORY_EVENTS.equals(event.context()))) {
            synchronized (this) {
              rose |= readCounters(watch);
            }
          }
        }
        if (!key.reset() && watch != null) {
          watches.remove(watch.cgroup, watch); // the directory is gone: the poller sees that itself
        }
        if (rose) {
          owner.notified();
        }
      }
    } catch (ClosedWatchServiceException | InterruptedException e) {
      // closed
    } catch (RuntimeException | Error e) {
      log.warn("the cgroup notification thread stopped ({}); OOM kills are seen at the next cgroup poll", e.toString());
      owner.failed(Path.of("/"), CgroupNotifications.OTHER, e.toString());
    }
  }

  private Watch watchOf(WatchKey key) {
    Object dir = key.watchable();
    Watch watch = dir instanceof Path ? watches.get((Path) dir) : null;
    return watch != null && watch.key == key ? watch : null;
  }

  /** Reads the cgroup's {@code oom} and {@code oom_kill}; true if either rose since the last read. */
  private boolean readCounters(Watch watch) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(watch.cgroup.resolve(MEMORY_EVENTS));
    } catch (IOException e) {
      return false;
    }
    MemoryFileParser.parseKeyed(bytes, 0, bytes.length, MemoryFileParser.EVENTS_KEYS, values);
    long oom = values[3];
    long oomKill = values[4];
    boolean rose = TrackedCgroup.rose(watch.oom, oom) || TrackedCgroup.rose(watch.oomKill, oomKill);
    if (oom != MemoryFileParser.INVALID) {
      watch.oom = oom;
    }
    if (oomKill != MemoryFileParser.INVALID) {
      watch.oomKill = oomKill;
    }
    return rose;
  }

  private static String reason(Exception e) {
    if (e instanceof AccessDeniedException) {
      return CgroupNotifications.PERMISSION_DENIED;
    }
    String message = e instanceof FileSystemException ? ((FileSystemException) e).getReason() : e.getMessage();
    if (message != null && (message.contains("inotify") || message.contains("Too many open files"))) {
      return CgroupNotifications.TOO_MANY_FILES;
    }
    return CgroupNotifications.OTHER;
  }
}
