package dev.oomwatch.source.pods;

import dev.oomwatch.model.GvisorPods;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.model.WatchedPod;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.node.v1.RuntimeClass;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pods of this node, kept by one node-scoped pod informer, and the cluster's RuntimeClasses, kept
 * by a second informer: never a cluster-wide pod watch, never a GET per pod. The informer sends the
 * field selector {@code spec.nodeName=<node>} to the API server and every lookup applies the same
 * filter again (a server that ignores the selector must not make another node's pod ours).
 *
 * <p>The pod informer starts once the RuntimeClasses are listed (or their list failed): a pod seen
 * before its RuntimeClass would not be taken for a gVisor pod, and the first sight of a pod is when the
 * terminations of an agent restart are reported.
 *
 * <p>Lookups read the informers' caches only and are thread-safe; {@link #start} and {@link #close}
 * are called once each by the wiring. The cache keeps each pod trimmed to the fields the agent reads
 * ({@link TrimmedPodStore}); the update listeners get the whole new pod.
 */
public final class PodWatch implements GvisorPods, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PodWatch.class);
  private static final String UID_INDEX = "uid";
  /**
   * Pods per page of the informer's lists: a page is held whole while it is read, and a pod can be
   * ~1.5 MiB (the API server's limit), so a node's 110 pods in one answer could alone fill the agent's
   * heap; 5 keeps a page under ~8 MiB, for a few more requests at start.
   */
  static final long LIST_PAGE_SIZE = 5;
  /** Far above a node's pods (kubelet's default maximum is 110): the memo is cleared beyond it. */
  static final int MAX_MADE = 4_096;

  private final KubernetesClient client;
  private final String nodeName;
  private final String runtimeHandler;
  /** Listeners registered before {@link #start}; guarded by this. */
  private final List<BiConsumer<Pod, Pod>> earlyListeners = new ArrayList<>();
  private boolean closed;
  private SharedIndexInformer<Pod> pods;
  private SharedIndexInformer<RuntimeClass> runtimeClasses;
  /**
   * Each gVisor pod's model, made once per version of the cached pod: the sources look every pod up at
   * every poll, and making it parses the containers' memory quantities. Keyed by uid; an entry is used
   * only for the very pod object it was made from (the store replaces the object on every update).
   */
  private final ConcurrentMap<String, Made> madeByUid = new ConcurrentHashMap<>();

  public PodWatch(KubernetesClient client, String nodeName, String runtimeHandler) {
    this.client = client;
    this.nodeName = nodeName;
    this.runtimeHandler = runtimeHandler;
  }

  /** Starts both informers; returns at once (see {@link #hasSynced}). */
  public synchronized void start() {
    runtimeClasses = client.resources(RuntimeClass.class).runnableInformer(0);
    // paged, and trimmed before they are kept: a tenant decides how big its pods are (TrimmedPodStore)
    pods = client.pods().inAnyNamespace().withField("spec.nodeName", nodeName).withLimit(LIST_PAGE_SIZE)
        .runnableInformer(0);
    pods.itemStore(new TrimmedPodStore());
    pods.addIndexers(Map.of(UID_INDEX, pod -> List.of(pod.getMetadata().getUid())));
    pods.addEventHandler(new ResourceEventHandler<>() {
      @Override
      public void onAdd(Pod pod) {}

      @Override
      public void onUpdate(Pod before, Pod after) {}

      @Override
      public void onDelete(Pod pod, boolean unknownFinalState) {
        // a deleted pod has nothing more to say
        if (pod != null && pod.getMetadata() != null && pod.getMetadata().getUid() != null) {
          madeByUid.remove(pod.getMetadata().getUid());
        }
      }
    });
    earlyListeners.forEach(this::addHandler);
    earlyListeners.clear();
    runtimeClasses.start().whenComplete((synced, failure) -> startPods());
    LOG.debug("watching pods with spec.nodeName={} and RuntimeClasses with handler {}", nodeName, runtimeHandler);
  }

  private synchronized void startPods() {
    if (!closed) {
      pods.start();
    }
  }

  /**
   * Calls {@code listener(before, after)} from the informer's thread for every pod added (before is
   * null) or updated on this node. A listener registered after {@link #start} first gets each cached pod
   * as added (the informer replays its cache to a new handler), so nothing seen before is missed.
   */
  public synchronized void onPodUpdate(BiConsumer<Pod, Pod> listener) {
    if (pods == null) {
      earlyListeners.add(listener);
    } else {
      addHandler(listener);
    }
  }

  private void addHandler(BiConsumer<Pod, Pod> listener) {
    pods.addEventHandler(new ResourceEventHandler<>() {
      @Override
      public void onAdd(Pod pod) {
        listener.accept(null, pod);
      }

      @Override
      public void onUpdate(Pod before, Pod after) {
        listener.accept(before, after);
      }

      @Override
      public void onDelete(Pod pod, boolean unknownFinalState) {}
    });
  }

  /** True once both caches hold a full list from the API server. */
  public boolean hasSynced() {
    return pods != null && runtimeClasses != null && pods.hasSynced() && runtimeClasses.hasSynced();
  }

  /** True while both informers are watching (false after an unrecoverable watch error). */
  public boolean isWatching() {
    return pods != null && runtimeClasses != null && pods.isWatching() && runtimeClasses.isWatching();
  }

  @Override
  public Optional<WatchedPod> byUid(String podUid) {
    return cachedPod(podUid)
        .filter(this::isOnThisNode)
        .flatMap(pod -> gvisorRuntimeClass(pod).map(rc -> watched(pod, rc)));
  }

  /**
   * The cached pod with this uid. fabric8's cache updates a pod's index entries under a lock that its
   * index lookups do not take, removing the old entry before adding the new one: while a pod is being
   * updated (as kubelet does when its sandbox dies, just when kills arrive) the index can miss it
   * (fabric8io/kubernetes-client#7265, open for 7.x). The store itself always holds the old or the new
   * pod, so a miss is checked there (a scan of this node's pods, only when the index has no answer).
   */
  Optional<Pod> cachedPod(String podUid) {
    if (pods == null) {
      return Optional.empty();
    }
    Optional<Pod> indexed = pods.getIndexer().byIndex(UID_INDEX, podUid).stream().findFirst();
    if (indexed.isPresent()) {
      return indexed;
    }
    return pods.getStore().list().stream()
        .filter(pod -> pod.getMetadata() != null && podUid.equals(pod.getMetadata().getUid()))
        .findFirst();
  }

  @Override
  public Collection<WatchedPod> all() {
    if (pods == null) {
      return List.of();
    }
    return pods.getStore().list().stream()
        .filter(this::isOnThisNode)
        .flatMap(pod -> gvisorRuntimeClass(pod).map(rc -> watched(pod, rc)).stream())
        .toList();
  }

  /** The model of this version of the pod: made once, then reused while the cache holds this object. */
  private WatchedPod watched(Pod pod, String runtimeClassName) {
    String uid = pod.getMetadata().getUid();
    Made made = madeByUid.get(uid);
    if (made != null && made.pod() == pod && made.runtimeClassName().equals(runtimeClassName)) {
      return made.watched();
    }
    WatchedPod watched = toWatched(pod, runtimeClassName);
    if (madeByUid.size() > MAX_MADE) {
      // a delete notification lost to a race with a lookup leaves an entry behind; start over
      madeByUid.clear();
    }
    madeByUid.put(uid, new Made(pod, runtimeClassName, watched));
    return watched;
  }

  /** A pod's model and the cached pod object and RuntimeClass it was made from. */
  private record Made(Pod pod, String runtimeClassName, WatchedPod watched) {}

  /** On this node, and with the identity every API server gives a pod (anything else is skipped, not thrown on). */
  private boolean isOnThisNode(Pod pod) {
    return pod.getSpec() != null && nodeName.equals(pod.getSpec().getNodeName()) && pod.getMetadata() != null
        && pod.getMetadata().getUid() != null && pod.getMetadata().getName() != null
        && pod.getMetadata().getNamespace() != null;
  }

  private Optional<String> gvisorRuntimeClass(Pod pod) {
    String name = pod.getSpec().getRuntimeClassName();
    if (name == null) {
      return Optional.empty();
    }
    RuntimeClass runtimeClass = runtimeClasses.getStore().getByKey(name);
    if (runtimeClass == null || !Objects.equals(runtimeHandler, runtimeClass.getHandler())) {
      return Optional.empty();
    }
    return Optional.of(name);
  }

  private static WatchedPod toWatched(Pod pod, String runtimeClassName) {
    var meta = pod.getMetadata();
    return new WatchedPod(
        new PodRef(meta.getNamespace(), meta.getName(), meta.getUid()),
        runtimeClassName,
        PodMemoryLimits.of(pod.getSpec()),
        meta.getDeletionTimestamp() != null,
        evicted(pod));
  }

  /**
   * Kubelet's eviction sets phase Failed with reason {@code Evicted}; evictions, preemptions and
   * taint-manager or shutdown terminations also add a {@code DisruptionTarget} condition (Kubernetes 1.26+).
   * Either way the sandbox dies on purpose, not for lack of memory.
   */
  static boolean evicted(Pod pod) {
    var status = pod.getStatus();
    if (status == null) {
      return false;
    }
    return "Evicted".equals(status.getReason()) || (status.getConditions() != null && status.getConditions().stream()
        .anyMatch(c -> c != null && "DisruptionTarget".equals(c.getType()) && "True".equals(c.getStatus())));
  }

  @Override
  public synchronized void close() {
    closed = true;
    if (pods != null) {
      pods.close();
    }
    if (runtimeClasses != null) {
      runtimeClasses.close();
    }
  }
}
