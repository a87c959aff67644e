package dev.oomwatch.publish;

import dev.oomwatch.crd.OOMIncident;
import dev.oomwatch.model.Evidence;
import dev.oomwatch.model.MemoryScope;
import dev.oomwatch.model.OomIncident;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.model.Verdict;
import dev.oomwatch.podreport.OomMessages;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;

/**
 * Does, once at start, the work of reporting a kill that needs no write: in process ({@link #run}), an
 * {@code OOMIncident} resource, its messages, an Event and a pod with conditions built and turned to JSON
 * and back with the client's own serialization (as its create, watch, get and patch calls do); against
 * the API ({@link #read}), three reads that find nothing. A node's first kill is otherwise reported by a
 * cold JVM, whatever its uptime: nothing else runs this code before it. Measured on real sandboxes
 * (cgroup notifications, chart JVM flags, the bench's latency phase): the first kill after a start took
 * 375 ms to its Event against 50 to 140 ms for the ones after it. The price, on a node that has had no
 * kill: about 3 MiB of RSS for classes that its first kill would load anyway. Every object is made up
 * here and thrown away; nothing is written or counted. Stateless; call from one thread.
 */
final class PublishPathWarmup {
  /** A few passes: loading and linking the classes is the cost (see {@code FusionWarmup.PASSES}). */
  static final int PASSES = 3;
  /** Requests {@link #read} makes. */
  static final int READS = 3;
  private static final String WARMUP_NAME = "oomwatch-warmup-0000000000";
  private static final String WARMUP_UID = "00000000-0000-0000-0000-000000000000";
  private static final Instant KILLED = Instant.parse("2026-01-01T00:00:00Z");

  private PublishPathWarmup() {
  }

  /** The passes made; each builds and round-trips one of everything. */
  static int run(KubernetesSerialization json, String nodeName) {
    PodRef pod = new PodRef("default", WARMUP_NAME, WARMUP_UID);
    for (int pass = 0; pass < PASSES; pass++) {
      OomIncident incident = new OomIncident("warmup-oom-" + pass, pod, nodeName, Optional.of("warmup-sandbox"),
          Verdict.CONFIRMED, Optional.empty(), MemoryScope.cgroup("/kubepods/burstable/pod" + pod.uid()),
          OptionalLong.of(64L << 20), KILLED, KILLED.plusMillis(3), OomIncident.WHOLE_POD, OptionalDouble.empty(),
          List.of(new Evidence("cgroup", "memory.oom_control oom_kill 0 -> 1", KILLED)));
      OOMIncident resource = IncidentResources.toResource(incident);
      OOMIncident back = json.unmarshal(json.asJson(resource), OOMIncident.class);
      String message = OomMessages.eventMessage(back.getMetadata().getName(), back.getSpec())
          + OomMessages.conditionMessage(back.getMetadata().getName(), back.getSpec());
      Event event = new EventBuilder()
          .withNewMetadata().withName("warmup-pod.0").withNamespace(pod.namespace()).endMetadata()
          .withNewInvolvedObject().withKind("Pod").withName(pod.name()).withUid(pod.uid()).endInvolvedObject()
          .withType("Warning").withReason("OOMKilled").withMessage(message).withCount(1)
          .withNewSource().withComponent("warmup").withHost(nodeName).endSource()
          .build();
      json.unmarshal(json.asJson(event), Event.class);
      Pod withCondition = new PodBuilder()
          .withNewMetadata().withName(pod.name()).withNamespace(pod.namespace()).withUid(pod.uid()).endMetadata()
          .withNewStatus().withConditions(new PodConditionBuilder().withType("Ready").withStatus("True").build())
          .endStatus()
          .build();
      json.unmarshal(json.asJson(withCondition), Pod.class);
    }
    return PASSES;
  }

  /**
   * The reads a report makes — the pod's incidents by label, the pod, its Event — each of something
   * that does not exist (namespace {@code default}, a pod uid of zeros): nothing is found, nothing is
   * written, and the client's HTTP path and its 404 handling are warm. Throws what the API throws.
   */
  static void read(KubernetesClient client, String nodeName) {
    client.resources(OOMIncident.class).inNamespace("default")
        .withLabel(OOMIncident.NODE_LABEL, OOMIncident.nodeLabelValue(nodeName))
        .withLabel(OOMIncident.POD_UID_LABEL, WARMUP_UID)
        .list();
    client.pods().inNamespace("default").withName(WARMUP_NAME).get();
    client.v1().events().inNamespace("default").withName(WARMUP_NAME).get();
  }
}
