package dev.oomwatch.operator;

import dev.oomwatch.metrics.AgentMetrics;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.model.Verdict;
import dev.oomwatch.operator.crd.OOMIncident;
import dev.oomwatch.operator.crd.OOMIncidentSpec;
import dev.oomwatch.operator.crd.OOMIncidentStatus;
import dev.oomwatch.report.OomMessages;
import dev.oomwatch.report.PodConditionWriter;
import dev.oomwatch.report.PodEventRecorder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import java.net.HttpURLConnection;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reports an {@code OOMIncident} on its pod: a Warning Event {@code OOMKilled} (an aggregated series
 * per pod) and the pod condition {@code oomwatch.dev/SandboxOOMKilled}, then one status patch saying
 * what was reported. Every step is idempotent, so a retried or repeated reconcile writes nothing twice;
 * failures are thrown and JOSDK retries them. Reads only the API (no files, no kernel log). The agent
 * registers it with the label selector {@code oomwatch.dev/node=<node>}, so it sees only its node's
 * incidents, and deletes each once it is older than the TTL (it asks to be called again then).
 * JOSDK calls it from its executor, never concurrently for the same incident.
 */
@ControllerConfiguration(name = "oomincident")
public final class OomIncidentReconciler implements Reconciler<OOMIncident> {
  /** Event reason and condition reason for a kill. */
  public static final String REASON = "OOMKilled";
  private static final Logger LOG = LoggerFactory.getLogger(OomIncidentReconciler.class);

  private final KubernetesClient client;
  private final PodEventRecorder events;
  private final PodConditionWriter conditions;
  private final AgentMetrics metrics;
  private final Clock clock;
  private final Duration ttl;
  private final Object[] podLocks = new Object[64];

  public OomIncidentReconciler(KubernetesClient client, PodEventRecorder events, PodConditionWriter conditions,
      AgentMetrics metrics, Clock clock, Duration ttl) {
    this.client = client;
    this.events = events;
    this.conditions = conditions;
    this.metrics = metrics;
    this.clock = clock;
    this.ttl = ttl;
    for (int i = 0; i < podLocks.length; i++) {
      podLocks[i] = new Object();
    }
  }

  @Override
  public UpdateControl<OOMIncident> reconcile(OOMIncident incident, Context<OOMIncident> context) {
    Duration age = age(incident);
    if (age.compareTo(ttl) >= 0) {
      // retention: the node's agent deletes its own incidents once they are older than the TTL
      LOG.debug("deleting OOMIncident {}: older than {}", incident.getMetadata().getName(), ttl);
      client.resource(incident).delete();
      metrics.incidentExpired();
      return UpdateControl.noUpdate();
    }
    return report(incident).rescheduleAfter(ttl.minus(age));
  }

  private Duration age(OOMIncident incident) {
    String created = incident.getMetadata().getCreationTimestamp();
    if (created == null) {
      return Duration.ZERO;
    }
    try {
      Duration age = Duration.between(Instant.parse(created), clock.instant());
      return age.isNegative() ? Duration.ZERO : age;
    } catch (RuntimeException e) {
      return Duration.ZERO;
    }
  }

  private UpdateControl<OOMIncident> report(OOMIncident incident) {
    // Incidents of one pod share its Event and its condition: reporting them one at a time turns a
    // restart loop or a storm into a queue instead of a pile of optimistic-lock conflicts.
    synchronized (podLocks[Math.floorMod(incident.getSpec().getPodUid().hashCode(), podLocks.length)]) {
      return reportAlone(incident);
    }
  }

  private UpdateControl<OOMIncident> reportAlone(OOMIncident incident) {
    OOMIncidentStatus current = incident.getStatus();
    long generation = incident.getMetadata().getGeneration() == null ? 0 : incident.getMetadata().getGeneration();
    if (current != null && current.getPhase() != null && Objects.equals(current.getObservedGeneration(), generation)) {
      return UpdateControl.noUpdate();
    }
    OOMIncidentSpec spec = incident.getSpec();
    String name = incident.getMetadata().getName();
    String namespace = incident.getMetadata().getNamespace();
    Pod pod = client.pods().inNamespace(namespace).withName(spec.getPodName()).get();

    OOMIncidentStatus status = new OOMIncidentStatus();
    status.setVerdict(spec.getVerdict());
    status.setMemoryLimit(spec.getMemoryLimit());
    status.setEvidence(spec.getEvidence());
    status.setDetectedAt(spec.getDetectedAt());
    status.setObservedGeneration(generation);
    boolean podExists = pod != null && spec.getPodUid().equals(pod.getMetadata().getUid());
    if (Verdict.POSSIBLE.display().equals(spec.getVerdict())) {
      // only exit codes point to an OOM: keep the record, raise no alarm on the pod
      status.setPhase(OOMIncidentStatus.RECORDED);
      status.setMessage("Possible OOM (only exit codes near the limit point to it): recorded, not reported on the pod.");
    } else if (podExists && reportOnPod(pod, name, spec, status)) {
      status.setPhase(OOMIncidentStatus.REPORTED);
      status.setPodCondition(PodConditionWriter.CONDITION_TYPE);
      status.setMessage("Event " + REASON + " and pod condition " + PodConditionWriter.CONDITION_TYPE + " written.");
    } else {
      // Decided: the incident is kept (it is the record of the kill) but nothing is written on a pod
      // that is gone, or on a new pod that reuses its name.
      LOG.info("pod {}/{} (uid {}) is gone; OOMIncident {} is kept without an Event or pod condition",
          namespace, spec.getPodName(), spec.getPodUid(), name);
      status.setPhase(OOMIncidentStatus.POD_GONE);
      status.setMessage("The pod no longer exists; nothing was written on it.");
    }
    metrics.incidentReported(status.getPhase());
    status.setReportedAt(clock.instant().toString());
    incident.setStatus(status);
    return UpdateControl.patchStatus(incident);
  }

  /** Writes the condition, then the Event; false when the pod disappeared meanwhile (HTTP 404). */
  private boolean reportOnPod(Pod pod, String name, OOMIncidentSpec spec, OOMIncidentStatus status) {
    try {
      conditions.markOomKilled(pod, REASON, OomMessages.conditionMessage(name, spec), Instant.parse(spec.getKilledAt()));
      String eventName = events.recordWarning(new PodRef(pod.getMetadata().getNamespace(), pod.getMetadata().getName(),
          pod.getMetadata().getUid()), REASON, OomMessages.eventMessage(name, spec), name);
      status.setEventName(eventName);
      LOG.debug("reported OOMIncident {} on pod {} (Event {})", name, spec.getPodName(), eventName);
      return true;
    } catch (KubernetesClientException e) {
      if (e.getCode() == HttpURLConnection.HTTP_NOT_FOUND) {
        return false;
      }
      throw e;
    }
  }
}
