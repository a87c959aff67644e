package dev.oomwatch.testing;

import dev.oomwatch.model.KernelOomKill;
import dev.oomwatch.model.Observation;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.source.Source;
import dev.oomwatch.source.SourceHealth;
import java.time.Instant;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/** A source a test drives: it is live and emits what the test tells it to, on the test's thread. */
public final class ScriptedSource implements Source {
  private static final AtomicLong SEQUENCE = new AtomicLong(1_000_000);
  private volatile Consumer<Observation> sink;

  @Override
  public String name() {
    return "scripted";
  }

  @Override
  public boolean oomCapable() {
    return true;
  }

  @Override
  public void start(Consumer<Observation> sink) {
    this.sink = sink;
  }

  @Override
  public SourceHealth health() {
    return new SourceHealth(name(), SourceHealth.State.LIVE, "");
  }

  public void emit(Observation observation) {
    sink.accept(observation);
  }

  /** A kernel OOM kill of {@code pod}'s sandbox, shaped like the real cgroup v1 ones. */
  public static KernelOomKill kernelKillOf(PodRef pod, String sandboxId, int pid) {
    String podCgroup = "/kubepods/burstable/pod" + pod.uid();
    return new KernelOomKill("test-boot", SEQUENCE.incrementAndGet(), 0, Instant.now(), "CONSTRAINT_MEMCG",
        Optional.of(podCgroup), podCgroup + "/" + sandboxId, "exe", pid, 65534, OptionalLong.of(64L << 20),
        OptionalLong.of(5376 * 1024));
  }

  @Override
  public void close() {
    sink = null;
  }
}
