package dev.oomwatch.report;

import dev.oomwatch.metrics.AgentMetrics;
import dev.oomwatch.model.ByteSizes;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.oomwatch.model.OomIncident;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.operator.crd.OOMIncident;
import dev.oomwatch.operator.crd.OOMIncidentSpec;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.net.HttpURLConnection;
import java.time.Duration;
import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates one {@code OOMIncident} per detected kill; the JOSDK reconciler takes it from there. Creating
 * an incident that already exists (same kill seen again, e.g. after a restart re-read the kernel log)
 * merges what is new into it (evidence, a stronger verdict) or, when nothing is, changes nothing. It
 * also writes the warnings that have no incident ({@code NearOOM}, {@code MemoryLimitNotEnforced}). Incidents wait in a bounded queue while the API server is unreachable and are retried
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
  private static final int UNPROCESSABLE = 422;
  private static final Duration FIRST_BACKOFF = Duration.ofSeconds(1);
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);

  private static final ObjectMapper JSON = new ObjectMapper()
      .setSerializationInclusion(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL);

  private final KubernetesClient client;
  private final PodEventRecorder events;
  private final PodConditionWriter conditions;
  private final AgentMetrics metrics;
  private final int capacity;
  private final long nanosPerWrite;
  private final Map<String, PendingWrite> pending = new LinkedHashMap<>();
  private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "incident-publisher");
    t.setDaemon(true);
    return t;
  });
  // touched only on the publisher thread
  private Duration backoff = FIRST_BACKOFF;
  private boolean drainScheduled;
  private long nextWriteNanos = System.nanoTime();

  public IncidentPublisher(KubernetesClient client, PodEventRecorder events, PodConditionWriter conditions,
      AgentMetrics metrics, int capacity, int writesPerSecond) {
    this.client = client;
    this.events = events;
    this.conditions = conditions;
    this.metrics = metrics;
    this.capacity = capacity;
    this.nanosPerWrite = TimeUnit.SECONDS.toNanos(1) / writesPerSecond;
  }

  /** One API write waiting its turn: it says whether it is done (false: keep it and retry later). */
  private interface PendingWrite {
    boolean perform();
  }

  /**
   * Queues the incident for creation, or for merging into the incident of the same kill that exists
   * already; a newer version of a queued incident replaces it in place. Returns at once.
   */
  public void submit(OomIncident incident) {
    enqueue("incident/" + incident.id(), () -> write(incident));
  }

  /**
   * Queues a Warning Event on {@code pod} (and, with {@code conditionType}, the agent's pod condition of
   * that type), written once for {@code key}. Returns at once.
   */
  public void submitWarning(PodRef pod, String reason, String message, String key, Optional<String> conditionType,
      Instant since) {
    enqueue("warning/" + key, () -> warn(pod, reason, message, key, conditionType, since));
  }

  private void enqueue(String key, PendingWrite write) {
    synchronized (pending) {
      if (pending.containsKey(key)) {
        pending.put(key, write);
        return;
      }
      if (pending.size() >= capacity) {
        Iterator<String> oldest = pending.keySet().iterator();
        LOG.warn("pending incident queue full ({}): dropping incident {}", capacity, oldest.next());
        oldest.remove();
        metrics.incidentDropped();
      }
      pending.put(key, write);
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
      Map.Entry<String, PendingWrite> next;
      synchronized (pending) {
        if (pending.isEmpty()) {
          return;
        }
        next = Map.entry(pending.keySet().iterator().next(), pending.values().iterator().next());
      }
      long wait = nextWriteNanos - System.nanoTime();
      if (wait > 0) {
        scheduleDrain(Duration.ofNanos(wait));
        return;
      }
      nextWriteNanos = Math.max(nextWriteNanos, System.nanoTime() - nanosPerWrite) + nanosPerWrite;
      if (!next.getValue().perform()) {
        scheduleRetry();
        return;
      }
      backoff = FIRST_BACKOFF;
      synchronized (pending) {
        // a newer version queued meanwhile stays queued
        pending.remove(next.getKey(), next.getValue());
        metrics.pendingIncidents(pending.size());
      }
    }
  }

  /** True when the incident is in the API afterwards with everything this version knows. */
  private boolean write(OomIncident incident) {
    OOMIncident resource = IncidentResources.toResource(incident);
    try {
      client.resources(OOMIncident.class).inNamespace(incident.pod().namespace()).resource(resource).create();
      metrics.incidentDetected(incident.verdict().display());
      LOG.info("OOM kill of gVisor pod {}: {} at {}{}, verdict {}; reported as OOMIncident {}",
          incident.pod(), incident.victim(), incident.killedAt(),
          incident.limitBytes().isPresent() ? ", limit " + ByteSizes.quantity(incident.limitBytes().getAsLong()) : "",
          incident.verdict().display(), incident.id());
      return true;
    } catch (KubernetesClientException e) {
      if (e.getCode() == HttpURLConnection.HTTP_CONFLICT) {
        return mergeIntoExisting(incident, resource);
      }
      return failed("create OOMIncident " + incident.id(), e);
    }
  }

  /** The kill was seen before: add what is new (evidence, a stronger verdict), optimistically locked. */
  private boolean mergeIntoExisting(OomIncident incident, OOMIncident resource) {
    var incidents = client.resources(OOMIncident.class).inNamespace(incident.pod().namespace());
    try {
      OOMIncident existing = incidents.withName(incident.id()).get();
      if (existing == null) {
        return false; // deleted between our create and get (TTL): create again on the retry
      }
      OOMIncidentSpec merged = IncidentMerge.merge(existing.getSpec(), resource.getSpec());
      if (merged == existing.getSpec()) {
        LOG.debug("OOMIncident {} exists already with all we know: kill seen before", incident.id());
        metrics.incidentSeenBefore();
        return true;
      }
      // a JSON patch replacing the whole spec, guarded by the resourceVersion: lists are replaced, never
      // merged element-wise (a merge patch's list semantics differ between servers)
      ArrayNode patch = JSON.createArrayNode();
      patch.addObject().put("op", "test").put("path", "/metadata/resourceVersion")
          .put("value", existing.getMetadata().getResourceVersion());
      patch.addObject().put("op", "replace").put("path", "/spec").set("value", JSON.valueToTree(merged));
      incidents.withName(incident.id()).patch(PatchContext.of(PatchType.JSON), patch.toString());
      LOG.debug("OOMIncident {} of pod {}: more evidence, verdict {}", incident.id(), incident.pod(),
          merged.getVerdict());
      metrics.incidentMerged();
      return true;
    } catch (KubernetesClientException e) {
      return failed("merge into OOMIncident " + incident.id(), e);
    }
  }

  private boolean warn(PodRef pod, String reason, String message, String key, Optional<String> conditionType,
      Instant since) {
    try {
      if (conditionType.isPresent()) {
        Pod fresh = client.pods().inNamespace(pod.namespace()).withName(pod.name()).get();
        if (fresh == null || !pod.uid().equals(fresh.getMetadata().getUid())) {
          LOG.info("pod {} is gone; warning {} not written", pod, reason);
          return true;
        }
        conditions.mark(fresh, conditionType.get(), reason, message, since);
      }
      events.recordWarning(pod, reason, message, key);
      LOG.info("{} on pod {}: {}", reason, pod, message);
      metrics.warningReported(reason);
      return true;
    } catch (KubernetesClientException e) {
      return failed("write " + reason + " on pod " + pod, e);
    }
  }

  private boolean failed(String what, KubernetesClientException e) {
    if (e.getCode() == HttpURLConnection.HTTP_CONFLICT || e.getCode() == UNPROCESSABLE) {
      // an optimistic-lock conflict (the reconciler patched the status meanwhile; a failed JSON-patch
      // test is 422): read again and retry
      LOG.debug("could not {}: changed meanwhile; retrying", what);
      return false;
    }
    metrics.publishFailed();
    LOG.warn("could not {} ({}); kept, retrying in {} s", what, why(e), backoff.toSeconds());
    return false;
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
