package dev.oomwatch.source.pods;

import dev.oomwatch.metrics.AgentMetrics;
import dev.oomwatch.model.ContainerExit;
import dev.oomwatch.model.Observation;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.model.PodSandboxChanged;
import dev.oomwatch.model.WatchedPod;
import dev.oomwatch.source.Source;
import dev.oomwatch.source.SourceHealth;
import dev.oomwatch.support.DaemonThreads;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.ListOptionsBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What kubelet says about gVisor pods: container terminations (from the node's pod informer that
 * {@link PodWatch} keeps) and kubelet's {@code SandboxChanged} Event of a pod whose containers just
 * terminated. Weak evidence on its own — a sandbox OOM shows as exit 128 with reason {@code Error} — so
 * it only ever strengthens or names what the kernel and cgroup sources saw (fusion adds a
 * {@link PodSandboxChanged} to an incident already open for the pod, and never opens one for it). Not
 * OOM-capable.
 *
 * <p>There is no informer on Events: anyone who may create Events in any namespace could make every
 * agent hold them all. Instead, when an update of one of this node's gVisor pods shows a container
 * termination (the moment kubelet has seen the sandbox die), the Events of that one pod are asked for:
 * a list in the pod's namespace with the field selector {@code involvedObject.uid=<uid>,reason=SandboxChanged}
 * and {@code limit} {@value #EVENTS_PER_LOOKUP} (kubelet aggregates its repeats into one Event, so a
 * page this small holds it; a page of forged 1 MiB Events stays a few MiB, read and dropped). Kubelet
 * records the Event about when it writes the container statuses, either first, so the list is sent
 * {@link #FIRST_LOOKUP_DELAY} after the termination and, if it found no Event of that time, once more
 * after {@link #SECOND_LOOKUP_DELAY}. Lookups of one pod coalesce; an Event occurrence (uid, count and
 * time) is delivered once. The pod's own statuses cannot replace the Event: they do not say that the
 * sandbox, rather than a container, died.
 *
 * <p>Threading: the sink is called from the pod informer's thread (terminations) and from the daemon
 * thread {@code pod-events} (the Event lookups, one at a time). Thread-safe.
 */
public final class PodStatusSource implements Source {
  private static final Logger LOG = LoggerFactory.getLogger(PodStatusSource.class);
  static final String REASON = "SandboxChanged";
  /** The most Events one lookup reads (the list's {@code limit}). */
  public static final int EVENTS_PER_LOOKUP = 5;
  static final Duration FIRST_LOOKUP_DELAY = Duration.ofSeconds(2);
  static final Duration SECOND_LOOKUP_DELAY = Duration.ofSeconds(10);
  /** An Event this far from the termination is about another sandbox death. */
  static final Duration SAME_DEATH = Duration.ofMinutes(2);
  /** Event occurrences remembered as delivered (oldest forgotten first). */
  private static final int DELIVERED_MEMORY = 1024;

  private final KubernetesClient client;
  private final PodWatch pods;
  private final Set<String> lookupsPending = ConcurrentHashMap.newKeySet();
  private final java.util.concurrent.atomic.AtomicLong lookupFailures = new java.util.concurrent.atomic.AtomicLong();
  /** Event uid → the occurrence delivered last; used by the lookup thread only. */
  private final Map<String, String> delivered = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
      return size() > DELIVERED_MEMORY;
    }
  };
  private volatile Consumer<Observation> sink = observation -> {};
  private ScheduledExecutorService lookups;
  private boolean listening;

  public PodStatusSource(KubernetesClient client, PodWatch pods) {
    this.client = client;
    this.pods = pods;
  }

  @Override
  public String name() {
    return "pods";
  }

  /** Lookups of a pod's {@code SandboxChanged} Events that the API server failed; from any thread. */
  public long eventLookupFailures() {
    return lookupFailures.get();
  }

  @Override
  public void registerMetrics(AgentMetrics metrics) {
    metrics.registerCounter("oomwatch_pod_event_lookup_failures",
        "Lookups of a pod's SandboxChanged Events the API server failed (weak evidence; the incident is reported"
            + " without it)", lookupFailures::get);
  }

  @Override
  public boolean oomCapable() {
    return false;
  }

  @Override
  public synchronized void start(Consumer<Observation> sink) {
    this.sink = sink;
    if (lookups == null) {
      lookups = DaemonThreads.scheduler("pod-events");
    }
    if (!listening) {
      // registered once the sink is set: the watch replays the pods it already holds, so the first
      // sight of each (the terminations of an agent restart) reaches the sink
      pods.onPodUpdate(this::podUpdated);
      listening = true;
    }
  }

  private void podUpdated(Pod before, Pod after) {
    String uid = after.getMetadata().getUid();
    Optional<WatchedPod> watched = pods.byUid(uid);
    if (watched.isEmpty()) {
      return;
    }
    List<ContainerExit> exits = ContainerExits.between(before, after, watched.get().ref());
    exits.forEach(exit -> {
      LOG.debug("container {} of pod {} terminated: exit {} ({})", exit.container(), exit.pod(), exit.exitCode(),
          exit.reason());
      sink.accept(exit);
    });
    // the first sight of a pod (before == null) shows old terminations too: nothing to ask about
    if (before != null && !exits.isEmpty()) {
      Instant latest = exits.stream().map(ContainerExit::finishedAt).max(Instant::compareTo).orElseThrow();
      scheduleLookup(watched.get().ref(), latest, FIRST_LOOKUP_DELAY, true);
    }
  }

  private synchronized void scheduleLookup(PodRef pod, Instant terminatedAt, Duration delay, boolean retryIfNone) {
    if (lookups == null || !lookupsPending.add(pod.uid())) {
      return;
    }
    try {
      lookups.schedule(() -> lookUp(pod, terminatedAt, retryIfNone), delay.toMillis(), TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      lookupsPending.remove(pod.uid()); // closing
    }
  }

  private void lookUp(PodRef pod, Instant terminatedAt, boolean retryIfNone) {
    lookupsPending.remove(pod.uid());
    List<Event> events;
    try {
      events = client.v1().events().inNamespace(pod.namespace())
          .withField("involvedObject.uid", pod.uid())
          .withField("reason", REASON)
          .list(new ListOptionsBuilder().withLimit((long) EVENTS_PER_LOOKUP).build())
          .getItems();
    } catch (KubernetesClientException e) {
      lookupFailures.incrementAndGet();
      LOG.warn("cannot read the {} Events of pod {} (weak evidence only; the incident is reported without it): {}",
          REASON, pod, e.getMessage());
      return;
    }
    boolean found = false;
    for (Event event : events) {
      Optional<Instant> at = sandboxChangedAt(event, pod);
      if (at.isEmpty() || Duration.between(at.get(), terminatedAt).abs().compareTo(SAME_DEATH) > 0) {
        continue;
      }
      found = true;
      String occurrence = event.getCount() + "@" + at.get();
      String key = event.getMetadata() == null ? "" : event.getMetadata().getNamespace() + "/"
          + event.getMetadata().getName();
      if (!occurrence.equals(delivered.put(key, occurrence))) {
        sink.accept(new PodSandboxChanged(pod, at.get()));
      }
    }
    if (!found && retryIfNone) {
      scheduleLookup(pod, terminatedAt, SECOND_LOOKUP_DELAY, false);
    }
  }

  /**
   * When the Event last happened, if it is a SandboxChanged Event about this pod (checked again here:
   * the selector is the API server's to apply, and not every server does).
   */
  private static Optional<Instant> sandboxChangedAt(Event event, PodRef pod) {
    if (!REASON.equals(event.getReason()) || event.getInvolvedObject() == null
        || !pod.uid().equals(event.getInvolvedObject().getUid())) {
      return Optional.empty();
    }
    return parse(event.getLastTimestamp())
        .or(() -> event.getEventTime() == null ? Optional.empty() : parse(event.getEventTime().getTime()))
        .or(() -> parse(event.getFirstTimestamp()));
  }

  private static Optional<Instant> parse(String time) {
    try {
      return time == null ? Optional.empty() : Optional.of(Instant.parse(time));
    } catch (RuntimeException e) {
      return Optional.empty();
    }
  }

  @Override
  public SourceHealth health() {
    synchronized (this) {
      if (lookups == null) {
        return new SourceHealth(name(), SourceHealth.State.STARTING, "");
      }
    }
    boolean live = pods.isWatching();
    return new SourceHealth(name(), live ? SourceHealth.State.LIVE : SourceHealth.State.FAILED,
        live ? "" : "not watching pods: is the API server reachable?");
  }

  @Override
  public synchronized void close() {
    if (lookups != null) {
      lookups.shutdownNow();
      lookups = null;
    }
  }
}
