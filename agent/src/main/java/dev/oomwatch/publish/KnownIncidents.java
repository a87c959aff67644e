package dev.oomwatch.publish;

import dev.oomwatch.crd.OOMIncident;
import java.util.List;
import java.util.Optional;

/**
 * The node's OOMIncidents as a watch-fed cache holds them: what the publisher asks before creating an
 * incident, instead of a list request per incident. Implementations are thread-safe and never block.
 */
public interface KnownIncidents {
  /** Knows nothing: every question is answered with a list request. */
  KnownIncidents NONE = (namespace, podUid) -> Optional.empty();

  /**
   * This node's incidents of the pod with {@code podUid} in {@code namespace}, as the cache holds them
   * now; empty when the cache cannot answer (not filled yet, or its watch broke), and the API is asked.
   * The resources returned are the cache's own: read them, never change them.
   */
  Optional<List<OOMIncident>> ofPod(String namespace, String podUid);
}
