package dev.oomwatch.model;

import java.util.Objects;

/**
 * Identity of one pod: namespace, name and uid. The uid tells a pod apart from a later pod of the same
 * name (a StatefulSet replica, a re-created Deployment pod). Immutable; safe to share between threads.
 */
public record PodRef(String namespace, String name, String uid) {
  public PodRef {
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(uid, "uid");
  }

  @Override
  public String toString() {
    return namespace + "/" + name;
  }
}
