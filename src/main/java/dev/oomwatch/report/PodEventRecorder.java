package dev.oomwatch.report;

import dev.oomwatch.model.IncidentIds;
import dev.oomwatch.model.PodRef;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.HttpURLConnection;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Writes Warning Events on a pod, one Event object per (pod, reason) whose {@code count} and
 * {@code lastTimestamp} grow with each incident, as kubelet's own event series do. Each incident is
 * counted exactly once: the Event carries the names of the incidents it counted in an annotation, so
 * recording an incident that is already in it is a no-op (a reconcile retried after a crash does not
 * count it twice). Writes are optimistic (resourceVersion preconditions); a conflict is thrown for the
 * framework to retry. Thread-safe (stateless apart from the client).
 */
public final class PodEventRecorder {
  /** Annotation on the Event listing the incidents it counts (the newest {@value #REMEMBERED}). */
  public static final String INCIDENTS_ANNOTATION = "oomwatch.dev/incidents";
  static final int REMEMBERED = 20;
  private static final String COMPONENT = "gvisor-oom-watcher";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final KubernetesClient client;
  private final String nodeName;
  private final Clock clock;

  public PodEventRecorder(KubernetesClient client, String nodeName, Clock clock) {
    this.client = client;
    this.nodeName = nodeName;
    this.clock = clock;
  }

  /** The deterministic name of the Event series for this pod and reason. */
  public static String eventName(PodRef pod, String reason) {
    return pod.name() + "." + IncidentIds.shortHash(pod.uid(), reason);
  }

  /**
   * Records a Warning Event for {@code incidentName} (any key naming what is reported once) unless the
   * series counted it already; returns the Event's name.
   */
  public String recordWarning(PodRef pod, String reason, String message, String incidentName) {
    String name = eventName(pod, reason);
    String namespace = pod.namespace();
    String now = clock.instant().toString();
    Event existing = client.v1().events().inNamespace(namespace).withName(name).get();
    if (existing == null) {
      Event event = new EventBuilder()
          .withNewMetadata()
            .withName(name)
            .withNamespace(namespace)
            .withAnnotations(Map.of(INCIDENTS_ANNOTATION, incidentName))
          .endMetadata()
          .withInvolvedObject(new ObjectReferenceBuilder()
              .withApiVersion("v1").withKind("Pod")
              .withNamespace(namespace).withName(pod.name())
              .withUid(pod.uid())
              .build())
          .withType("Warning")
          .withReason(reason)
          .withMessage(message)
          .withCount(1)
          .withFirstTimestamp(now)
          .withLastTimestamp(now)
          .withNewSource().withComponent(COMPONENT).withHost(nodeName).endSource()
          .withReportingComponent("oomwatch.dev/" + COMPONENT)
          .withReportingInstance(nodeName)
          .build();
      try {
        client.v1().events().inNamespace(namespace).resource(event).create();
        return name;
      } catch (KubernetesClientException e) {
        if (e.getCode() == HttpURLConnection.HTTP_CONFLICT) {
          // another reconcile created it between our GET and POST: let the retry count on top of it
          throw new IllegalStateException("Event " + name + " appeared concurrently; retrying", e);
        }
        throw e;
      }
    }
    List<String> counted = incidentsOf(existing);
    if (counted.contains(incidentName)) {
      return name;
    }
    counted.add(incidentName);
    List<String> remembered = counted.subList(Math.max(0, counted.size() - REMEMBERED), counted.size());
    int count = existing.getCount() == null ? 1 : existing.getCount() + 1;
    ObjectNode patch = JSON.createObjectNode();
    ObjectNode metadata = patch.putObject("metadata");
    metadata.put("resourceVersion", existing.getMetadata().getResourceVersion());
    metadata.putObject("annotations").put(INCIDENTS_ANNOTATION, String.join(",", remembered));
    patch.put("count", count).put("lastTimestamp", now).put("message", message);
    client.v1().events().inNamespace(namespace).withName(name)
        .patch(PatchContext.of(PatchType.JSON_MERGE), patch.toString());
    return name;
  }

  private static List<String> incidentsOf(Event event) {
    Map<String, String> annotations = event.getMetadata().getAnnotations();
    String value = annotations == null ? null : annotations.get(INCIDENTS_ANNOTATION);
    if (value == null || value.isBlank()) {
      return new ArrayList<>();
    }
    return new ArrayList<>(Arrays.asList(value.split(",")));
  }
}
