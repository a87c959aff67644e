package dev.oomwatch.fuzz;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import dev.oomwatch.crd.EvidenceItem;
import dev.oomwatch.crd.OOMIncident;
import dev.oomwatch.crd.OOMIncidentSpec;
import dev.oomwatch.crd.OOMIncidentStatus;
import dev.oomwatch.metrics.AgentMetrics;
import dev.oomwatch.model.Evidence;
import dev.oomwatch.model.MemoryScope;
import dev.oomwatch.model.OomIncident;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.model.Verdict;
import dev.oomwatch.operator.OomIncidentReconciler;
import dev.oomwatch.podreport.OomMessages;
import dev.oomwatch.podreport.PodConditionWriter;
import dev.oomwatch.podreport.PodEventRecorder;
import dev.oomwatch.publish.IncidentResources;
import dev.oomwatch.testing.EmbeddedCluster;
import io.fabric8.kubernetes.api.model.DefaultKubernetesResourceList;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import java.lang.invoke.MethodHandle;
import java.lang.reflect.Proxy;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Hostile {@code OOMIncident} objects, as the agent's JOSDK informer would receive them (read by
 * fabric8, see {@link InformerJson}), mutated from the incidents the agent itself writes (by
 * {@link IncidentResources#toResource}, owner annotation and node label included) for a handful of pods
 * that were <b>not</b> OOM-killed: gVisor pods of this node in two namespaces, a gVisor pod of another
 * node, a runc pod of this node; and incidents another node's agent wrote. Size and seeds: see
 * {@link Fuzz}.
 *
 * <p>An input is <b>forged</b> — it cannot be this agent's report of a real kill — when what the
 * reconciler can check says so: it names another node (spec or label), lacks or alters the owner
 * annotation the agent gives an incident of that pod uid, has a verdict other than {@code Confirmed} or
 * {@code Likely} ({@code Possible} is a record, never written on a pod), a time that is not RFC 3339, a
 * pod name that is not one, a text field of kilobytes or thousands of evidence items, or names a pod that
 * does not exist with that uid or runs on another node ({@link #forgedReason}). What the reconciler
 * cannot tell from a real report is an exact copy of one the agent writes for a pod of its node: such an
 * input is reported on that pod — and only on it. (Copies are the admission policy's to stop.)
 *
 * <p>{@code api.incidents}: every object fabric8 makes is checked by the reconciler's trust check
 * ({@code IncidentTrust.checkIncident}), which must refuse every forgery it can see before a pod is read,
 * and never throw; the messages it would write for the rest are built without throwing.
 *
 * <p>{@code api.reconcile}: each object is reconciled ({@link OomIncidentReconciler#reconcile}, called
 * directly) against the API stand-in ({@link EmbeddedCluster}, fabric8's mock server in CRUD mode), and
 * every request the reconciler sent is read back from the stand-in: for a forged incident, no request
 * writes on any pod or Event and the phase it reports is not {@code Reported}; for any incident, no write
 * touches another pod than the incident's own (same namespace, name and uid, on this node) or anything
 * but its Events and that pod's status; the reconciler throws nothing but what JOSDK retries (an API
 * error, {@link KubernetesClientException}, or the conflict it rethrows as {@link IllegalStateException}
 * over one); and it never hangs ({@link Fuzz}'s watchdog). A control incident, reconciled first, must be
 * seen written. The requests of one input are those the stand-in records before a marker request sent
 * after it; the stand-in keeps no request bodies, so whom a created Event is about is checked at the end
 * (every Event in the stand-in is about a pod of this node; other nodes' pods carry nothing). The stand-in
 * gives pods uids of its own: the seeds' uids are replaced by them in each input before it is read.
 */
@Tag("fuzz")
class ApiIncidentFuzzPropertiesTest {
  static final String JSON_FAMILY = "api.incidents";
  static final String RECONCILE_FAMILY = "api.reconcile";
  static final String NODE = "node-a";
  static final String OTHER_NODE = "node-b";
  /** Longer than any text field of a real incident (the CRD's bounds are a few hundred to 2,048). */
  static final int ABSURD_TEXT = 4_096;
  static final int ABSURD_EVIDENCE = 1_000;
  private static final Instant NOW = Instant.parse("2026-11-28T12:45:13Z");
  private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
  private static final Duration TTL = Duration.ofDays(7);
  private static final TypeReference<DefaultKubernetesResourceList<OOMIncident>> INCIDENT_LIST =
      new TypeReference<>() {};

  /** The reconciler's trust check, looked up when {@code api.incidents} first needs it. */
  private static final class Trust {
    static final MethodHandle CHECK_INCIDENT = Internals.method(
        Internals.type("dev.oomwatch.operator.IncidentTrust"), "checkIncident", OOMIncident.class, String.class);
  }

  // ---------------------------------------------------------------------------------------------
  // the cluster's pods (none OOM-killed) and the seeds

  /** A pod of the stand-in: where it is, what it runs on, and its uid once created. */
  record ClusterPod(String namespace, String name, String node, String runtimeClass, String uid) {
    PodRef ref() {
      return new PodRef(namespace, name, uid);
    }
  }

  /** The pods, with uids fixed here: the reconcile family creates them with these uids. */
  static final List<ClusterPod> PODS = List.of(
      new ClusterPod("default", "app", NODE, "gvisor", "11111111-2222-4333-8444-555555555555"),
      new ClusterPod("team-b", "db-0", NODE, "gvisor", "22222222-3333-4444-8555-666666666666"),
      new ClusterPod("default", "elsewhere", OTHER_NODE, "gvisor", "33333333-4444-4555-8666-777777777777"),
      new ClusterPod("default", "plain", NODE, null, "44444444-5555-4666-8777-888888888888"));
  static final List<String> NAMESPACES = List.of("default", "team-b", "kube-system");

  static final List<JsonNode> SEEDS = seeds();

  /** What the agent of {@code node} writes for a kill of each pod, in each verdict, as the API server stores it. */
  private static List<JsonNode> seeds() {
    List<JsonNode> seeds = new ArrayList<>();
    int pid = 7932;
    for (ClusterPod pod : PODS) {
      for (Verdict verdict : Verdict.values()) {
        for (String node : List.of(NODE, OTHER_NODE)) {
          OOMIncident resource = IncidentResources.toResource(incident(pod.ref(), node, verdict, pid++));
          serverMetadata(resource.getMetadata(), NOW.minusSeconds(1));
          seeds.add(JsonMutator.read(InformerJson.json(resource).getBytes(UTF_8)));
        }
      }
    }
    return seeds;
  }

  static OomIncident incident(PodRef pod, String node, Verdict verdict, int pid) {
    Instant killed = NOW.minusMillis(800);
    return new OomIncident(pod.name() + "-oom-" + Integer.toHexString(pid) + "a0b1c2",
        pod, node, Optional.of("4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b"), verdict,
        Optional.of("exe (pid " + pid + ", uid 65534, gVisor sandbox)"), MemoryScope.cgroup("/kubepods/burstable/pod" + pod.uid()),
        OptionalLong.of(64L << 20), killed, killed.plusMillis(5), "app", OptionalDouble.of(0.93),
        List.of(new Evidence("kmsg", "kernel OOM kill of exe (pid " + pid + ")", killed),
            new Evidence("cgroup", "memory.events oom_kill 0 -> 1", killed.plusMillis(3))));
  }

  /** What the API server sets on every object it stores. */
  static void serverMetadata(ObjectMeta meta, Instant created) {
    meta.setUid("9f8e7d6c-5b4a-4392-8170-" + String.format("%012x", Math.abs((long) Objects.hash(meta.getName()))));
    meta.setCreationTimestamp(created.toString());
    meta.setGeneration(1L);
    meta.setResourceVersion("4711");
  }

  static final List<String> DICTIONARY = List.of("\"spec\":", "\"podName\":", "\"podUid\":", "\"nodeName\":",
      "\"verdict\":", "\"Confirmed\"", "\"Likely\"", "\"Possible\"", "\"killedAt\":", "\"oomwatch.dev/node\":",
      "\"oomwatch.dev/owner\":", "\"evidence\":", "\"status\":", "\"phase\":", "\"Reported\"", "null", "{}", "[]");
  private static final List<String[]> PATHS = List.of(new String[] {"spec"}, new String[] {"spec"},
      new String[] {"spec", "evidence"}, new String[] {"metadata"}, new String[] {"metadata", "labels"},
      new String[] {"metadata", "annotations"}, new String[] {"status"});

  /** One input: the incident's JSON, whether it comes in a list, and the age the API server gives it. */
  record IncidentCase(String json, boolean inList, boolean expired, String namespace) {
    @Override
    public String toString() {
      return (inList ? "in a list" : "in a watch message") + (expired ? ", older than the TTL" : "")
          + (namespace == null ? "" : ", stored in namespace " + namespace) + ": " + Escape.text(json, Fuzz.SHOWN_CHARS);
    }
  }

  static IncidentCase generate(SplittableRandom random) {
    Mutator mutator = new Mutator(random, DICTIONARY, 4_096);
    JsonMutator json = new JsonMutator(random, mutator);
    JsonNode seed = SEEDS.get(random.nextInt(SEEDS.size()));
    int roll = random.nextInt(40);
    String text;
    if (roll < 2) {
      text = new String(JsonMutator.write(seed), UTF_8); // a verbatim copy of what an agent wrote
    } else if (roll < 30) {
      text = new String(JsonMutator.write(json.mutateBelow(seed, PATHS.get(random.nextInt(PATHS.size())))), UTF_8);
    } else if (roll < 36) {
      text = new String(JsonMutator.write(json.mutate(seed)), UTF_8);
    } else if (roll < 39) {
      byte[] bytes = JsonMutator.write(seed);
      text = new String(mutator.mutate(bytes, List.of(bytes)), UTF_8);
    } else {
      text = new String(mutator.randomInput(), UTF_8);
    }
    String namespace = random.nextInt(8) == 0 ? NAMESPACES.get(random.nextInt(NAMESPACES.size())) : null;
    return new IncidentCase(text, random.nextInt(5) == 0, random.nextInt(40) == 0, namespace);
  }

  /**
   * The object as the informer would hold it, or null when fabric8 refuses the JSON. The API server
   * stores an object only with a valid name in an existing namespace and sets its uid, creation time and
   * generation itself: those are put back as it would have them (the rest stays as mutated).
   */
  static OOMIncident deserialize(IncidentCase c, String json) {
    OOMIncident incident = c.inList() ? InformerJson.fromList(json, "OOMIncidentList", INCIDENT_LIST)
        : InformerJson.fromWatch(json, OOMIncident.class);
    if (incident == null) {
      return null;
    }
    ObjectMeta meta = incident.getMetadata() == null ? new ObjectMeta() : incident.getMetadata();
    incident.setMetadata(meta);
    if (meta.getName() == null || meta.getName().length() > ApiPodFuzzPropertiesTest.MAX_NAME
        || !ApiPodFuzzPropertiesTest.DNS_SUBDOMAIN.matcher(meta.getName()).matches()) {
      meta.setName("forged");
    }
    if (c.namespace() != null) {
      meta.setNamespace(c.namespace());
    } else if (meta.getNamespace() == null || !NAMESPACES.contains(meta.getNamespace())) {
      meta.setNamespace("default");
    }
    serverMetadata(meta, c.expired() ? NOW.minus(TTL).minusSeconds(1) : NOW.minusSeconds(1));
    return incident;
  }

  // ---------------------------------------------------------------------------------------------
  // the oracle

  /** Why the incident cannot be this agent's report of a real kill, as far as the incident shows; or null. */
  static String forgedBeforePod(OOMIncident incident, List<ClusterPod> pods) {
    OOMIncidentSpec spec = incident.getSpec();
    if (spec == null) {
      return "no spec";
    }
    if (!NODE.equals(spec.getNodeName())) {
      return "spec.nodeName is not this node";
    }
    ClusterPod pod = pods.stream().filter(p -> Objects.equals(p.uid(), spec.getPodUid())).findFirst()
        .orElse(pods.get(0));
    // the labels and annotations of the agent's own kind that the agent gives this incident
    ObjectMeta expected = IncidentResources.toResource(incident(new PodRef(pod.namespace(), pod.name(),
        spec.getPodUid() == null ? pod.uid() : spec.getPodUid()), NODE, Verdict.CONFIRMED, 1)).getMetadata();
    if (!agentOwn(expected.getLabels()).equals(agentOwn(incident.getMetadata().getLabels()))
        || !agentOwn(expected.getAnnotations()).equals(agentOwn(incident.getMetadata().getAnnotations()))) {
      return "the agent's labels or owner annotation are missing or altered";
    }
    if (!Verdict.CONFIRMED.display().equals(spec.getVerdict()) && !Verdict.LIKELY.display().equals(spec.getVerdict())
        && !Verdict.POSSIBLE.display().equals(spec.getVerdict())) {
      return "an unknown verdict";
    }
    if (!rfc3339(spec.getKilledAt()) || !rfc3339(spec.getDetectedAt())) {
      return "a time that is not RFC 3339";
    }
    if (spec.getPodName() == null || spec.getPodName().length() > ApiPodFuzzPropertiesTest.MAX_NAME
        || !ApiPodFuzzPropertiesTest.DNS_SUBDOMAIN.matcher(spec.getPodName()).matches()) {
      return "spec.podName is not a pod name";
    }
    List<String> texts = new ArrayList<>(List.of(nullToEmpty(spec.getPodUid()), nullToEmpty(spec.getVictim()),
        nullToEmpty(spec.getMemcg()), nullToEmpty(spec.getCulprit()), nullToEmpty(spec.getSandboxId()),
        nullToEmpty(spec.getMemoryLimit())));
    List<EvidenceItem> evidence = spec.getEvidence() == null ? List.of() : spec.getEvidence();
    if (evidence.size() > ABSURD_EVIDENCE) {
      return "thousands of evidence items";
    }
    for (EvidenceItem item : evidence) {
      if (item != null) {
        texts.addAll(List.of(nullToEmpty(item.getSource()), nullToEmpty(item.getDetail()),
            nullToEmpty(item.getObservedAt())));
      }
    }
    if (texts.stream().anyMatch(t -> t.length() > ABSURD_TEXT)) {
      return "a text field of kilobytes";
    }
    return null;
  }

  /** {@link #forgedBeforePod}, or what the incident's pod shows; null for a copy of a real report. */
  static String forgedReason(OOMIncident incident, List<ClusterPod> pods) {
    String reason = forgedBeforePod(incident, pods);
    if (reason != null) {
      return reason;
    }
    if (Verdict.POSSIBLE.display().equals(incident.getSpec().getVerdict())) {
      return "verdict Possible (a record, never written on a pod)";
    }
    Optional<ClusterPod> pod = podOf(incident, pods);
    if (pod.isEmpty()) {
      return "no pod of that namespace, name and uid";
    }
    if (!NODE.equals(pod.get().node())) {
      return "the pod runs on another node";
    }
    return null;
  }

  static Optional<ClusterPod> podOf(OOMIncident incident, List<ClusterPod> pods) {
    OOMIncidentSpec spec = incident.getSpec();
    return pods.stream().filter(p -> p.namespace().equals(incident.getMetadata().getNamespace())
        && p.name().equals(spec.getPodName()) && p.uid().equals(spec.getPodUid())).findFirst();
  }

  private static Map<String, String> agentOwn(Map<String, String> map) {
    Map<String, String> own = new HashMap<>();
    if (map != null) {
      map.forEach((k, v) -> {
        // the node label and the owner annotation are what vouch for an incident; the pod-uid label
        // (or any other key) only helps the publisher find a pod's incidents, which it then checks by
        // spec and owner annotation: altering or adding one forges nothing
        if (OOMIncident.NODE_LABEL.equals(k) || OOMIncident.OWNER_ANNOTATION.equals(k)) {
          own.put(k, v);
        }
      });
    }
    return own;
  }

  private static boolean rfc3339(String time) {
    try {
      Instant.parse(time);
      return true;
    } catch (RuntimeException e) {
      return false;
    }
  }

  private static String nullToEmpty(String text) {
    return text == null ? "" : text;
  }

  // ---------------------------------------------------------------------------------------------
  // api.incidents: the deserialiser and the trust check

  @Test
  void hostileIncidentsAreReadAndJudgedWithoutThrowingAndEveryVisibleForgeryIsRefused() {
    long[] counts = new long[3];
    try {
      Fuzz.run(JSON_FAMILY, ApiIncidentFuzzPropertiesTest::generate, IncidentCase::toString, c -> 1, c -> {
        OOMIncident incident = deserialize(c, c.json());
        if (incident == null) {
          return;
        }
        counts[0]++;
        Optional<?> refusal = (Optional<?>) Trust.CHECK_INCIDENT.invoke(incident, NODE);
        assertNotNull(refusal, "the trust check said nothing");
        String forged = forgedBeforePod(incident, PODS);
        if (forged != null) {
          counts[1]++;
          assertTrue(refusal.isPresent(), "a forged incident (" + forged + ") passed the trust check");
          return;
        }
        if (refusal.isEmpty()) {
          counts[2]++;
          // what the reconciler would write on the pod is made from the spec
          assertNotNull(OomMessages.eventMessage(incident.getMetadata().getName(), incident.getSpec()));
          assertNotNull(OomMessages.conditionMessage(incident.getMetadata().getName(), incident.getSpec()));
        }
      });
    } finally {
      System.out.printf("%s: %,d inputs deserialized to an OOMIncident, %,d of them visibly forged (all refused), "
          + "%,d trusted%n", JSON_FAMILY, counts[0], counts[1], counts[2]);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // api.reconcile: the reconciler against the API stand-in

  @Test
  void reconcilingHostileIncidentsWritesNothingOnPodsThatWereNotOomKilled() throws Exception {
    try (EmbeddedCluster cluster = new EmbeddedCluster()) {
      KubernetesClient client = cluster.client();
      cluster.createRuntimeClass("gvisor", "runsc");
      // the stand-in gives uids of its own: the inputs' uids (the seeds') are replaced by them
      Map<String, String> uids = new HashMap<>();
      List<ClusterPod> pods = new ArrayList<>();
      for (ClusterPod pod : PODS) {
        String uid = cluster.createRunningPod(pod.namespace(), pod.name(), pod.node(), pod.runtimeClass(), "app",
            "64Mi").uid();
        assertEquals(pod.uid().length(), uid.length(), "the stand-in's uids are UUIDs");
        uids.put(pod.uid(), uid);
        pods.add(new ClusterPod(pod.namespace(), pod.name(), pod.node(), pod.runtimeClass(), uid));
      }
      OomIncidentReconciler reconciler = new OomIncidentReconciler(client, new PodEventRecorder(client, NODE, CLOCK),
          new PodConditionWriter(client), new AgentMetrics(), CLOCK, TTL);
      KubernetesMockServer server = cluster.server();
      requestsUntilMarker(client, server);
      // the control: a real report is written on its pod, and the requests read back show it
      OOMIncident control = IncidentResources.toResource(incident(pods.get(0).ref(), NODE, Verdict.CONFIRMED, 1));
      serverMetadata(control.getMetadata(), NOW.minusSeconds(1));
      reconciler.reconcile(control, context());
      assertTrue(requestsUntilMarker(client, server).stream().anyMatch(r -> r.getMethod().equals("PATCH")
          && r.getPath().equals("/api/v1/namespaces/default/pods/app/status")), "the control was not seen written");
      long[] counts = new long[4];
      try {
        Fuzz.run(RECONCILE_FAMILY, ApiIncidentFuzzPropertiesTest::generate, IncidentCase::toString, c -> 1,
            c -> reconcileAndCheck(reconciler, client, server, c, withUids(c.json(), uids), pods, counts));
      } finally {
        System.out.printf("%s: %,d inputs reconciled, %,d forged (%,d writes on pods or Events for them), "
            + "%,d copies of a real report written on their own pod%n", RECONCILE_FAMILY, counts[0], counts[1],
            counts[2], counts[3]);
      }
      // every Event is about a pod of this node, and other nodes' pods carry nothing of the agent's
      List<String> ownUids = pods.stream().filter(p -> NODE.equals(p.node())).map(ClusterPod::uid).toList();
      for (String namespace : NAMESPACES) {
        client.v1().events().inNamespace(namespace).list().getItems().forEach(event -> assertTrue(
            event.getInvolvedObject() != null && ownUids.contains(event.getInvolvedObject().getUid()),
            "an Event about another pod: " + event.getInvolvedObject()));
      }
      for (ClusterPod pod : pods) {
        if (!NODE.equals(pod.node())) {
          Pod now = cluster.pod(pod.ref());
          assertTrue(now.getStatus().getConditions().stream()
              .noneMatch(cond -> cond.getType().startsWith("oomwatch.dev/")), "a condition on " + pod);
          assertEquals(List.of(), cluster.events(pod.ref()), "Events on " + pod);
        }
      }
    }
  }

  private static String withUids(String json, Map<String, String> uids) {
    String replaced = json;
    for (Map.Entry<String, String> uid : uids.entrySet()) {
      replaced = replaced.replace(uid.getKey(), uid.getValue());
    }
    return replaced;
  }

  private static void reconcileAndCheck(OomIncidentReconciler reconciler, KubernetesClient client,
      KubernetesMockServer server, IncidentCase c, String json, List<ClusterPod> pods, long[] counts)
      throws Throwable {
    OOMIncident incident = deserialize(c, json);
    if (incident == null) {
      return;
    }
    counts[0]++;
    String forged = forgedReason(incident, pods);
    OOMIncidentSpec spec = incident.getSpec();
    UpdateControl<OOMIncident> control = null;
    Throwable thrown = null;
    try {
      control = reconciler.reconcile(incident, context());
    } catch (Throwable e) {
      thrown = e; // judged below, once this input's requests are read
    }
    List<RecordedRequest> requests = requestsUntilMarker(client, server);
    List<String> writes = new ArrayList<>();
    for (RecordedRequest request : requests) {
      if (request.getMethod().equals("GET")) {
        continue;
      }
      String path = request.getPath();
      if (request.getMethod().equals("DELETE") && path.contains("/oomincidents/")) {
        continue; // retention deletes the incident (an object about the agent's node), not a pod
      }
      writes.add(request.getMethod() + " " + path);
      if (forged != null) {
        counts[2]++;
        continue;
      }
      // a copy of a real report: only its own pod's status and its own Events
      String ownPod = "/api/v1/namespaces/" + incident.getMetadata().getNamespace() + "/pods/" + spec.getPodName()
          + "/status";
      String ownEvents = "/api/v1/namespaces/" + incident.getMetadata().getNamespace() + "/events";
      // (the stand-in does not keep request bodies: whom a created Event is about is checked at the end)
      boolean ownEvent = request.getMethod().equals("POST") ? path.equals(ownEvents)
          : path.startsWith(ownEvents + "/" + spec.getPodName().substring(0, Math.min(spec.getPodName().length(), 200)));
      if (!path.startsWith(ownPod) && !ownEvent) {
        fail("a write on something else than the incident's own pod and its Events: " + request.getMethod() + " "
            + path);
      }
    }
    if (forged != null) {
      counts[1]++;
      assertEquals(List.of(), writes, "writes for a forged incident (" + forged + ")");
      if (control != null && control.getResource().isPresent() && control.getResource().get().getStatus() != null) {
        assertNotEquals(OOMIncidentStatus.REPORTED, control.getResource().get().getStatus().getPhase(),
            "a forged incident (" + forged + ") says it was reported");
      }
    } else if (!writes.isEmpty()) {
      counts[3]++;
    }
    // what JOSDK retries: an API error (or updateErrorStatus settles it), or a conflict rethrown over one
    boolean retried = thrown instanceof KubernetesClientException
        || thrown instanceof IllegalStateException && thrown.getCause() instanceof KubernetesClientException;
    if (thrown != null && !retried) {
      throw thrown;
    }
    if (thrown != null && forged != null) {
      fail("the reconciler threw for a forged incident (" + forged + "), for JOSDK to retry forever: " + thrown,
          thrown);
    }
  }

  private static long markers;

  /**
   * The requests the stand-in received since the last marker, in order: a marker (a GET of a ConfigMap
   * that does not exist) is sent, and requests are taken until it comes. Counting requests instead would
   * race with the stand-in, which may record a request after it answered it.
   */
  private static List<RecordedRequest> requestsUntilMarker(KubernetesClient client, KubernetesMockServer server)
      throws InterruptedException {
    String marker = "fuzz-marker-" + ++markers;
    client.configMaps().inNamespace("default").withName(marker).get();
    List<RecordedRequest> requests = new ArrayList<>();
    while (true) {
      RecordedRequest request = server.takeRequest(30, TimeUnit.SECONDS);
      if (request == null) {
        throw new IllegalStateException("the stand-in never recorded the marker " + marker);
      }
      if (request.getPath().endsWith("/configmaps/" + marker)) {
        return requests;
      }
      if (!request.getPath().contains("/configmaps/fuzz-marker-")) {
        requests.add(request);
      }
    }
  }

  /** The reconciler's {@link Context}: it reads nothing from it; every method answers null or empty. */
  @SuppressWarnings("unchecked")
  private static Context<OOMIncident> context() {
    return (Context<OOMIncident>) Proxy.newProxyInstance(Context.class.getClassLoader(), new Class<?>[] {Context.class},
        (proxy, method, args) -> switch (method.getName()) {
          case "equals" -> proxy == args[0];
          case "hashCode" -> System.identityHashCode(proxy);
          case "toString" -> "fuzz context";
          default -> method.getReturnType() == Optional.class ? Optional.empty()
              : method.getReturnType() == boolean.class ? false : null;
        });
  }
}
