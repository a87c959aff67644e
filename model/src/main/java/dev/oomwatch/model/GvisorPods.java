package dev.oomwatch.model;

import java.util.Collection;
import java.util.Optional;

/**
 * The gVisor pods currently on this node, by uid: what inference needs to know about the cluster.
 * Implementations answer from an in-memory cache and are thread-safe.
 */
public interface GvisorPods {
  /** The pod with this uid, if it is on this node and runs with the gVisor runtime handler. */
  Optional<WatchedPod> byUid(String podUid);

  /** Every gVisor pod on this node now. */
  Collection<WatchedPod> all();
}
