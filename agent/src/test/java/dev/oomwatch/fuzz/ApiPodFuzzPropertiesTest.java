package dev.oomwatch.fuzz;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.oomwatch.model.ContainerExit;
import dev.oomwatch.model.IncidentIds;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.model.WatchedPod;
import dev.oomwatch.podreport.PodEventRecorder;
import dev.oomwatch.source.pods.PodWatch;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerState;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodList;
import io.fabric8.kubernetes.api.model.Quantity;
import java.lang.invoke.MethodHandle;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.SplittableRandom;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Hostile Pod JSON, as the node's pod informer would receive it (a watch message or a list response,
 * read by fabric8's {@link io.fabric8.kubernetes.client.utils.KubernetesSerialization}, see
 * {@link InformerJson}), then through the agent's own reading of it: the informer cache's trimming
 * ({@code TrimmedPodStore.trim}), {@code PodWatch}'s node filter and its Pod → {@link WatchedPod}
 * conversion (with {@code PodMemoryLimits} and the eviction check) on the trimmed pod, as
 * {@code PodWatch.byUid} reads it, and {@code ContainerExits.between}, which {@code PodStatusSource} runs
 * for every pod update. Inputs are mutated from realistic pods: a gVisor pod restarted after its sandbox
 * died (exit 128, reason {@code Error}, in {@code lastState}), an evicted one being deleted, one with odd
 * quantities, unicode, a long name and big annotations, and one of another node; 1 in 50 gets 256 KiB of
 * annotations. Size and seeds: see {@link Fuzz}.
 *
 * <p>Properties: the deserialiser fails only with its documented refusals
 * ({@link InformerJson#isDocumentedRefusal}); the trimming, the node filter and the exits never throw;
 * for a gVisor pod of this node the model is the pod's identity as it is, the runtime class named, a
 * memory limit that is absent or non-negative and not below any one container's limit,
 * {@code deletionRequested} exactly when a deletion timestamp is set, and the same whether built from the
 * trimmed or the whole pod; the names the agent derives from a pod whose name the API server accepts (a
 * DNS subdomain of at most 253 characters) are names the API server accepts too (the incident's and the
 * Event's); container exits are the pod's own terminated states, a pod compared with itself has none,
 * and neither has a resync (the trimmed previous pod against the whole new one).
 *
 * <p>A pod no API server sends ({@link #beyondTheApiServer}: no name, namespace or uid, no containers or
 * a null one, a memory quantity fabric8 cannot read) must not break the node's lookups either: one with
 * no identity is not taken for one of this node, and the others give a model (no memory limit where one
 * cannot be read), without throwing (counted apart).
 */
@Tag("fuzz")
class ApiPodFuzzPropertiesTest {
  static final String FAMILY = "api.pods";
  private static final String NODE = "node-a";

  private static final MethodHandle IS_ON_THIS_NODE = Internals.method(PodWatch.class, "isOnThisNode", Pod.class);
  private static final MethodHandle TO_WATCHED = Internals.method(PodWatch.class, "toWatched", Pod.class,
      String.class);
  /** The identity the exits of a pod without one are reported under. */
  private static final PodRef REF = new PodRef("shop", "oom-demo", "2d9a6c1e-7f4b-4b8e-a1c3-5e6f7a8b9c0d");
  private static final MethodHandle TRIM = Internals.method(
      Internals.type("dev.oomwatch.source.pods.TrimmedPodStore"), "trim", Pod.class);
  private static final MethodHandle BETWEEN = Internals.method(
      Internals.type("dev.oomwatch.source.pods.ContainerExits"), "between", Pod.class, Pod.class, PodRef.class);
  private static final TypeReference<PodList> POD_LIST = new TypeReference<>() {};
  /** Never started: only its node filter is called. */
  private static final PodWatch POD_WATCH = new PodWatch(null, NODE, "runsc");

  /** What the API server accepts as an object name (pods, Events, custom resources). */
  static final Pattern DNS_SUBDOMAIN = Pattern.compile(
      "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  static final int MAX_NAME = 253;

  /** A gVisor pod whose sandbox died and was re-created: exit 128 reason Error in lastState. */
  static final String RESTARTED_GVISOR_POD = """
      {"apiVersion":"v1","kind":"Pod","metadata":{"name":"oom-demo-7d9c5b6f4-x2x7q","namespace":"shop",
       "uid":"2d9a6c1e-7f4b-4b8e-a1c3-5e6f7a8b9c0d","resourceVersion":"4711","generation":1,
       "creationTimestamp":"2026-11-28T12:40:00Z","labels":{"app":"oom-demo","pod-template-hash":"7d9c5b6f4"},
       "annotations":{"kubectl.kubernetes.io/restartedAt":"2026-11-28T12:39:58Z"},
       "ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"oom-demo-7d9c5b6f4",
         "uid":"0f0e0d0c-0b0a-0908-0706-050403020100","controller":true,"blockOwnerDeletion":true}]},
       "spec":{"nodeName":"node-a","runtimeClassName":"gvisor","restartPolicy":"Always","priority":0,
        "containers":[{"name":"app","image":"busybox:1.36","command":["sh","-c","tail /dev/zero"],
           "resources":{"limits":{"memory":"64Mi","cpu":"500m"},"requests":{"memory":"16Mi","cpu":"100m"}}},
         {"name":"sidecar","image":"busybox:1.36","resources":{"limits":{"memory":"16Mi"}}}],
        "overhead":{"memory":"40Mi","cpu":"250m"}},
       "status":{"phase":"Running","qosClass":"Burstable","hostIP":"10.0.0.4","podIP":"10.244.1.7",
        "startTime":"2026-11-28T12:40:01Z",
        "conditions":[{"type":"Ready","status":"True","lastTransitionTime":"2026-11-28T12:45:20Z"},
         {"type":"ContainersReady","status":"True","lastTransitionTime":"2026-11-28T12:45:20Z"}],
        "containerStatuses":[
         {"name":"app","ready":true,"restartCount":1,"started":true,"image":"docker.io/library/busybox:1.36",
          "imageID":"docker.io/library/busybox@sha256:1","containerID":"containerd://4a5b6c7d8e9f0a1b",
          "state":{"running":{"startedAt":"2026-11-28T12:45:19Z"}},
          "lastState":{"terminated":{"exitCode":128,"reason":"Error","startedAt":"2026-11-28T12:40:02Z",
            "finishedAt":"2026-11-28T12:45:12Z","containerID":"containerd://0a1b2c3d4e5f6a7b"}}},
         {"name":"sidecar","ready":true,"restartCount":1,"image":"docker.io/library/busybox:1.36","imageID":"",
          "containerID":"containerd://5b6c7d8e9f0a1b2c",
          "state":{"running":{"startedAt":"2026-11-28T12:45:19Z"}},
          "lastState":{"terminated":{"exitCode":128,"reason":"Error","signal":9,
            "startedAt":"2026-11-28T12:40:02Z","finishedAt":"2026-11-28T12:45:12.5Z","containerID":"containerd://1234"}}}]}}
      """;

  /** An evicted gVisor pod being deleted, with init containers. */
  static final String EVICTED_POD = """
      {"apiVersion":"v1","kind":"Pod","metadata":{"name":"batch-0","namespace":"default",
       "uid":"8c1f4a2e-3b5d-4e6f-8a9b-0c1d2e3f4a5b","resourceVersion":"99","deletionTimestamp":"2026-11-28T13:00:00Z",
       "deletionGracePeriodSeconds":30,"finalizers":["batch.example.com/cleanup"]},
       "spec":{"nodeName":"node-a","runtimeClassName":"gvisor","restartPolicy":"Never",
        "initContainers":[{"name":"init","image":"busybox","resources":{"limits":{"memory":"1Gi"}}}],
        "containers":[{"name":"job","image":"busybox","resources":{"limits":{"memory":"256Mi"}}}]},
       "status":{"phase":"Failed","reason":"Evicted","message":"The node was low on resource: memory.",
        "conditions":[{"type":"DisruptionTarget","status":"True","reason":"TerminationByKubelet"}],
        "initContainerStatuses":[{"name":"init","ready":true,"restartCount":0,"image":"busybox","imageID":"",
          "state":{"terminated":{"exitCode":0,"reason":"Completed","finishedAt":"2026-11-28T12:50:00Z"}}}],
        "containerStatuses":[{"name":"job","ready":false,"restartCount":0,"image":"busybox","imageID":"",
          "state":{"terminated":{"exitCode":137,"reason":"OOMKilled","startedAt":"2026-11-28T12:50:01Z",
            "finishedAt":"2026-11-28T12:59:59Z","containerID":"containerd://feedface"}},"lastState":{}}]}}
      """;

  /** Unicode, odd but valid quantities, a long name, big annotations, a container without limits. */
  static final String ODD_POD = """
      {"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s","namespace":"ünïcode-ns",
       "uid":"ffffffff-ffff-ffff-ffff-ffffffffffff","labels":{"emoji":"\\ud83d\\udca5"},
       "annotations":{"big":"%s","json":"{\\"nested\\":[1,2,{\\"deep\\":true}]}"}},
       "spec":{"nodeName":"node-a","runtimeClassName":"gvisor","containers":[
        {"name":"a","image":"x","resources":{"limits":{"memory":"8Ei"}}},
        {"name":"b","image":"x","resources":{"limits":{"memory":"0.5Gi"}}},
        {"name":"c","image":"x","resources":{}}],
        "overhead":{"memory":"1e3"}},
       "status":{"containerStatuses":[{"name":"a","restartCount":2147483647,
         "state":{"terminated":{"exitCode":-1,"reason":"","finishedAt":"+1000000000-12-31T23:59:59Z"}},
         "lastState":{"terminated":{"exitCode":128,"reason":"Error","finishedAt":"2026-13-45T99:99:99Z"}}}]}}
      """.formatted("p".repeat(240) + "-1234567890", "a".repeat(4096));

  /** A gVisor pod of another node. */
  static final String OTHER_NODE_POD = RESTARTED_GVISOR_POD.replace("\"nodeName\":\"node-a\"",
      "\"nodeName\":\"node-b\"").replace("2d9a6c1e", "3e0b7d2f");

  static final List<String> SEEDS = List.of(RESTARTED_GVISOR_POD, EVICTED_POD, ODD_POD, OTHER_NODE_POD);
  private static final List<JsonNode> TREES = SEEDS.stream().map(s -> JsonMutator.read(s.getBytes(UTF_8))).toList();
  private static final List<byte[]> BYTES = TREES.stream().map(JsonMutator::write).toList();
  private static final Pod SEED_POD = InformerJson.fromWatch(RESTARTED_GVISOR_POD, Pod.class);
  private static final List<String[]> PATHS = List.of(new String[] {"metadata"}, new String[] {"spec"},
      new String[] {"spec", "containers"}, new String[] {"status"}, new String[] {"status", "containerStatuses"},
      new String[] {"metadata", "annotations"}, new String[] {"status", "conditions"});
  static final List<String> DICTIONARY = List.of("\"terminated\":", "\"lastState\":", "\"exitCode\":",
      "\"finishedAt\":", "\"restartCount\":", "\"containerStatuses\":", "\"runtimeClassName\":", "\"nodeName\":",
      "\"memory\":", "\"limits\":", "\"uid\":", "\"deletionTimestamp\":", "\"Evicted\"", "null", "{}", "[]", "[null]");

  /** One input: the pod's JSON and whether it arrives in a list response rather than a watch message. */
  record PodCase(String json, boolean inList) {
    @Override
    public String toString() {
      return (inList ? "in a list: " : "in a watch message: ") + Escape.text(json, Fuzz.SHOWN_CHARS);
    }
  }

  @Test
  void hostilePodsNeverBreakTheAgentsReadingOfThem() {
    long[] pods = new long[3];
    try {
      Fuzz.run(FAMILY, ApiPodFuzzPropertiesTest::generate, PodCase::toString, c -> 1, c -> check(c, pods));
    } finally {
      System.out.printf("%s: %,d inputs deserialized to a Pod, %,d of them a gVisor pod of this node, %,d more such pods"
          + " as no API server sends%n", FAMILY, pods[0], pods[1], pods[2]);
    }
  }

  static PodCase generate(SplittableRandom random) {
    Mutator mutator = new Mutator(random, DICTIONARY, 65_536);
    JsonMutator json = new JsonMutator(random, mutator);
    int seed = random.nextInt(TREES.size());
    int roll = random.nextInt(20);
    String text;
    if (random.nextInt(50) == 0) {
      text = new String(JsonMutator.write(hugeAnnotations(random, TREES.get(seed))), UTF_8);
    } else if (roll < 12) {
      text = new String(JsonMutator.write(json.mutateBelow(TREES.get(seed), PATHS.get(random.nextInt(PATHS.size())))),
          UTF_8);
    } else if (roll < 16) {
      text = new String(JsonMutator.write(json.mutate(TREES.get(seed))), UTF_8);
    } else if (roll < 19) {
      text = new String(mutator.mutate(BYTES.get(seed), BYTES), UTF_8);
    } else {
      text = new String(mutator.randomInput(), UTF_8);
    }
    return new PodCase(text, random.nextInt(5) == 0);
  }

  /** Annotations as big as the API server allows in all (256 KiB), or many small ones. */
  private static JsonNode hugeAnnotations(SplittableRandom random, JsonNode seed) {
    ObjectNode pod = seed.deepCopy();
    ObjectNode annotations = ((ObjectNode) pod.get("metadata")).putObject("annotations");
    if (random.nextBoolean()) {
      annotations.put("example.com/blob", "z".repeat(256 * 1024 - 20));
    } else {
      for (int i = 0; i < 2_000; i++) {
        annotations.put("example.com/a" + i, "v".repeat(random.nextInt(100)));
      }
    }
    return pod;
  }

  static void check(PodCase c, long[] counts) throws Throwable {
    Pod pod = c.inList() ? InformerJson.fromList(c.json(), "PodList", POD_LIST)
        : InformerJson.fromWatch(c.json(), Pod.class);
    if (pod == null) {
      return; // refused by fabric8: the watch closes and the informer lists again
    }
    counts[0]++;
    // PodStatusSource.podUpdated looks the pod up by the uid of the informer's object
    if (pod.getMetadata() == null) {
      return; // no uid to be looked up by
    }
    // the informer's cache keeps the pod trimmed, and PodWatch.byUid reads the cache
    Pod cached = (Pod) TRIM.invoke(pod);
    boolean onThisNode = (boolean) IS_ON_THIS_NODE.invoke(POD_WATCH, cached);
    boolean ofThisNode = pod.getSpec() != null && NODE.equals(pod.getSpec().getNodeName());
    assertTrue(!onThisNode || ofThisNode, "another node's pod taken for one of this node");
    var meta = pod.getMetadata();
    assertTrue(onThisNode || !ofThisNode || meta.getName() == null || meta.getNamespace() == null
        || meta.getUid() == null, "a pod of this node not taken for one");
    assertTrue(!onThisNode || meta.getName() != null && meta.getNamespace() != null && meta.getUid() != null,
        "a pod with no name, namespace or uid taken for one of this node");
    if (!onThisNode || cached.getSpec().getRuntimeClassName() == null) {
      return; // PodWatch.byUid: not ours
    }
    // what no API server sends (it sets metadata, requires containers, validates quantities): the model
    // is not built from it here (see the class comment)
    String beyond = beyondTheApiServer(pod);
    if (beyond != null) {
      counts[2]++;
      WatchedPod odd = (WatchedPod) TO_WATCHED.invoke(cached, cached.getSpec().getRuntimeClassName());
      assertTrue(odd.memoryLimitBytes().orElse(0) >= 0, "a negative memory limit from a pod with " + beyond);
      assertEquals(List.of(), BETWEEN.invoke(cached, pod, REF), "a resync of an unchanged pod has new exits");
      return;
    }
    counts[1]++;
    String runtimeClass = cached.getSpec().getRuntimeClassName();
    WatchedPod watched = (WatchedPod) TO_WATCHED.invoke(cached, runtimeClass);
    checkModel(pod, runtimeClass, watched);
    assertEquals(TO_WATCHED.invoke(pod, runtimeClass), watched, "trimming the cached pod changed what the agent sees");
    checkDerivedNames(watched.ref());
    checkExits(pod, watched.ref());
    // an update whose pod did not change (a resync): the previous pod is the trimmed one
    assertEquals(List.of(), BETWEEN.invoke(cached, pod, watched.ref()), "a resync of an unchanged pod has new exits");
  }

  /** What about {@code pod} no API server would send, or null when it could have come from one. */
  static String beyondTheApiServer(Pod pod) {
    var meta = pod.getMetadata();
    if (meta.getName() == null || meta.getNamespace() == null || meta.getUid() == null) {
      return "no name, namespace or uid";
    }
    List<Container> containers = pod.getSpec().getContainers();
    if (containers == null || containers.isEmpty() || containers.stream().anyMatch(Objects::isNull)
        || nullSafe(pod.getSpec().getInitContainers()).stream().anyMatch(Objects::isNull)) {
      return "no containers, or a null container";
    }
    List<Map<String, Quantity>> quantities = new ArrayList<>();
    quantities.add(pod.getSpec().getOverhead());
    for (Container container : containers) {
      quantities.add(container.getResources() == null ? null : container.getResources().getLimits());
    }
    for (Container container : nullSafe(pod.getSpec().getInitContainers())) {
      quantities.add(container.getResources() == null ? null : container.getResources().getLimits());
    }
    for (Map<String, Quantity> resources : quantities) {
      Quantity memory = resources == null ? null : resources.get("memory");
      if (memory != null) {
        try {
          memory.getNumericalAmount();
        } catch (RuntimeException e) {
          return "a memory quantity the API server would not have accepted";
        }
      }
    }
    return null;
  }

  private static void checkModel(Pod pod, String runtimeClass, WatchedPod watched) {
    var meta = pod.getMetadata();
    assertEquals(new PodRef(meta.getNamespace(), meta.getName(), meta.getUid()), watched.ref(), "the pod's identity");
    assertEquals(meta.getUid(), watched.ref().uid(), "the pod's uid");
    assertEquals(runtimeClass, watched.runtimeClassName(), "the runtime class");
    assertEquals(meta.getDeletionTimestamp() != null, watched.deletionRequested(), "deletionRequested");
    OptionalLong limit = watched.memoryLimitBytes();
    assertNotNull(limit, "no memory limit at all (not even an empty one)");
    if (limit.isEmpty()) {
      return;
    }
    assertTrue(limit.getAsLong() >= 0, "negative pod memory limit " + limit);
    for (Container container : nullSafe(pod.getSpec().getContainers())) {
      Quantity memory = container == null || container.getResources() == null
          || container.getResources().getLimits() == null ? null : container.getResources().getLimits().get("memory");
      BigDecimal bytes = memory == null ? null : memory.getNumericalAmount();
      if (bytes != null && bytes.signum() >= 0) {
        assertTrue(BigDecimal.valueOf(limit.getAsLong()).compareTo(bytes.min(BigDecimal.valueOf(Long.MAX_VALUE)))
            >= 0, "pod memory limit " + limit + " below the limit of container " + container.getName());
      }
    }
  }

  /**
   * The incident's and the Event's names are made from the pod's: for a pod name the API server
   * accepts they must be acceptable too, or every report on that pod is refused (422) forever.
   */
  private static void checkDerivedNames(PodRef ref) {
    if (ref.name().length() > MAX_NAME || !DNS_SUBDOMAIN.matcher(ref.name()).matches()) {
      return; // a pod the API server would not have accepted
    }
    String incident = IncidentIds.forSandbox(ref, "4a5b6c7d8e9f0a1b");
    assertTrue(incident.length() <= MAX_NAME && DNS_SUBDOMAIN.matcher(incident).matches(),
        "incident name not acceptable to the API server: " + incident);
    String event = PodEventRecorder.eventName(ref, "OOMKilled");
    assertTrue(event.length() <= MAX_NAME && DNS_SUBDOMAIN.matcher(event).matches(),
        "Event name not acceptable to the API server (" + event.length() + " characters): " + event);
  }

  @SuppressWarnings("unchecked")
  private static void checkExits(Pod pod, PodRef ref) throws Throwable {
    List<ContainerExit> exits = (List<ContainerExit>) BETWEEN.invoke(SEED_POD, pod, ref);
    List<ContainerExit> fresh = (List<ContainerExit>) BETWEEN.invoke((Pod) null, pod, ref);
    assertEquals(List.of(), BETWEEN.invoke(pod, pod, ref), "a pod compared with itself has new exits");
    List<List<Object>> terminated = new ArrayList<>();
    List<ContainerStatus> statuses = pod.getStatus() == null ? List.of()
        : nullSafe(pod.getStatus().getContainerStatuses());
    for (ContainerStatus status : statuses) {
      if (status == null) {
        continue;
      }
      for (ContainerState state : new ContainerState[] {status.getState(), status.getLastState()}) {
        if (state != null && state.getTerminated() != null && state.getTerminated().getExitCode() != null) {
          terminated.add(List.of(Objects.toString(status.getName()), state.getTerminated().getExitCode()));
        }
      }
    }
    assertTrue(fresh.size() <= terminated.size(), fresh.size() + " exits from " + terminated.size()
        + " terminated states");
    for (List<ContainerExit> list : List.of(exits, fresh)) {
      for (ContainerExit exit : list) {
        assertEquals(ref, exit.pod(), "an exit of another pod");
        assertTrue(terminated.contains(List.of(Objects.toString(exit.container()), exit.exitCode())),
            "exit " + exit + " is not a terminated state of the pod's containers");
      }
    }
  }

  private static <T> List<T> nullSafe(List<T> list) {
    return list == null ? List.of() : list;
  }
}
