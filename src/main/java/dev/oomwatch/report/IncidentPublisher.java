package dev.oomwatch.report;

import dev.oomwatch.metrics.AgentMetrics;
import dev.oomwatch.model.ByteSizes;
import dev.oomwatch.model.OomIncident;
import dev.oomwatch.operator.crd.OOMIncident;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.net.HttpURLConnection;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates one {@code OOMIncident} per detected kill; the JOSDK reconciler takes it from there. Creating
 * an incident that already exists (same kill seen again, e.g. after a restart re-read the kernel log)
 * is a no-op. Incidents wait in a bounded queue while the API server is unreachable and are retried
 * with exponential backoff (1 s to 30 s); when the queue is full the oldest is dropped and counted.
 * Creations are paced to at most {@code writesPerSecond}, so an OOM storm (say 1,000 kills a minute)
 * becomes a steady trickle of writes instead of a burst against the API server; each kill still gets
 * its incident.
 *
 * <p>{@link #submit} is thread-safe and never blocks; all API calls run on the publisher's own single
 * thread, in detection order.
 */
public final class IncidentPublisher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(IncidentPublisher.class);
  private static final Duration FIRST_BACKOFF = Duration.ofSeconds(1);
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);

  private final KubernetesClient client;
  private final AgentMetrics metrics;
  private final int capacity;
  private final long nanosPerWrite;
  private final Map<String, OomIncident> pending = new LinkedHashMap<>();
  private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "incident-publisher");
    t.setDaemon(true);
    return t;
  });
  // touched only on the publisher thread
  private Duration backoff = FIRST_BACKOFF;
  private boolean drainScheduled;
  private long nextWriteNanos = System.nanoTime();

  public IncidentPublisher(KubernetesClient client, AgentMetrics metrics, int capacity, int writesPerSecond) {
    this.client = client;
    this.metrics = metrics;
    this.capacity = capacity;
    this.nanosPerWrite = TimeUnit.SECONDS.toNanos(1) / writesPerSecond;
  }

  /** Queues the incident for creation; returns at once. */
  public void submit(OomIncident incident) {
    synchronized (pending) {
      if (pending.containsKey(incident.id())) {
        return;
      }
      if (pending.size() >= capacity) {
        Iterator<String> oldest = pending.keySet().iterator();
        LOG.warn("pending incident queue full ({}): dropping incident {}", capacity, oldest.next());
        oldest.remove();
        metrics.incidentDropped();
      }
      pending.put(incident.id(), incident);
      metrics.pendingIncidents(pending.size());
    }
    thread.execute(() -> {
      // while backing off, the scheduled retry drains: a storm of new kills must not hammer a down API
      if (!drainScheduled) {
        drain();
      }
    });
  }

  /** Incidents detected but not yet created. */
  public int pendingCount() {
    synchronized (pending) {
      return pending.size();
    }
  }

  private void drain() {
    while (true) {
      OomIncident next;
      synchronized (pending) {
        if (pending.isEmpty()) {
          return;
        }
        next = pending.values().iterator().next();
      }
      long wait = nextWriteNanos - System.nanoTime();
      if (wait > 0) {
        scheduleDrain(Duration.ofNanos(wait));
        return;
      }
      nextWriteNanos = Math.max(nextWriteNanos, System.nanoTime() - nanosPerWrite) + nanosPerWrite;
      if (!create(next)) {
        scheduleRetry();
        return;
      }
      synchronized (pending) {
        pending.remove(next.id());
        metrics.pendingIncidents(pending.size());
      }
    }
  }

  /** True when the incident exists in the API afterwards (created now or before). */
  private boolean create(OomIncident incident) {
    OOMIncident resource = IncidentResources.toResource(incident);
    try {
      client.resources(OOMIncident.class).inNamespace(incident.pod().namespace()).resource(resource).create();
      backoff = FIRST_BACKOFF;
      metrics.incidentDetected(incident.verdict().display());
      LOG.info("OOM kill of gVisor pod {}: {} at {}{}, verdict {}; reported as OOMIncident {}",
          incident.pod(), incident.victim(), incident.killedAt(),
          incident.limitBytes().isPresent() ? ", limit " + ByteSizes.quantity(incident.limitBytes().getAsLong()) : "",
          incident.verdict().display(), incident.id());
      return true;
    } catch (KubernetesClientException e) {
      if (e.getCode() == HttpURLConnection.HTTP_CONFLICT) {
        LOG.debug("OOMIncident {} exists already: kill seen before", incident.id());
        metrics.incidentSeenBefore();
        backoff = FIRST_BACKOFF;
        return true;
      }
      metrics.publishFailed();
      LOG.warn("could not create OOMIncident {} ({}); kept, retrying in {} s",
          incident.id(), why(e), backoff.toSeconds());
      return false;
    }
  }

  /** The API's answer, or the root cause when there was none (connection refused, timeout). */
  private static String why(KubernetesClientException e) {
    if (e.getCode() > 0) {
      return "HTTP " + e.getCode() + ": " + e.getMessage();
    }
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return "API server unreachable: " + root;
  }

  private void scheduleRetry() {
    Duration delay = backoff;
    backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
    scheduleDrain(delay);
  }

  /** One drain at a time is scheduled; until it runs, new submissions only queue. */
  private void scheduleDrain(Duration delay) {
    if (drainScheduled) {
      return;
    }
    drainScheduled = true;
    thread.schedule(() -> {
      drainScheduled = false;
      drain();
    }, delay.toNanos(), TimeUnit.NANOSECONDS);
  }

  @Override
  public void close() {
    thread.shutdownNow();
  }
}
