package dev.oomwatch.model;

import java.util.Collection;
import java.util.List;
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

  /** A fixed set of pods (a dry run, a test); immutable. */
  static GvisorPods of(WatchedPod... pods) {
    List<WatchedPod> fixed = List.of(pods);
    return new GvisorPods() {
      @Override
      public Optional<WatchedPod> byUid(String podUid) {
        return fixed.stream().filter(p -> p.ref().uid().equals(podUid)).findFirst();
      }

      @Override
      public Collection<WatchedPod> all() {
        return fixed;
      }
    };
  }
}
