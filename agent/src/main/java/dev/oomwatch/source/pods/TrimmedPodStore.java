package dev.oomwatch.source.pods;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerState;
import io.fabric8.kubernetes.api.model.ContainerStateRunning;
import io.fabric8.kubernetes.api.model.ContainerStateTerminated;
import io.fabric8.kubernetes.api.model.ContainerStateWaiting;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.client.informers.cache.Cache;
import io.fabric8.kubernetes.client.informers.cache.ItemStore;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.stream.Stream;

/**
 * The pod informer's store, keeping a trimmed copy of each pod: only the fields the agent reads. A
 * tenant decides how big its pods are (256 KiB of annotations, as many labels, long command lines and
 * env lists, up to the API server's ~1.5 MiB per object), and every pod of the node would otherwise stay
 * in the agent's 64 MiB heap whole. What is kept, and who reads it:
 *
 * <ul>
 *   <li>metadata: namespace and name (the store's key), uid (identity, the uid index), resourceVersion
 *       (fabric8 compares it to tell an update from a resync), deletionTimestamp and
 *       deletionGracePeriodSeconds (a pod being deleted);
 *   <li>spec: nodeName, runtimeClassName, overhead, and each container's and init container's name and
 *       {@code resources.limits} ({@link PodMemoryLimits});
 *   <li>status: phase, reason (e.g. {@code Evicted}), conditions without their messages (e.g.
 *       {@code DisruptionTarget}), and each container's name, containerID, restartCount and states
 *       without their messages ({@link ContainerExits}: exit code, reason, finishedAt, containerID).
 * </ul>
 *
 * A reader that needs another field must add it here (the cache is where it would be missing). fabric8
 * indexes and notifies with the whole pod it received (the uid index and the update listeners see it),
 * and keeps only what this store keeps; the previous pod of an update notification is the trimmed one.
 * Thread-safe (a concurrent map, as fabric8's own store).
 */
final class TrimmedPodStore implements ItemStore<Pod> {
  private final ConcurrentMap<String, Pod> pods = new ConcurrentHashMap<>();

  @Override
  public String getKey(Pod pod) {
    return Cache.metaNamespaceKeyFunc(pod);
  }

  @Override
  public Pod put(String key, Pod pod) {
    return pods.put(key, trim(pod));
  }

  @Override
  public Pod remove(String key) {
    return pods.remove(key);
  }

  @Override
  public Stream<String> keySet() {
    return pods.keySet().stream();
  }

  @Override
  public Stream<Pod> values() {
    return pods.values().stream();
  }

  @Override
  public int size() {
    return pods.size();
  }

  @Override
  public Pod get(String key) {
    return pods.get(key);
  }

  /** A new pod holding only the fields listed on the class; {@code pod} is not changed. */
  static Pod trim(Pod pod) {
    Pod trimmed = new Pod();
    trimmed.setApiVersion(pod.getApiVersion());
    trimmed.setKind(pod.getKind());
    trimmed.setMetadata(metadata(pod.getMetadata()));
    trimmed.setSpec(spec(pod.getSpec()));
    trimmed.setStatus(status(pod.getStatus()));
    return trimmed;
  }

  private static ObjectMeta metadata(ObjectMeta meta) {
    ObjectMeta kept = new ObjectMeta();
    if (meta != null) {
      kept.setNamespace(meta.getNamespace());
      kept.setName(meta.getName());
      kept.setUid(meta.getUid());
      kept.setResourceVersion(meta.getResourceVersion());
      kept.setDeletionTimestamp(meta.getDeletionTimestamp());
      kept.setDeletionGracePeriodSeconds(meta.getDeletionGracePeriodSeconds());
    }
    return kept;
  }

  private static PodSpec spec(PodSpec spec) {
    if (spec == null) {
      return null;
    }
    PodSpec kept = new PodSpec();
    kept.setNodeName(spec.getNodeName());
    kept.setRuntimeClassName(spec.getRuntimeClassName());
    kept.setOverhead(spec.getOverhead());
    kept.setContainers(containers(spec.getContainers()));
    kept.setInitContainers(containers(spec.getInitContainers()));
    return kept;
  }

  private static List<Container> containers(List<Container> containers) {
    if (containers == null) {
      return null;
    }
    return containers.stream().map(c -> {
      if (c == null) {
        return null;
      }
      Container kept = new Container();
      kept.setName(c.getName());
      if (c.getResources() != null) {
        ResourceRequirements resources = new ResourceRequirements();
        resources.setLimits(c.getResources().getLimits());
        kept.setResources(resources);
      }
      return kept;
    }).toList();
  }

  private static PodStatus status(PodStatus status) {
    if (status == null) {
      return null;
    }
    PodStatus kept = new PodStatus();
    kept.setPhase(status.getPhase());
    kept.setReason(status.getReason());
    if (status.getConditions() != null) {
      kept.setConditions(status.getConditions().stream().map(c -> {
        if (c == null) {
          return null;
        }
        PodCondition condition = new PodCondition();
        condition.setType(c.getType());
        condition.setStatus(c.getStatus());
        condition.setReason(c.getReason());
        condition.setLastTransitionTime(c.getLastTransitionTime());
        return condition;
      }).toList());
    }
    if (status.getContainerStatuses() != null) {
      kept.setContainerStatuses(status.getContainerStatuses().stream().map(TrimmedPodStore::containerStatus).toList());
    }
    return kept;
  }

  private static ContainerStatus containerStatus(ContainerStatus status) {
    if (status == null) {
      return null;
    }
    ContainerStatus kept = new ContainerStatus();
    kept.setName(status.getName());
    kept.setContainerID(status.getContainerID());
    kept.setRestartCount(status.getRestartCount());
    kept.setReady(status.getReady());
    kept.setState(state(status.getState()));
    kept.setLastState(state(status.getLastState()));
    return kept;
  }

  private static ContainerState state(ContainerState state) {
    if (state == null) {
      return null;
    }
    ContainerState kept = new ContainerState();
    if (state.getRunning() != null) {
      kept.setRunning(new ContainerStateRunning(state.getRunning().getStartedAt()));
    }
    if (state.getWaiting() != null) {
      ContainerStateWaiting waiting = new ContainerStateWaiting();
      waiting.setReason(state.getWaiting().getReason());
      kept.setWaiting(waiting);
    }
    ContainerStateTerminated t = state.getTerminated();
    if (t != null) {
      ContainerStateTerminated terminated = new ContainerStateTerminated();
      terminated.setContainerID(t.getContainerID());
      terminated.setExitCode(t.getExitCode());
      terminated.setSignal(t.getSignal());
      terminated.setReason(t.getReason());
      terminated.setStartedAt(t.getStartedAt());
      terminated.setFinishedAt(t.getFinishedAt());
      kept.setTerminated(terminated);
    }
    return kept;
  }
}
