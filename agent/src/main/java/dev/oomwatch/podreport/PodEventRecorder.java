package dev.oomwatch.podreport;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.oomwatch.model.IncidentIds;
import dev.oomwatch.model.PodRef;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.net.HttpURLConnection;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes Warning Events on a pod, one Event object per (pod, reason) whose {@code count} and
 * {@code lastTimestamp} grow with each incident, as kubelet's own event series do. Each incident is
 * counted exactly once: the Event carries the names of the incidents it counted in an annotation, so
 * recording an incident that is already in it is a no-op (a reconcile retried after a crash does not
 * count it twice). Writes are optimistic (resourceVersion preconditions); a conflict is thrown for the
 * framework to retry.
 *
 * <p>Event names are deterministic, so someone else may hold one first: an Event of that name that is
 * not the agent's (its source component, reporting component, pod uid and reason say so) is never
 * patched. The series then goes under a second deterministic name; when that one is taken too, no Event
 * is written (one WARN line, {@code recordWarning} returns null). Thread-safe (stateless apart from the
 * client).
 */
public final class PodEventRecorder {
  /** Annotation on the Event listing the incidents it counts (the newest {@value #REMEMBERED}). */
  public static final String INCIDENTS_ANNOTATION = "oomwatch.dev/incidents";
  static final int REMEMBERED = 20;
  /** {@code source.component} of the agent's Events. */
  public static final String COMPONENT = "gvisor-oom-watcher";
  /** {@code reportingComponent} of the agent's Events. */
  public static final String REPORTING_COMPONENT = "oomwatch.dev/" + COMPONENT;
  private static final int MAX_NAME = 253;
  private static final Logger LOG = LoggerFactory.getLogger(PodEventRecorder.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final KubernetesClient client;
  private final String nodeName;
  private final Clock clock;

  public PodEventRecorder(KubernetesClient client, String nodeName, Clock clock) {
    this.client = client;
    this.nodeName = nodeName;
    this.clock = clock;
  }

  /** The node this recorder reports from (its Events' {@code source.host}): the agent's node. */
  public String nodeName() {
    return nodeName;
  }

  /** The deterministic name of the Event series for this pod and reason. */
  public static String eventName(PodRef pod, String reason) {
    return name(pod, IncidentIds.shortHash(pod.uid(), reason));
  }

  /** The series' second name, used when an Event that is not the agent's holds {@link #eventName}. */
  static String alternateEventName(PodRef pod, String reason) {
    return name(pod, IncidentIds.shortHash(pod.uid(), reason, "alternate"));
  }

  private static String name(PodRef pod, String hash) {
    if (pod.name().length() + 1 + hash.length() <= MAX_NAME) {
      return pod.name() + "." + hash;
    }
    // a name cut to fit may not end a segment with '-' or '.'
    return pod.name().substring(0, MAX_NAME - 1 - hash.length()).replaceAll("[-.]+$", "") + "." + hash;
  }

  /**
   * Records a Warning Event for {@code incidentName} (any key naming what is reported once) unless the
   * series counted it already; returns the Event's name, or null when both of the series' names are held
   * by Events that are not the agent's (nothing is written then).
   */
  public String recordWarning(PodRef pod, String reason, String message, String incidentName) {
    return recordWarning(pod, reason, message, incidentName, true);
  }

  /**
   * As {@link #recordWarning(PodRef, String, String, String)}; with {@code seriesMayExist} false (nothing
   * on the pod shows an earlier report) the Event is created without reading it first — one request
   * instead of two on the way to a pod's first Event — and an Event that exists after all (the create's
   * 409) is read and counted on as usual.
   */
  public String recordWarning(PodRef pod, String reason, String message, String incidentName,
      boolean seriesMayExist) {
    for (String name : List.of(eventName(pod, reason), alternateEventName(pod, reason))) {
      if (!seriesMayExist && created(name, pod, reason, message, incidentName)) {
        return name;
      }
      Event existing = client.v1().events().inNamespace(pod.namespace()).withName(name).get();
      if (existing == null || isOurs(existing, pod, reason)) {
        record(existing, name, pod, reason, message, incidentName);
        return name;
      }
      LOG.debug("Event {}/{} is not this agent's (source {}, reporting component {}): not touched",
          pod.namespace(), name, existing.getSource() == null ? null : existing.getSource().getComponent(),
          existing.getReportingComponent());
    }
    LOG.warn("{} Event on pod {} not written: Events of both its names exist and are not this agent's",
        reason, pod);
    return null;
  }

  /** An Event the agent wrote for this pod (this uid) and reason, as opposed to one that only has its name. */
  static boolean isOurs(Event event, PodRef pod, String reason) {
    return event.getSource() != null && COMPONENT.equals(event.getSource().getComponent())
        && REPORTING_COMPONENT.equals(event.getReportingComponent())
        && reason.equals(event.getReason())
        && event.getInvolvedObject() != null && "Pod".equals(event.getInvolvedObject().getKind())
        && pod.uid().equals(event.getInvolvedObject().getUid());
  }

  private void record(Event existing, String name, PodRef pod, String reason, String message, String incidentName) {
    if (existing == null) {
      if (!created(name, pod, reason, message, incidentName)) {
        // another reconcile created it between our GET and POST: let the retry count on top of it
        throw new IllegalStateException("Event " + name + " appeared concurrently; retrying");
      }
      return;
    }
    String namespace = pod.namespace();
    String now = clock.instant().toString();
    List<String> counted = incidentsOf(existing);
    if (counted.contains(incidentName)) {
      return;
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
  }

  /** Creates the series' Event counting {@code incidentName}; false when an Event of that name exists (409). */
  private boolean created(String name, PodRef pod, String reason, String message, String incidentName) {
    String namespace = pod.namespace();
    String now = clock.instant().toString();
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
        .withReportingComponent(REPORTING_COMPONENT)
        .withReportingInstance(nodeName)
        .build();
    try {
      client.v1().events().inNamespace(namespace).resource(event).create();
      return true;
    } catch (KubernetesClientException e) {
      if (e.getCode() == HttpURLConnection.HTTP_CONFLICT) {
        return false;
      }
      throw e;
    }
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
