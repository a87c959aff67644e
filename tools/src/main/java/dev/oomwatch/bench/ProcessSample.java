package dev.oomwatch.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One look at a process in {@code /proc}: CPU time so far (user + system, every thread, the exited ones
 * included), resident set size now and at its peak, and thread count. Immutable.
 *
 * @param nanoTime {@link System#nanoTime()} when read
 * @param cpuTicks {@code utime + stime} of {@code /proc/<pid>/stat}, in clock ticks ({@link #TICKS_PER_SECOND})
 * @param rssKiB   {@code VmRSS} of {@code /proc/<pid>/status}
 * @param rssAnonKiB {@code RssAnon}: the private part of it (heap, metaspace, stacks, malloc); the rest is
 *                 file-backed ({@code RssFile}: libjvm, the CDS archive, jars), shared with other JVMs of the
 *                 same files
 * @param hwmKiB   {@code VmHWM}: the peak RSS since the process started
 * @param threads  {@code Threads}
 */
public record ProcessSample(long nanoTime, long cpuTicks, long rssKiB, long rssAnonKiB, long hwmKiB, int threads) {
  /**
   * {@code USER_HZ}, the unit of the CPU times in {@code /proc}: 100 on every Linux architecture the
   * agent runs on (x86-64, arm64), whatever the kernel's own {@code HZ}.
   */
  public static final long TICKS_PER_SECOND = 100;

  /** Reads {@code /proc/<pid>}; fails if the process is gone. */
  public static ProcessSample of(long pid) throws IOException {
    return read(Path.of("/proc", Long.toString(pid)), System.nanoTime());
  }

  static ProcessSample read(Path procDir, long nanoTime) throws IOException {
    long cpu = parseCpuTicks(Files.readString(procDir.resolve("stat"), StandardCharsets.ISO_8859_1));
    long rss = -1;
    long anon = -1;
    long hwm = -1;
    int threads = -1;
    for (String line : Files.readAllLines(procDir.resolve("status"), StandardCharsets.ISO_8859_1)) {
      if (line.startsWith("VmRSS:")) {
        rss = kib(line);
      } else if (line.startsWith("RssAnon:")) {
        anon = kib(line);
      } else if (line.startsWith("VmHWM:")) {
        hwm = kib(line);
      } else if (line.startsWith("Threads:")) {
        threads = Integer.parseInt(line.substring("Threads:".length()).strip());
      }
    }
    return new ProcessSample(nanoTime, cpu, rss, anon, hwm, threads);
  }

  /** {@code utime + stime} of a {@code stat} line; the command name may hold spaces and parentheses. */
  static long parseCpuTicks(String statLine) {
    String afterName = statLine.substring(statLine.lastIndexOf(')') + 2);
    String[] fields = afterName.strip().split(" ");
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15
    return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
  }

  private static long kib(String line) {
    String value = line.substring(line.indexOf(':') + 1).strip();
    return Long.parseLong(value.substring(0, value.indexOf(' ')));
  }

  /** CPU used between {@code earlier} and this sample, as a percentage of one core. */
  public double cpuPercentSince(ProcessSample earlier) {
    double cpuSeconds = (cpuTicks - earlier.cpuTicks) / (double) TICKS_PER_SECOND;
    double wallSeconds = (nanoTime - earlier.nanoTime) / 1e9;
    return cpuSeconds / wallSeconds * 100;
  }
}
