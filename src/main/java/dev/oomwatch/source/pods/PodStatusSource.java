package dev.oomwatch.source.pods;

import dev.oomwatch.model.Observation;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.model.PodSandboxChanged;
import dev.oomwatch.model.WatchedPod;
import dev.oomwatch.source.Source;
import dev.oomwatch.source.SourceHealth;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.time.Instant;
import java.util.Optional;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What kubelet says about gVisor pods: container terminations (from the node's pod informer that
 * {@link PodWatch} keeps) and {@code SandboxChanged} Events (one informer on Events with that reason).
 * Weak evidence on its own — a sandbox OOM shows as exit 128 with reason {@code Error} — so it only
 * ever strengthens or names what the kernel and cgroup sources saw. Not OOM-capable. The sink is
 * called from the informers' event threads; thread-safe.
 */
public final class PodStatusSource implements Source {
  private static final Logger LOG = LoggerFactory.getLogger(PodStatusSource.class);

  private final KubernetesClient client;
  private final PodWatch pods;
  private volatile Consumer<Observation> sink = observation -> {};
  private SharedIndexInformer<Event> sandboxChanged;

  public PodStatusSource(KubernetesClient client, PodWatch pods) {
    this.client = client;
    this.pods = pods;
    pods.onPodUpdate(this::podUpdated);
  }

  @Override
  public String name() {
    return "pods";
  }

  @Override
  public boolean oomCapable() {
    return false;
  }

  @Override
  public synchronized void start(Consumer<Observation> sink) {
    this.sink = sink;
    sandboxChanged = client.v1().events().inAnyNamespace().withField("reason", "SandboxChanged")
        .inform(new ResourceEventHandler<>() {
          @Override
          public void onAdd(Event event) {
            eventSeen(event);
          }

          @Override
          public void onUpdate(Event before, Event after) {
            eventSeen(after);
          }

          @Override
          public void onDelete(Event event, boolean unknownFinalState) {
            // the Event expiring says nothing
          }
        });
  }

  private void podUpdated(Pod before, Pod after) {
    String uid = after.getMetadata().getUid();
    Optional<WatchedPod> watched = pods.byUid(uid);
    if (watched.isEmpty()) {
      return;
    }
    ContainerExits.between(before, after, watched.get().ref()).forEach(exit -> {
      LOG.debug("container {} of pod {} terminated: exit {} ({})", exit.container(), exit.pod(), exit.exitCode(),
          exit.reason());
      sink.accept(exit);
    });
  }

  private void eventSeen(Event event) {
    if (!"SandboxChanged".equals(event.getReason()) || event.getInvolvedObject() == null
        || !"Pod".equals(event.getInvolvedObject().getKind()) || event.getInvolvedObject().getUid() == null) {
      return;
    }
    pods.byUid(event.getInvolvedObject().getUid()).ifPresent(pod -> {
      String last = event.getLastTimestamp() != null ? event.getLastTimestamp() : event.getFirstTimestamp();
      Instant at = parse(last);
      sink.accept(new PodSandboxChanged(pod.ref(), at));
    });
  }

  private static Instant parse(String time) {
    try {
      return time == null ? Instant.now() : Instant.parse(time);
    } catch (RuntimeException e) {
      return Instant.now();
    }
  }

  @Override
  public SourceHealth health() {
    SharedIndexInformer<Event> informer = sandboxChanged;
    if (informer == null) {
      return new SourceHealth(name(), SourceHealth.State.STARTING, "");
    }
    boolean live = informer.isWatching() && pods.isWatching();
    return new SourceHealth(name(), live ? SourceHealth.State.LIVE : SourceHealth.State.FAILED,
        live ? "" : "not watching pods or SandboxChanged Events: is the API server reachable?");
  }

  @Override
  public synchronized void close() {
    if (sandboxChanged != null) {
      sandboxChanged.close();
    }
  }
}
