package dev.oomwatch.publish;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.oomwatch.crd.OOMIncident;
import dev.oomwatch.crd.OOMIncidentSpec;
import dev.oomwatch.metrics.AgentMetrics;
import dev.oomwatch.model.ByteSizes;
import dev.oomwatch.model.OomIncident;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.podreport.OomMessages;
import dev.oomwatch.podreport.PodConditionWriter;
import dev.oomwatch.podreport.PodEventRecorder;
import dev.oomwatch.support.Backoff;
import dev.oomwatch.support.DaemonThreads;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.RequestConfig;
import io.fabric8.kubernetes.client.RequestConfigBuilder;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.net.HttpURLConnection;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates one {@code OOMIncident} per detected kill; the JOSDK reconciler takes it from there. Creating
 * an incident that already exists (same kill seen again, e.g. after a restart re-read the kernel log)
 * merges what is new into it (evidence, a stronger verdict) or, when nothing is, changes nothing. Before
 * creating a new name, the pod's own incidents are read — from the controller's informer cache
 * ({@link KnownIncidents}) when it is synced and the publisher created none of the pod's in the last
 * {@link #CACHE_LAG}, else with one list by the node and pod-uid labels: one
 * killed within {@link #SAME_KILL} whose sandbox is the same or unknown on either side is the same kill
 * under another name — kubelet's {@code OOMKilled} names no sandbox, and after an agent restart it may
 * be seen without the kernel log that named the incident — and the update is merged into it instead. It
 * also writes the warnings that have no incident ({@code NearOOM}, {@code MemoryLimitNotEnforced}).
 *
 * <p>Writes wait in a bounded queue (when it is full the oldest is dropped and counted). Each entry
 * keeps its own backoff: one that fails waits 1 s, doubling to 30 s (or the server's
 * {@code retryAfterSeconds} on a 429, when longer) while the entries behind it go on, so one write the
 * API keeps failing never holds up the others. When the API server cannot be connected to at all, every
 * entry waits for the next try (nothing could succeed, and a storm must not hammer an API that is down).
 * A write the API refuses for good ({@link ApiRefusal}: 400, 403, 404, 422...) is dropped from the queue
 * with one WARN line and {@code oomwatch_incident_publish_rejected_total{code}}; an incident that was
 * created stays as it is. Writes are paced to at most {@code writesPerSecond}, so an OOM storm (say
 * 1,000 kills a minute) becomes a steady trickle instead of a burst; each kill still gets its incident.
 * Ready entries are written in detection order. A newer version of an incident just created waits
 * {@link #MERGE_AFTER_CREATE}, so that it stays out of the way of the kill's report on the pod. At start,
 * before anything else, the publisher's thread warms up the reporting path ({@link PublishPathWarmup}).
 *
 * <p>{@link #submit} and {@link #submitWarning} are thread-safe and never block; all API calls run on
 * the publisher's own single thread, one at a time, each bounded by the client's request timeout (see
 * {@link #clientFor}).
 */
public final class IncidentPublisher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(IncidentPublisher.class);
  private static final int UNPROCESSABLE = 422;
  /** 1 s after the first failure, doubling up to 30 s; each entry (and the API as a whole) counts its own failures. */
  static final Backoff RETRY = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(30));
  /** A server asking for more than this is asked again after it anyway: an incident must not be given up. */
  private static final Duration MAX_RETRY_AFTER = Duration.ofMinutes(5);
  /**
   * Long enough for a slow but working API server (kube-apiserver itself gives up on a request after
   * 60 s); fabric8's default of 10 s turns a server that answers in 10 s into an endless timeout.
   */
  static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);
  /**
   * Two incidents of one pod killed this close, whose sandboxes do not differ, are one kill: the fusion's
   * same-kill window at the default poll interval. A pod's sandbox is re-created after a kill and takes
   * seconds to fill its limit again; kills that name their (different) sandboxes are never joined.
   */
  static final Duration SAME_KILL = Duration.ofSeconds(30);
  /**
   * A newer version of an incident created this recently (more evidence from the reads that follow a
   * notification, a few ms later) waits until then, so that it does not compete with the report of the
   * kill on the pod (a watch, a read and writes that the API serves meanwhile) and what else comes in
   * that time joins it in one write.
   */
  static final Duration MERGE_AFTER_CREATE = Duration.ofMillis(250);
  /**
   * A pod's incidents are taken from {@link KnownIncidents} only when the publisher created none of them
   * this recently: the cache learns of a create through its watch, a few ms later.
   */
  static final Duration CACHE_LAG = Duration.ofSeconds(5);
  /** The warm-up's reads at start hold the publisher's thread at most this long each. */
  private static final Duration WARMUP_REQUEST_TIMEOUT = Duration.ofSeconds(2);

  private static final ObjectMapper JSON = new ObjectMapper()
      .setSerializationInclusion(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL);

  private final KubernetesClient client;
  private final PodEventRecorder events;
  private final PodConditionWriter conditions;
  private final AgentMetrics metrics;
  private final KnownIncidents known;
  private final int capacity;
  private final long nanosPerWrite;
  // in detection order; guarded by itself
  private final Map<String, Entry> pending = new LinkedHashMap<>();
  // keys of incidents created in the last MERGE_AFTER_CREATE; guarded by pending
  private final RecentMarks justCreated = new RecentMarks(MERGE_AFTER_CREATE);
  private final ScheduledExecutorService thread = DaemonThreads.scheduler("incident-publisher");
  // touched only on the publisher thread
  private ScheduledFuture<?> scheduledDrain;
  // uids of pods the publisher created an incident of in the last CACHE_LAG
  private final RecentMarks createdOfPod = new RecentMarks(CACHE_LAG);
  private long scheduledDrainAt;
  private long nextWriteNanos = System.nanoTime();
  private long unreachableUntilNanos = System.nanoTime();
  private int unreachableStreak;

  public IncidentPublisher(KubernetesClient client, PodEventRecorder events, PodConditionWriter conditions,
      AgentMetrics metrics, int capacity, int writesPerSecond) {
    this(client, events, conditions, metrics, capacity, writesPerSecond, KnownIncidents.NONE);
  }

  /** As above; the same-kill check asks {@code known} first and lists the pod's incidents only when it cannot answer. */
  public IncidentPublisher(KubernetesClient client, PodEventRecorder events, PodConditionWriter conditions,
      AgentMetrics metrics, int capacity, int writesPerSecond, KnownIncidents known) {
    this.known = known;
    this.client = client;
    this.events = events;
    this.conditions = conditions;
    this.metrics = metrics;
    this.capacity = capacity;
    this.nanosPerWrite = TimeUnit.SECONDS.toNanos(1) / writesPerSecond;
    metrics.warningReasons(List.of(OomMessages.NEAR_OOM, OomMessages.LIMIT_NOT_ENFORCED));
    // first thing on the publisher's thread: an incident detected meanwhile waits for it (a few hundred ms)
    thread.execute(() -> warmUp(events.nodeName()));
  }

  private void warmUp(String nodeName) {
    long start = System.nanoTime();
    try {
      int passes = PublishPathWarmup.run(client.getKubernetesSerialization(), nodeName);
      // the HTTP side, with reads a report makes that find nothing (short timeout: incidents wait meanwhile)
      PublishPathWarmup.read(clientFor(client, WARMUP_REQUEST_TIMEOUT), nodeName);
      LOG.debug("publish path warmed up in {} ms ({} passes, {} reads)", (System.nanoTime() - start) / 1_000_000,
          passes, PublishPathWarmup.READS);
    } catch (RuntimeException e) {
      // only a warm-up: the first report is slower without it, nothing else
      LOG.debug("publish path warm-up stopped: {}", e.toString());
    }
  }

  /**
   * The client the publisher (and the recorders handed to it) should write with: {@code client} with
   * fabric8's own retries off and a {@link #REQUEST_TIMEOUT} per request. fabric8 7.5 retries a 429, a
   * 5xx or an I/O error up to 10 times (100 ms doubling to 3.2 s, or the {@code Retry-After} header)
   * inside the blocking call: on top of the publisher's own retries that would multiply the attempts,
   * and it would keep the publisher's one thread, and every entry behind the failing one, waiting for
   * up to 19 s per attempt (minutes with a long {@code Retry-After}). The derived client shares the
   * HTTP connection pool; closing {@code client} closes it.
   */
  public static KubernetesClient clientFor(KubernetesClient client) {
    return clientFor(client, REQUEST_TIMEOUT);
  }

  /** As {@link #clientFor(KubernetesClient)} with another request timeout (tests of a server slower than it). */
  static KubernetesClient clientFor(KubernetesClient client, Duration requestTimeout) {
    RequestConfig requests = new RequestConfigBuilder(client.getConfiguration().getRequestConfig())
        .withRequestRetryBackoffLimit(0)
        .withRequestTimeout((int) requestTimeout.toMillis())
        .build();
    return client.newClient(requests).adapt(KubernetesClient.class);
  }

  /** What became of one attempt at a write. */
  private record Attempt(boolean finished, Duration retryAfter, boolean unreachable) {
    static final Attempt FINISHED = new Attempt(true, Duration.ZERO, false);
    static final Attempt RETRY = new Attempt(false, Duration.ZERO, false);
  }

  /** One API write waiting its turn. */
  private interface PendingWrite {
    Attempt perform();
  }

  /** A queued write with its own backoff; a newer version of the same write replaces it in place. */
  private static final class Entry {
    PendingWrite write;
    long version;
    int failures;
    long readyAtNanos;

    Entry(PendingWrite write, long now) {
      this.write = write;
      this.readyAtNanos = now;
    }
  }

  /**
   * Queues the incident for creation, or for merging into the incident of the same kill that exists
   * already; a newer version of a queued incident replaces it in place. Returns at once.
   */
  public void submit(OomIncident incident) {
    enqueue(incidentKey(incident), () -> write(incident));
  }

  private static String incidentKey(OomIncident incident) {
    return "incident/" + incident.id();
  }

  private void rememberCreated(String key) {
    synchronized (pending) {
      justCreated.mark(key, System.nanoTime());
    }
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
      Entry queued = pending.get(key);
      if (queued != null) {
        // keeps its place and its backoff: the API that failed it is the same
        queued.write = write;
        queued.version++;
        return;
      }
      if (pending.size() >= capacity) {
        Iterator<String> oldest = pending.keySet().iterator();
        LOG.warn("pending incident queue full ({}): dropping incident {}", capacity, oldest.next());
        oldest.remove();
        metrics.incidentDropped();
      }
      pending.put(key, new Entry(write, justCreated.expiresAt(key, System.nanoTime())));
      metrics.pendingIncidents(pending.size());
    }
    try {
      thread.execute(() -> scheduleDrain(0));
    } catch (java.util.concurrent.RejectedExecutionException closed) {
      // the publisher is closed: nothing more is written
    }
  }

  /** Incidents detected but not yet created. */
  public int pendingCount() {
    synchronized (pending) {
      return pending.size();
    }
  }

  private void drain() {
    scheduledDrain = null; // this is it running
    while (!thread.isShutdown()) {
      long now = System.nanoTime();
      String key = null;
      PendingWrite write = null;
      long version = 0;
      long earliest = Long.MAX_VALUE;
      synchronized (pending) {
        for (Map.Entry<String, Entry> e : pending.entrySet()) {
          if (e.getValue().readyAtNanos - now <= 0) {
            key = e.getKey();
            write = e.getValue().write;
            version = e.getValue().version;
            break;
          }
          earliest = Math.min(earliest, e.getValue().readyAtNanos - now);
        }
      }
      if (key == null) {
        if (earliest != Long.MAX_VALUE) {
          scheduleDrain(earliest);
        }
        return;
      }
      long wait = Math.max(nextWriteNanos, unreachableUntilNanos) - now;
      if (wait > 0) {
        scheduleDrain(wait);
        return;
      }
      nextWriteNanos = Math.max(nextWriteNanos, now - nanosPerWrite) + nanosPerWrite;
      Attempt attempt = perform(key, write);
      settle(key, version, attempt);
    }
  }

  private Attempt perform(String key, PendingWrite write) {
    try {
      return write.perform();
    } catch (RuntimeException e) {
      // not an API answer (a bug, a surprise from the client): keep the entry and try again later
      metrics.publishFailed();
      LOG.warn("could not write {} ({}); kept, retrying", key, e.toString());
      return Attempt.RETRY;
    }
  }

  /** Removes a finished entry (unless a newer version came meanwhile), or backs it off. */
  private void settle(String key, long version, Attempt attempt) {
    long now = System.nanoTime();
    if (attempt.unreachable()) {
      // nothing can get through: everything waits for the next try
      Duration delay = RETRY.delayAfter(++unreachableStreak);
      unreachableUntilNanos = now + delay.toNanos();
    } else {
      unreachableStreak = 0;
    }
    synchronized (pending) {
      Entry entry = pending.get(key);
      if (entry == null) {
        return; // dropped meanwhile (queue full)
      }
      if (attempt.finished()) {
        if (entry.version == version) {
          pending.remove(key);
        } else if (justCreated.isMarked(key, now)) {
          // a newer version came while this one was being created
          entry.readyAtNanos = justCreated.expiresAt(key, now);
        }
      } else {
        entry.failures++;
        Duration delay = RETRY.delayAfter(entry.failures);
        if (attempt.retryAfter().compareTo(delay) > 0) {
          delay = attempt.retryAfter().compareTo(MAX_RETRY_AFTER) > 0 ? MAX_RETRY_AFTER : attempt.retryAfter();
        }
        entry.readyAtNanos = now + delay.toNanos();
      }
      metrics.pendingIncidents(pending.size());
    }
  }

  /** Finished when the incident is in the API afterwards with everything this version knows, or refused for good. */
  private Attempt write(OomIncident incident) {
    OOMIncident resource = IncidentResources.toResource(incident);
    try {
      Optional<String> sameKill = sameKillUnderAnotherName(incident);
      if (sameKill.isPresent()) {
        LOG.debug("OOMIncident {} of pod {} is the kill already reported as {}", incident.id(), incident.pod(),
            sameKill.get());
        return mergeIntoExisting(sameKill.get(), incident, resource);
      }
      client.resources(OOMIncident.class).inNamespace(incident.pod().namespace()).resource(resource).create();
      rememberCreated(incidentKey(incident));
      createdOfPod.mark(incident.pod().uid(), System.nanoTime());
      metrics.incidentDetected(incident.verdict().display());
      metrics.detectedAfter(Duration.between(incident.killedAt(), incident.detectedAt()));
      metrics.killOf(incident.pod(), incident.id());
      LOG.info("OOM kill of gVisor pod {}: {} at {}{}, verdict {}; reported as OOMIncident {}",
          incident.pod(), incident.victimText(), incident.killedAt(),
          incident.limitBytes().isPresent() ? ", limit " + ByteSizes.quantity(incident.limitBytes().getAsLong()) : "",
          incident.verdict().display(), incident.id());
      return Attempt.FINISHED;
    } catch (KubernetesClientException e) {
      if (e.getCode() == HttpURLConnection.HTTP_CONFLICT) {
        return mergeIntoExisting(incident.id(), incident, resource);
      }
      return failed("OOMIncident " + incident.id() + " of pod " + incident.pod() + " not created",
          "it is not in the API", e);
    }
  }

  /**
   * The name of this agent's incident of the pod that is the same kill as {@code incident} under another
   * name, if any (the closest in kill time); empty when {@code incident}'s own name exists.
   */
  private Optional<String> sameKillUnderAnotherName(OomIncident incident) {
    List<OOMIncident> ofPod = cachedIncidentsOf(incident.pod()).orElseGet(() -> client.resources(OOMIncident.class)
        .inNamespace(incident.pod().namespace())
        .withLabel(OOMIncident.NODE_LABEL, OOMIncident.nodeLabelValue(incident.node()))
        .withLabel(OOMIncident.POD_UID_LABEL, incident.pod().uid())
        .list().getItems());
    if (ofPod.stream().anyMatch(i -> incident.id().equals(i.getMetadata().getName()))) {
      return Optional.empty();
    }
    return ofPod.stream()
        .filter(i -> IncidentResources.ownedBy(i, incident.node()) && incident.pod().uid().equals(i.getSpec().getPodUid()))
        .filter(i -> sandboxesAgree(i.getSpec().getSandboxId(), incident.sandboxId()))
        .filter(i -> killedAt(i).map(t -> Duration.between(t, incident.killedAt()).abs().compareTo(SAME_KILL) <= 0)
            .orElse(false))
        .min(Comparator.comparing(i -> Duration.between(killedAt(i).orElseThrow(), incident.killedAt()).abs()))
        .map(i -> i.getMetadata().getName());
  }

  /** The pod's incidents from the cache, unless it may lack one this publisher created a moment ago. */
  private Optional<List<OOMIncident>> cachedIncidentsOf(PodRef pod) {
    return createdOfPod.isMarked(pod.uid(), System.nanoTime()) ? Optional.empty()
        : known.ofPod(pod.namespace(), pod.uid());
  }

  private static boolean sandboxesAgree(String stored, Optional<String> sandboxId) {
    return stored == null || sandboxId.isEmpty() || sandboxId.get().startsWith(stored);
  }

  private static Optional<Instant> killedAt(OOMIncident incident) {
    try {
      return Optional.of(Instant.parse(incident.getSpec().getKilledAt()));
    } catch (RuntimeException e) {
      return Optional.empty();
    }
  }

  /** The kill was seen before: add what is new (evidence, a stronger verdict), optimistically locked. */
  private Attempt mergeIntoExisting(String name, OomIncident incident, OOMIncident resource) {
    var incidents = client.resources(OOMIncident.class).inNamespace(incident.pod().namespace());
    String testedVersion = null;
    try {
      OOMIncident existing = incidents.withName(name).get();
      if (existing == null) {
        return Attempt.RETRY; // deleted between our create and get (TTL): create again on the retry
      }
      OOMIncidentSpec merged = IncidentMerge.merge(existing, resource);
      if (merged == existing.getSpec()) {
        LOG.debug("OOMIncident {} exists already with all we know: kill seen before", name);
        metrics.incidentSeenBefore();
        metrics.killOf(incident.pod(), name); // the kill is counted by the name it is reported under
        return Attempt.FINISHED;
      }
      // a JSON patch replacing the whole spec, guarded by the resourceVersion: lists are replaced, never
      // merged element-wise (a merge patch's list semantics differ between servers)
      testedVersion = existing.getMetadata().getResourceVersion();
      ArrayNode patch = JSON.createArrayNode();
      patch.addObject().put("op", "test").put("path", "/metadata/resourceVersion").put("value", testedVersion);
      patch.addObject().put("op", "replace").put("path", "/spec").set("value", JSON.valueToTree(merged));
      incidents.withName(name).patch(PatchContext.of(PatchType.JSON), patch.toString());
      LOG.debug("OOMIncident {} of pod {}: more evidence, verdict {}", name, incident.pod(),
          merged.getVerdict());
      metrics.incidentMerged();
      metrics.killOf(incident.pod(), name); // the kill is counted by the name it is reported under
      return Attempt.FINISHED;
    } catch (KubernetesClientException e) {
      if (testedVersion != null && e.getCode() == UNPROCESSABLE && changedSince(testedVersion,
          () -> incidents.withName(name).get())) {
        return conflict("merge into OOMIncident " + name);
      }
      return failed("new evidence for OOMIncident " + name + " of pod " + incident.pod() + " not merged",
          "the incident stays as it was", e);
    }
  }

  private Attempt warn(PodRef pod, String reason, String message, String key, Optional<String> conditionType,
      Instant since) {
    String what = reason + " warning on pod " + pod + " not written";
    Pod fresh = null;
    try {
      if (conditionType.isPresent()) {
        fresh = client.pods().inNamespace(pod.namespace()).withName(pod.name()).get();
        if (fresh == null || !pod.uid().equals(fresh.getMetadata().getUid())) {
          LOG.info("pod {} is gone; warning {} not written", pod, reason);
          return Attempt.FINISHED;
        }
        conditions.mark(fresh, conditionType.get(), reason, message, since);
      }
    } catch (KubernetesClientException e) {
      // the condition's JSON patch tests the pod's resourceVersion: a pod that changed meanwhile is a
      // conflict (read again), not a refusal
      Pod tested = fresh;
      if (tested != null && e.getCode() == UNPROCESSABLE && changedSince(tested.getMetadata().getResourceVersion(),
          () -> client.pods().inNamespace(pod.namespace()).withName(pod.name()).get())) {
        return conflict("write " + reason + " on pod " + pod);
      }
      return failed(what, "no condition and no Event", e);
    }
    try {
      events.recordWarning(pod, reason, message, key);
      LOG.info("{} on pod {}: {}", reason, pod, message);
      metrics.warningReported(reason);
      return Attempt.FINISHED;
    } catch (KubernetesClientException e) {
      return failed(what, conditionType.isPresent() ? "its pod condition is written, its Event is not" : "no Event", e);
    }
  }

  /** True when the object's resourceVersion is no longer {@code tested} (or it is gone, or cannot be read). */
  private static boolean changedSince(String tested, java.util.function.Supplier<? extends HasMetadata> read) {
    try {
      HasMetadata now = read.get();
      return now == null || !java.util.Objects.equals(tested, now.getMetadata().getResourceVersion());
    } catch (KubernetesClientException e) {
      return true; // cannot tell: a retry finds out
    }
  }

  /** An optimistic-lock conflict (the reconciler patched meanwhile): read again and retry, not counted. */
  private Attempt conflict(String what) {
    LOG.debug("could not {}: changed meanwhile; retrying", what);
    return Attempt.RETRY;
  }

  /**
   * A permanent refusal drops the entry (one WARN line, counted by code); anything else keeps it for a
   * retry after its backoff (or the server's retryAfterSeconds).
   */
  private Attempt failed(String what, String consequence, KubernetesClientException e) {
    ApiRefusal refusal = ApiRefusal.of(e);
    if (refusal.permanent()) {
      metrics.publishRejected(refusal.code());
      LOG.warn("{}: the API refused it ({}); {}; dropped, not retried", what, refusal.describe(), consequence);
      return Attempt.FINISHED;
    }
    if (e.getCode() == HttpURLConnection.HTTP_CONFLICT) {
      return conflict(what);
    }
    metrics.publishFailed();
    LOG.warn("{} yet ({}); kept, retrying", what, refusal.describe());
    return new Attempt(false, refusal.retryAfter().orElse(Duration.ZERO), e.getCode() <= 0 && ApiRefusal.unreachable(e));
  }

  /** At most one drain is scheduled, at the earliest time asked for; new submissions only queue until then. */
  private void scheduleDrain(long delayNanos) {
    if (thread.isShutdown()) {
      return;
    }
    long at = System.nanoTime() + Math.max(delayNanos, 0);
    if (scheduledDrain != null && !scheduledDrain.isDone()) {
      if (scheduledDrainAt - at <= 0) {
        return;
      }
      scheduledDrain.cancel(false);
    }
    scheduledDrainAt = at;
    scheduledDrain = thread.schedule(this::drain, Math.max(delayNanos, 0), TimeUnit.NANOSECONDS);
  }

  @Override
  public void close() {
    thread.shutdownNow();
  }
}
