package dev.oomwatch.operator;

import dev.oomwatch.crd.OOMIncident;
import dev.oomwatch.publish.KnownIncidents;
import io.javaoperatorsdk.operator.processing.event.source.IndexerResourceCache;
import java.util.List;
import java.util.Optional;
import java.util.function.BooleanSupplier;

/**
 * The OOMIncident controller's own informer cache (the node's incidents, kept by the watch the controller
 * holds anyway), indexed by pod, answering the publisher's {@link KnownIncidents} questions. It answers
 * only once the reconciler {@linkplain #attach attached} the cache and the informer says it has synced and
 * is watching: before that (at start, with the API server down) the publisher lists instead. Set up once
 * at start; thread-safe.
 */
public final class IncidentCache implements KnownIncidents {
  private static final String BY_POD = "oomwatch-by-pod";

  private volatile IndexerResourceCache<OOMIncident> cache;
  private volatile BooleanSupplier synced = () -> false;

  /** Called by the reconciler when the controller is registered, before its informer starts. */
  void attach(IndexerResourceCache<OOMIncident> primaryCache) {
    primaryCache.addIndexer(BY_POD, incident -> List.of(key(incident.getMetadata().getNamespace(),
        incident.getMetadata().getLabels() == null ? null
            : incident.getMetadata().getLabels().get(OOMIncident.POD_UID_LABEL))));
    this.cache = primaryCache;
  }

  /** Whether the controller's informer has synced and is watching now (the wiring knows how to ask). */
  public void syncedWhen(BooleanSupplier informerSynced) {
    this.synced = informerSynced;
  }

  @Override
  public Optional<List<OOMIncident>> ofPod(String namespace, String podUid) {
    IndexerResourceCache<OOMIncident> current = cache;
    if (current == null || !synced.getAsBoolean()) {
      return Optional.empty();
    }
    return Optional.of(current.byIndex(BY_POD, key(namespace, podUid)));
  }

  private static String key(String namespace, String podUid) {
    return namespace + "/" + podUid;
  }
}
