package dev.oomwatch.source;

import dev.oomwatch.metrics.AgentMetrics;
import dev.oomwatch.model.Observation;
import java.util.function.Consumer;

/**
 * One signal about OOM kills on this node (the kernel log, cgroup files, runsc state, pod statuses).
 * {@link #start} begins delivering observations to the sink from the source's own thread(s) and returns
 * at once; it never throws for a missing or unreadable input, but reports it through {@link #health}.
 * A source whose own thread ends for good (anything but {@link #close} or a finished input) says so with
 * {@link SourceHealth.State#DEAD}; for an OOM-capable source that fails the agent's liveness.
 * {@link #close} stops the source and is idempotent. Implementations are thread-safe.
 */
public interface Source extends AutoCloseable {
  /** Short, stable name used in metrics and {@code /readyz}, e.g. {@code kmsg}. */
  String name();

  /** Whether this source can see OOM kills at all (and so counts toward readiness). */
  boolean oomCapable();

  void start(Consumer<Observation> sink);

  SourceHealth health();

  /**
   * Registers this source's own metrics in {@code metrics}; called once, before {@link #start}. Their
   * names are part of the agent's interface (the README lists them). The callbacks are read on the
   * scraping thread at any time, before {@link #start} and after {@link #close} too, so they must be
   * thread-safe and cheap. The default registers nothing, for a source with nothing of its own to count.
   */
  default void registerMetrics(AgentMetrics metrics) {}

  @Override
  void close();
}
