package dev.oomwatch.app;

import dev.oomwatch.model.Observation;
import dev.oomwatch.source.Source;
import dev.oomwatch.source.SourceHealth;
import dev.oomwatch.support.Backoff;
import dev.oomwatch.support.DaemonThreads;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts the sources and keeps them going. Each source restarts its own reader after a failure (with
 * backoff) and reports it in its health; the supervisor adds the part a source cannot do for itself: a
 * {@code start} that throws is retried with backoff (1 s doubling to 60 s), with one WARN and a
 * {@code FAILED} health saying why meanwhile. The core keeps going when a source fails; readiness says
 * when no OOM-capable source is live. A source whose own thread ended for good ({@code DEAD}) is not
 * restarted here (a source starts once, and whatever killed its thread is a bug, not bad input):
 * {@link #liveness} then fails so that kubelet restarts the whole agent. Thread-safe.
 */
final class SourceSupervisor implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SourceSupervisor.class);
  private static final Duration FIRST_RETRY = Duration.ofSeconds(1);
  private static final Duration LONGEST_RETRY = Duration.ofSeconds(60);

  private final List<Source> sources;
  private final Consumer<Observation> sink;
  private final Map<String, String> startFailures = new ConcurrentHashMap<>();
  private final AtomicLong restarts = new AtomicLong();
  private final ScheduledExecutorService thread = DaemonThreads.scheduler("source-supervisor");

  SourceSupervisor(List<Source> sources, Consumer<Observation> sink) {
    this.sources = List.copyOf(sources);
    this.sink = sink;
  }

  void start() {
    sources.forEach(source -> tryStart(source, new Backoff(FIRST_RETRY, LONGEST_RETRY)));
  }

  // runs on the caller's thread first, then only on the supervisor's: the backoff is confined to one at a time
  private void tryStart(Source source, Backoff backoff) {
    try {
      source.start(sink);
      if (startFailures.remove(source.name()) != null) {
        LOG.info("source {} started", source.name());
      }
    } catch (RuntimeException e) {
      if (startFailures.put(source.name(), e.toString()) == null) {
        LOG.warn("source {} could not start ({}); retrying with backoff", source.name(), e.toString());
      } else {
        LOG.debug("source {} still cannot start: {}", source.name(), e.toString());
      }
      restarts.incrementAndGet();
      thread.schedule(() -> tryStart(source, backoff), backoff.next().toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /** Each source's health; a source whose start keeps failing is FAILED with the reason. */
  List<SourceHealth> health() {
    return sources.stream().map(source -> {
      String failure = startFailures.get(source.name());
      return failure == null ? source.health()
          : new SourceHealth(source.name(), SourceHealth.State.FAILED, "could not start: " + failure);
    }).toList();
  }

  boolean anyOomCapableLive() {
    return sources.stream().anyMatch(s -> s.oomCapable() && !startFailures.containsKey(s.name()) && s.health().live());
  }

  /**
   * Not live when an OOM-capable source is {@code DEAD}: its thread ended and nothing restarts it, so
   * kills it alone would see go unreported. A {@code FAILED} source is retrying: readiness covers it.
   */
  HttpEndpoints.Liveness liveness() {
    List<SourceHealth> dead = sources.stream().filter(Source::oomCapable).map(Source::health)
        .filter(h -> h.state() == SourceHealth.State.DEAD).toList();
    if (dead.isEmpty()) {
      return new HttpEndpoints.Liveness(true, "ok\n");
    }
    StringBuilder body = new StringBuilder("not live: a source that sees OOM kills stopped for good\n");
    dead.forEach(h -> body.append("source ").append(h.source()).append(": ").append(h.state())
        .append(" (").append(h.detail()).append(")\n"));
    return new HttpEndpoints.Liveness(false, body.toString());
  }

  long startRetries() {
    return restarts.get();
  }

  @Override
  public void close() {
    thread.shutdownNow();
    sources.forEach(source -> {
      try {
        source.close();
      } catch (RuntimeException e) {
        LOG.debug("closing source {}: {}", source.name(), e.toString());
      }
    });
  }
}
