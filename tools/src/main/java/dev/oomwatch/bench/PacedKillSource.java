package dev.oomwatch.bench;

import dev.oomwatch.model.KernelOomKill;
import dev.oomwatch.model.Observation;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.source.Source;
import dev.oomwatch.source.SourceHealth;
import dev.oomwatch.support.DaemonThreads;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * Synthetic kernel OOM kills at a steady rate, for the storm: once {@link #fire} is called, a daemon
 * thread hands the sink one {@link KernelOomKill} every {@code 60 s / killsPerMinute} for
 * {@code duration}, round-robin over the pods, each shaped like a real cgroup v1 sandbox kill (victim
 * {@code exe}, uid 65534, the pod cgroup {@code /kubepods/burstable/pod<uid>} as the OOM memcg and a new
 * sandbox cgroup below it as the victim's: each kill is of a new sandbox, as in a crash loop, so each is
 * an incident of its own). The kills are what the kmsg source would emit for real ones; the kernel itself
 * accepts no forged kernel records from userspace. Kill {@code k} is due at {@code start + k * period}:
 * a late emission does not shift the ones after it. Thread-safe.
 */
final class PacedKillSource implements Source {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final int SENTRY_UID = 65534;

  private final List<PodRef> pods;
  private final int killsPerMinute;
  private final Duration duration;
  private final String bootId;
  private final AtomicLong emitted = new AtomicLong();
  private volatile Consumer<Observation> sink;
  private volatile boolean closed;

  PacedKillSource(List<PodRef> pods, int killsPerMinute, Duration duration, String bootId) {
    if (pods.isEmpty() || killsPerMinute <= 0) {
      throw new IllegalArgumentException("need pods and a positive rate");
    }
    this.pods = List.copyOf(pods);
    this.killsPerMinute = killsPerMinute;
    this.duration = duration;
    this.bootId = bootId;
  }

  @Override
  public String name() {
    return "storm";
  }

  @Override
  public boolean oomCapable() {
    return true;
  }

  @Override
  public void start(Consumer<Observation> sink) {
    this.sink = sink;
  }

  /** Starts the storm; returns at once. */
  void fire() {
    Thread thread = DaemonThreads.thread("storm-kills", this::emitAll);
    thread.start();
  }

  long emitted() {
    return emitted.get();
  }

  /** How many kills the storm has in all. */
  long planned() {
    return duration.toNanos() * killsPerMinute / Duration.ofMinutes(1).toNanos();
  }

  private void emitAll() {
    long period = Duration.ofMinutes(1).toNanos() / killsPerMinute;
    long start = System.nanoTime();
    int pid = 100_000 + RANDOM.nextInt(1_000_000);
    for (long k = 0; k < planned() && !closed; k++) {
      long due = start + k * period;
      for (long wait = due - System.nanoTime(); wait > 0; wait = due - System.nanoTime()) {
        LockSupport.parkNanos(wait);
      }
      PodRef pod = pods.get((int) (k % pods.size()));
      Consumer<Observation> to = sink;
      if (to != null) {
        to.accept(killOf(pod, pid++, k));
        emitted.incrementAndGet();
      }
    }
  }

  private KernelOomKill killOf(PodRef pod, int pid, long k) {
    byte[] id = new byte[32];
    RANDOM.nextBytes(id);
    String podCgroup = "/kubepods/burstable/pod" + pod.uid();
    return new KernelOomKill(bootId, 1_000_000_000L + k, System.nanoTime() / 1000, Instant.now(), "CONSTRAINT_MEMCG",
        Optional.of(podCgroup), podCgroup + "/" + HexFormat.of().formatHex(id), "exe", pid, SENTRY_UID,
        OptionalLong.of(SimulatedNode.LIMIT_BYTES), OptionalLong.of(60L << 20));
  }

  @Override
  public SourceHealth health() {
    return new SourceHealth(name(), SourceHealth.State.LIVE, emitted() + " synthetic kills emitted");
  }

  @Override
  public void close() {
    closed = true;
  }
}
