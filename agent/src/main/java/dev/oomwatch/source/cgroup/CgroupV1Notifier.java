package dev.oomwatch.source.cgroup;

import static dev.oomwatch.source.cgroup.LinuxLibc.EFD_CLOEXEC;
import static dev.oomwatch.source.cgroup.LinuxLibc.EFD_NONBLOCK;
import static dev.oomwatch.source.cgroup.LinuxLibc.O_CLOEXEC;
import static dev.oomwatch.source.cgroup.LinuxLibc.O_RDONLY;
import static dev.oomwatch.source.cgroup.LinuxLibc.O_WRONLY;
import static java.nio.charset.StandardCharsets.US_ASCII;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.NativeLong;
import dev.oomwatch.support.DaemonThreads;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * cgroup v1 OOM notifications: for each followed pod cgroup, an eventfd registered through the
 * cgroup's {@code cgroup.event_control} on its {@code memory.oom_control}, which the kernel signals
 * when that cgroup (or one below it) enters OOM — before the victim is killed, so the poll that
 * follows reads again a few times until the kill is counted — and when the cgroup is removed, which is
 * told apart by the directory being gone and only releases the registration.
 *
 * <p>Cost: one eventfd per followed pod cgroup (the {@code memory.oom_control} descriptor named in the
 * registration is closed right after it: the kernel holds the cgroup from then on, and the
 * registration ends when the eventfd is closed), one more eventfd to wake the waiting thread, and that
 * thread, blocked in {@code poll(2)} while nothing happens.
 *
 * <p>Writing {@code cgroup.event_control} needs a writable mount of the cgroup tree; the file is
 * world-writable (mode 0222), so a non-root agent without capabilities can do that and nothing else.
 * A read-only mount gives {@code EROFS}: every pod is then left to the poll (see
 * {@link CgroupNotifications#failed}).
 *
 * <p>Threading: {@link #follow} (polling thread) and {@link #close()} only post work; every
 * descriptor is opened, registered and closed by the daemon thread {@code cgroup-notify}, so none is
 * closed while {@code poll(2)} waits on it.
 */
final class CgroupV1Notifier implements CgroupNotifier {

  private static final Logger log = LoggerFactory.getLogger(CgroupV1Notifier.class);
  private static final long THREAD_EXIT_WAIT_MILLIS = 5_000;
  private static final NativeLong EIGHT = new NativeLong(8);

  private final LinuxLibc libc;
  private final CgroupNotifications owner;
  private final int wakeFd;
  private final Thread thread;
  private final byte[] one = {1, 0, 0, 0, 0, 0, 0, 0};

  private volatile Set<Path> wanted = Set.of();
  private volatile int registeredCount;
  private volatile boolean closed;

  // Owned by the waiting thread.
  private final Map<Path, Integer> eventFds = new HashMap<>();
  private final Set<Path> failed = new HashSet<>();
  private final byte[] drained = new byte[8];

  private CgroupV1Notifier(LinuxLibc libc, CgroupNotifications owner, int wakeFd) {
    this.libc = libc;
    this.owner = owner;
    this.wakeFd = wakeFd;
    this.thread = DaemonThreads.thread("cgroup-notify", this::run);
  }

  /**
   * A started notifier for the v1 memory hierarchy of {@code layout}, or {@link #UNAVAILABLE} (reported
   * to {@code owner}) when the tree is not the kernel's cgroup file system or libc cannot be called.
   */
  static CgroupNotifier create(CgroupNotifications owner, CgroupLayout layout) {
    Objects.requireNonNull(owner, "owner");
    Path root = layout.memoryRoot();
    if (!CgroupFileReader.isKernelCgroupFs(root)) {
      owner.failed(root, CgroupNotifications.NOT_CGROUPFS, "not the kernel's cgroup file system");
      return UNAVAILABLE;
    }
    LinuxLibc libc;
    int wakeFd;
    try {
      libc = LinuxLibc.load();
      wakeFd = libc.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    } catch (LastErrorException e) {
      owner.failed(root, reason(e.getErrorCode()), "eventfd: " + e.getMessage());
      return UNAVAILABLE;
    } catch (LinkageError | RuntimeException e) {
      owner.failed(root, CgroupNotifications.NATIVE_LIBRARY, "cannot call libc through JNA: " + e);
      return UNAVAILABLE;
    }
    CgroupV1Notifier notifier = new CgroupV1Notifier(libc, owner, wakeFd);
    notifier.thread.start();
    return notifier;
  }

  @Override
  public void follow(Set<Path> podCgroups) {
    wanted = Set.copyOf(podCgroups);
    wake();
  }

  @Override
  public int registered() {
    return registeredCount;
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    wake();
    if (thread != Thread.currentThread()) {
      try {
        thread.join(THREAD_EXIT_WAIT_MILLIS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      if (thread.isAlive()) {
        log.warn("the cgroup notification thread did not stop within {} ms", THREAD_EXIT_WAIT_MILLIS);
      }
    }
  }

  private void wake() {
    try {
      libc.write(wakeFd, one, EIGHT);
    } catch (LastErrorException e) {
      // EAGAIN: the counter is full, so the thread is woken anyway.
      log.debug("waking the cgroup notification thread: {}", e.getMessage());
    }
  }

  private void run() {
    try {
      List<Path> slots = new ArrayList<>();
      Memory fds = null;
      boolean changed = true;
      while (!closed) {
        if (changed) {
          sync();
          slots.clear();
          slots.addAll(eventFds.keySet());
          fds = new Memory((long) LinuxLibc.POLLFD_SIZE * (slots.size() + 1));
          setSlot(fds, 0, wakeFd);
          for (int i = 0; i < slots.size(); i++) {
            setSlot(fds, i + 1, eventFds.get(slots.get(i)));
          }
          changed = false;
        }
        try {
          libc.poll(fds, new NativeLong(slots.size() + 1), -1);
        } catch (LastErrorException e) {
          if (e.getErrorCode() == LinuxLibc.EINTR) {
            continue;
          }
          throw e;
        }
        if (revents(fds, 0) != 0) {
          drain(wakeFd);
          changed = true;
        }
        for (int i = 0; i < slots.size(); i++) {
          short revents = revents(fds, i + 1);
          if (revents == 0) {
            continue;
          }
          Path cgroup = slots.get(i);
          if ((revents & LinuxLibc.POLLIN) != 0) {
            drain(eventFds.get(cgroup));
          }
          if ((revents & (LinuxLibc.POLLERR | LinuxLibc.POLLHUP | LinuxLibc.POLLNVAL)) != 0
              || !Files.isDirectory(cgroup)) {
            // The kernel signals the eventfd when the cgroup is removed: gone, not an OOM.
            log.debug("cgroup {} is gone; its OOM notification is released", cgroup);
            release(cgroup);
            failed.add(cgroup); // not registered again while the poller still names it
            changed = true;
          } else {
            owner.notified();
          }
        }
      }
    } catch (RuntimeException | Error e) {
      log.warn("the cgroup notification thread stopped ({}); OOM kills are seen at the next cgroup poll", e.toString());
      owner.failed(Path.of("/"), CgroupNotifications.OTHER, e.toString());
    } finally {
      for (Path cgroup : List.copyOf(eventFds.keySet())) {
        release(cgroup);
      }
      closeQuietly(wakeFd);
    }
  }

  /** Registers the wanted cgroups not registered yet, releases the others. Waiting thread. */
  private void sync() {
    Set<Path> now = wanted;
    Iterator<Path> registeredCgroups = eventFds.keySet().iterator();
    while (registeredCgroups.hasNext()) {
      Path cgroup = registeredCgroups.next();
      if (!now.contains(cgroup)) {
        closeQuietly(eventFds.get(cgroup));
        registeredCgroups.remove();
      }
    }
    failed.retainAll(now);
    for (Path cgroup : now) {
      if (!eventFds.containsKey(cgroup) && !failed.contains(cgroup) && !closed) {
        Integer eventFd = register(cgroup);
        if (eventFd == null) {
          failed.add(cgroup);
        } else {
          eventFds.put(cgroup, eventFd);
        }
      }
    }
    registeredCount = eventFds.size();
  }

  /** The eventfd registered on {@code cgroup}'s {@code memory.oom_control}, or null when that failed. */
  private Integer register(Path cgroup) {
    int eventFd = -1;
    int oomControl = -1;
    int eventControl = -1;
    String step = "eventfd";
    try {
      eventFd = libc.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
      step = "open memory.oom_control";
      oomControl = libc.open(cgroup.resolve("memory.oom_control").toString(), O_RDONLY | O_CLOEXEC);
      step = "open cgroup.event_control";
      eventControl = libc.open(cgroup.resolve("cgroup.event_control").toString(), O_WRONLY | O_CLOEXEC);
      step = "write cgroup.event_control";
      byte[] line = (eventFd + " " + oomControl).getBytes(US_ASCII);
      libc.write(eventControl, line, new NativeLong(line.length));
      int registeredFd = eventFd;
      eventFd = -1;
      return registeredFd;
    } catch (LastErrorException e) {
      if (e.getErrorCode() == LinuxLibc.ENOENT) {
        log.debug("cgroup {} went away before its OOM notification was registered", cgroup);
      } else {
        owner.failed(cgroup, reason(e.getErrorCode()), step + ": " + e.getMessage());
      }
      return null;
    } finally {
      closeQuietly(eventControl);
      closeQuietly(oomControl);
      closeQuietly(eventFd);
    }
  }

  private void release(Path cgroup) {
    Integer eventFd = eventFds.remove(cgroup);
    if (eventFd != null) {
      closeQuietly(eventFd);
    }
    registeredCount = eventFds.size();
  }

  private void drain(int fd) {
    try {
      libc.read(fd, drained, EIGHT);
    } catch (LastErrorException e) {
      // EAGAIN: already drained.
    }
  }

  private void closeQuietly(int fd) {
    if (fd < 0) {
      return;
    }
    try {
      libc.close(fd);
    } catch (LastErrorException e) {
      log.debug("close({}): {}", fd, e.getMessage());
    }
  }

  private static void setSlot(Memory fds, int slot, int fd) {
    long at = (long) slot * LinuxLibc.POLLFD_SIZE;
    fds.setInt(at, fd);
    fds.setShort(at + 4, LinuxLibc.POLLIN);
    fds.setShort(at + 6, (short) 0);
  }

  private static short revents(Memory fds, int slot) {
    return fds.getShort((long) slot * LinuxLibc.POLLFD_SIZE + 6);
  }

  static String reason(int errno) {
    switch (errno) {
      case LinuxLibc.EROFS:
        return CgroupNotifications.READ_ONLY;
      case LinuxLibc.EACCES:
      case LinuxLibc.EPERM:
        return CgroupNotifications.PERMISSION_DENIED;
      case LinuxLibc.EMFILE:
      case LinuxLibc.ENFILE:
        return CgroupNotifications.TOO_MANY_FILES;
      default:
        return CgroupNotifications.OTHER;
    }
  }
}
