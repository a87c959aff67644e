package dev.oomwatch.source.cgroup;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;

/**
 * The few libc calls cgroup v1 OOM notifications need and the JDK does not offer on Java 17: an
 * eventfd, raw file descriptors to name in {@code cgroup.event_control}, and {@code poll(2)} over many
 * of them. Each call throws {@link LastErrorException} (with {@code errno}) when it fails. The
 * constants are Linux's, the same on x86-64 and arm64. Thread-safe (plain system calls).
 */
interface LinuxLibc extends Library {

  int O_RDONLY = 0;
  int O_WRONLY = 1;
  int O_CLOEXEC = 0x80000;
  int EFD_CLOEXEC = O_CLOEXEC;
  int EFD_NONBLOCK = 0x800;
  short POLLIN = 0x1;
  short POLLERR = 0x8;
  short POLLHUP = 0x10;
  short POLLNVAL = 0x20;
  /** Size of a {@code struct pollfd}: int fd, short events, short revents. */
  int POLLFD_SIZE = 8;

  int EPERM = 1;
  int ENOENT = 2;
  int EINTR = 4;
  int EAGAIN = 11;
  int EACCES = 13;
  int ENFILE = 23;
  int EMFILE = 24;
  int EROFS = 30;

  /** Loads libc through JNA; throws a {@link LinkageError} when JNA's native stub cannot be loaded. */
  static LinuxLibc load() {
    return Native.load("c", LinuxLibc.class);
  }

  int eventfd(int initval, int flags) throws LastErrorException;

  int open(String path, int flags) throws LastErrorException;

  NativeLong read(int fd, byte[] buffer, NativeLong count) throws LastErrorException;

  NativeLong write(int fd, byte[] buffer, NativeLong count) throws LastErrorException;

  int close(int fd) throws LastErrorException;

  int poll(Pointer fds, NativeLong nfds, int timeoutMillis) throws LastErrorException;
}
