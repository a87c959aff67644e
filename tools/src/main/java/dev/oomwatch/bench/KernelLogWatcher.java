package dev.oomwatch.bench;

import dev.oomwatch.source.kmsg.KmsgParser;
import dev.oomwatch.source.kmsg.KmsgRecord;
import dev.oomwatch.support.DaemonThreads;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bench's own reader of the kernel log, independent of the agent: when did the kernel kill the
 * sandbox of a pod? Reads {@code /dev/kmsg} from the start of the ring buffer on a daemon thread and
 * keeps, per pod uid, the first {@code oom-kill:} record whose {@code oom_memcg} or {@code task_memcg}
 * is that pod's cgroup ({@code .../pod<uid>[/...]}) with the kernel's own timestamp. The timestamp is
 * microseconds of {@code CLOCK_MONOTONIC}-like kernel time since boot, the clock
 * {@link System#nanoTime()} reads on Linux (the kernel's log clock runs about half a millisecond behind
 * it here; see {@code KernelTimestamps}), so latencies are taken on that one clock with no wall-clock
 * conversion. Thread-safe.
 */
final class KernelLogWatcher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(KernelLogWatcher.class);
  private static final Pattern POD_CGROUP = Pattern.compile("[/-]pod([0-9A-Za-z_-]+?)(?:\\.slice)?(?:/|,|$)");
  private static final Pattern FIELD = Pattern.compile("(oom_memcg|task_memcg|task|pid)=([^,]*)");

  /**
   * A kernel OOM kill as the log says it.
   *
   * @param monotonicMicros the record's timestamp, microseconds since boot
   * @param sequence        its sequence number
   * @param task            the victim's command name ({@code exe} for a gVisor sentry)
   * @param pid             the victim's pid
   * @param taskMemcg       the victim's cgroup
   */
  record Kill(long monotonicMicros, long sequence, String task, long pid, String taskMemcg) {
    long monotonicNanos() {
      return monotonicMicros * 1000;
    }
  }

  private final FileChannel device;
  private final Map<String, Kill> kills = new HashMap<>(); // guarded by this
  private final Thread reader;
  private volatile boolean closing;
  private volatile String failure;

  private KernelLogWatcher(FileChannel device) {
    this.device = device;
    this.reader = DaemonThreads.thread("bench-kmsg", this::readUntilClosed);
  }

  /** Opens {@code device} (normally {@code /dev/kmsg}) and starts reading it. */
  static KernelLogWatcher start(Path device) throws IOException {
    KernelLogWatcher watcher = new KernelLogWatcher(FileChannel.open(device, StandardOpenOption.READ));
    watcher.reader.start();
    return watcher;
  }

  /** The first kill logged in the cgroup of pod {@code podUid}, waiting up to {@code timeout} for it. */
  synchronized Optional<Kill> awaitKill(String podUid, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!kills.containsKey(podUid) && failure == null) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        break;
      }
      wait(Math.max(1, left / 1_000_000));
    }
    return Optional.ofNullable(kills.get(podUid));
  }

  /** Why reading stopped, if it failed. */
  Optional<String> failure() {
    return Optional.ofNullable(failure);
  }

  private void readUntilClosed() {
    // One read returns one record; a buffer smaller than a record fails with EINVAL.
    ByteBuffer buffer = ByteBuffer.allocate(16 * 1024);
    while (!closing) {
      buffer.clear();
      int length;
      try {
        length = device.read(buffer);
      } catch (IOException e) {
        if (closing) {
          return;
        }
        if (String.valueOf(e.getMessage()).contains("Broken pipe")) {
          continue; // records overwritten before they were read; the kernel moved on to the oldest left
        }
        fail("reading the kernel log failed: " + e);
        return;
      }
      if (length < 0) {
        fail("the kernel log ended");
        return;
      }
      KmsgParser.parse(buffer.array(), 0, length).ifPresent(this::onRecord);
    }
  }

  private void onRecord(KmsgRecord record) {
    killIn(record).ifPresent(kill -> {
      synchronized (this) {
        kills.putIfAbsent(kill.getKey(), kill.getValue());
        notifyAll();
      }
    });
  }

  /**
   * The pod uid and kill of an {@code oom-kill:} record from the kernel in a pod cgroup (cgroupfs
   * {@code /kubepods[/qos]/pod<uid>} or systemd {@code ...-pod<uid_with_underscores>.slice}); empty for
   * any other record.
   */
  static Optional<Map.Entry<String, Kill>> killIn(KmsgRecord record) {
    if (!record.fromKernel() || !record.text().startsWith("oom-kill:")) {
      return Optional.empty();
    }
    Map<String, String> fields = new HashMap<>();
    Matcher field = FIELD.matcher(record.text());
    while (field.find()) {
      fields.putIfAbsent(field.group(1), field.group(2));
    }
    Matcher pod = POD_CGROUP.matcher(fields.getOrDefault("oom_memcg", "") + "," + fields.getOrDefault("task_memcg", ""));
    if (!pod.find()) {
      return Optional.empty();
    }
    long pid;
    try {
      pid = Long.parseLong(fields.getOrDefault("pid", "-1"));
    } catch (NumberFormatException e) {
      pid = -1;
    }
    return Optional.of(Map.entry(pod.group(1).replace('_', '-'), new Kill(record.monotonicMicros(), record.sequence(),
        fields.getOrDefault("task", "?"), pid, fields.getOrDefault("task_memcg", ""))));
  }

  private synchronized void fail(String why) {
    failure = why;
    LOG.warn("{}", why);
    notifyAll();
  }

  @Override
  public void close() throws IOException, InterruptedException {
    closing = true;
    device.close(); // ends a blocked read
    reader.join(5000);
  }
}
