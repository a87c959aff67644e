package dev.oomwatch.lab;

import java.time.Duration;
import java.util.Locale;

/**
 * What a lab sandbox's app does: a shell command run by {@code /bin/busybox sh -c} inside the sandbox,
 * with a short description for logs. The standard workloads start with a short sleep, so the sandbox
 * is seen running (and its sentry pid recorded) before anything happens. Immutable.
 */
public record SandboxWorkload(String description, String shellCommand) {
  /** How long the standard workloads wait before acting. */
  public static final Duration DEFAULT_DELAY = Duration.ofSeconds(1);

  private static final String SLEEP_FOREVER = "while :; do /bin/busybox sleep 3600; done";

  public SandboxWorkload {
    if (shellCommand == null || shellCommand.isBlank()) {
      throw new IllegalArgumentException("shell command is empty");
    }
  }

  /** {@link #allocatePastLimit(int, Duration)} after {@link #DEFAULT_DELAY}. */
  public static SandboxWorkload allocatePastLimit(int mib) {
    return allocatePastLimit(mib, DEFAULT_DELAY);
  }

  /**
   * After {@code delay}, writes {@code mib} MiB to a file in the sandbox's {@code /dev}. That /dev is a
   * tmpfs inside gVisor, whose pages are the sentry's memory, so the host kernel charges them to the
   * sandbox's cgroup and, past the pod's limit, OOM-kills the sentry (the whole sandbox). Should the
   * allocation fit, the app says so and keeps running, holding the memory.
   */
  public static SandboxWorkload allocatePastLimit(int mib, Duration delay) {
    if (mib <= 0) {
      throw new IllegalArgumentException("MiB to allocate must be positive: " + mib);
    }
    String command = sleep(delay)
        + "echo 'allocating " + mib + " MiB in /dev (tmpfs: sentry memory)'; "
        + "/bin/busybox dd if=/dev/zero of=/dev/hog bs=1M count=" + mib + "; "
        + "echo 'allocated " + mib + " MiB and still alive'; "
        + SLEEP_FOREVER;
    return new SandboxWorkload("allocate " + mib + " MiB", command);
  }

  /** Sleeps until killed: the decoy for an ordinary {@code kill -9}, which is no OOM. */
  public static SandboxWorkload sleepForever() {
    return new SandboxWorkload("sleep until killed", "echo 'sleeping until killed'; " + SLEEP_FOREVER);
  }

  private static String sleep(Duration delay) {
    if (delay.isNegative()) {
      throw new IllegalArgumentException("negative delay: " + delay);
    }
    if (delay.isZero()) {
      return "";
    }
    long millis = delay.toMillis();
    String seconds = millis % 1000 == 0
        ? Long.toString(millis / 1000)
        : String.format(Locale.ROOT, "%.3f", millis / 1000.0);
    return "/bin/busybox sleep " + seconds + "; ";
  }
}
