package dev.oomwatch.operator;

import dev.oomwatch.crd.IncidentLimits;
import dev.oomwatch.crd.OOMIncident;
import dev.oomwatch.crd.OOMIncidentSpec;
import dev.oomwatch.crd.OOMIncidentStatus;
import dev.oomwatch.metrics.AgentMetrics;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.model.Verdict;
import dev.oomwatch.podreport.OomMessages;
import dev.oomwatch.podreport.PodConditionWriter;
import dev.oomwatch.podreport.PodEventRecorder;
import dev.oomwatch.publish.ApiRefusal;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import java.net.HttpURLConnection;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reports an {@code OOMIncident} on its pod: a Warning Event {@code OOMKilled} (an aggregated series
 * per pod) and the pod condition {@code oomwatch.dev/SandboxOOMKilled}, then one status patch saying
 * what was reported: the phase and, beside it, the standard {@code Reported} condition
 * ({@link ReportedCondition}). Every step is idempotent, so a retried or repeated reconcile writes nothing twice;
 * failures are thrown and JOSDK retries them. Reads only the API (no files, no kernel log). The agent
 * registers it with the label selector {@code oomwatch.dev/node=<node>} ({@link OOMIncident#nodeLabelValue}),
 * so it sees only its node's incidents, and deletes each once it is older than the TTL (it asks to be
 * called again then). Before anything is written on a pod, the incident must be trusted
 * ({@link IncidentTrust}: well formed, this node's, written by this node's agent, about a pod on this
 * node); one that is not gets phase {@code Refused} and nothing else.
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
  private final IncidentCache incidentCache;
  private final Object[] podLocks = new Object[64];

  public OomIncidentReconciler(KubernetesClient client, PodEventRecorder events, PodConditionWriter conditions,
      AgentMetrics metrics, Clock clock, Duration ttl) {
    this(client, events, conditions, metrics, clock, ttl, new IncidentCache());
  }

  /** As above; the controller's informer cache is handed to {@code incidentCache} at registration. */
  public OomIncidentReconciler(KubernetesClient client, PodEventRecorder events, PodConditionWriter conditions,
      AgentMetrics metrics, Clock clock, Duration ttl, IncidentCache incidentCache) {
    this.incidentCache = incidentCache;
    this.client = client;
    this.events = events;
    this.conditions = conditions;
    this.metrics = metrics;
    this.clock = clock;
    this.ttl = ttl;
    metrics.refusalReasons(Stream.of(IncidentTrust.Reason.values()).map(r -> r.label).toList());
    metrics.reportOutcomes(List.of(OOMIncidentStatus.REPORTED, OOMIncidentStatus.RECORDED,
        OOMIncidentStatus.POD_GONE, OOMIncidentStatus.FAILED));
    for (int i = 0; i < podLocks.length; i++) {
      podLocks[i] = new Object();
    }
  }

  @Override
  public List<EventSource<?, OOMIncident>> prepareEventSources(EventSourceContext<OOMIncident> context) {
    incidentCache.attach(context.getPrimaryCache());
    return List.of();
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
    OOMIncidentStatus current = incident.getStatus();
    if (current != null && current.getPhase() != null
        && Objects.equals(current.getObservedGeneration(), generation(incident))) {
      countKill(incident, current.getPhase()); // an agent restart reads its incidents back
      return UpdateControl.noUpdate();
    }
    // trust before anything is written on a pod (and before the spec is even used)
    Optional<IncidentTrust.Refusal> refusal = IncidentTrust.checkIncident(incident, events.nodeName());
    if (refusal.isPresent()) {
      return refuse(incident, refusal.get());
    }
    // Incidents of one pod share its Event and its condition: reporting them one at a time turns a
    // restart loop or a storm into a queue instead of a pile of optimistic-lock conflicts.
    synchronized (podLocks[Math.floorMod(incident.getSpec().getPodUid().hashCode(), podLocks.length)]) {
      return reportAlone(incident);
    }
  }

  private UpdateControl<OOMIncident> reportAlone(OOMIncident incident) {
    long generation = generation(incident);
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
    Optional<IncidentTrust.Refusal> podRefusal = podExists ? IncidentTrust.checkPod(pod, events.nodeName())
        : Optional.empty();
    if (podRefusal.isPresent()) {
      return refuse(incident, podRefusal.get());
    }
    if (Verdict.POSSIBLE.display().equals(spec.getVerdict())) {
      // only exit codes point to an OOM: keep the record, raise no alarm on the pod
      status.setPhase(OOMIncidentStatus.RECORDED);
      status.setMessage("Possible OOM (only exit codes near the limit point to it): recorded, not reported on the pod.");
    } else if (podExists && reportOnPod(pod, name, spec, status)) {
      status.setPhase(OOMIncidentStatus.REPORTED);
      status.setPodCondition(PodConditionWriter.CONDITION_TYPE);
      status.setMessage(status.getEventName() != null
          ? "Event " + REASON + " and pod condition " + PodConditionWriter.CONDITION_TYPE + " written."
          : "Pod condition " + PodConditionWriter.CONDITION_TYPE + " written; no Event: Events of its names exist"
              + " and are not the agent's.");
    } else {
      // Decided: the incident is kept (it is the record of the kill) but nothing is written on a pod
      // that is gone, or on a new pod that reuses its name.
      LOG.info("pod {}/{} (uid {}) is gone; OOMIncident {} is kept without an Event or pod condition",
          namespace, spec.getPodName(), spec.getPodUid(), name);
      status.setPhase(OOMIncidentStatus.POD_GONE);
      status.setMessage("The pod no longer exists; nothing was written on it.");
    }
    metrics.incidentReported(status.getPhase());
    countKill(incident, status.getPhase());
    status.setReportedAt(clock.instant().toString());
    ReportedCondition.apply(incident.getStatus(), status, generation(incident), clock.instant());
    incident.setStatus(status);
    return UpdateControl.patchStatus(incident);
  }

  /**
   * Counts the kill in the pod's {@code oomwatch_pod_oom_kills_total} when the agent itself decided the
   * incident is one (the status is the agent's alone: a subresource a tenant cannot write).
   */
  private void countKill(OOMIncident incident, String phase) {
    OOMIncidentSpec spec = incident.getSpec();
    if ((OOMIncidentStatus.REPORTED.equals(phase) || OOMIncidentStatus.RECORDED.equals(phase)) && spec != null
        && spec.getPodName() != null && spec.getPodUid() != null) {
      metrics.killOf(new PodRef(incident.getMetadata().getNamespace(), spec.getPodName(), spec.getPodUid()),
          incident.getMetadata().getName());
    }
  }

  private static long generation(OOMIncident incident) {
    return incident.getMetadata().getGeneration() == null ? 0 : incident.getMetadata().getGeneration();
  }

  /**
   * Decided for an incident the agent does not trust ({@link IncidentTrust}): nothing is written on any
   * pod; one WARN line, {@code oomwatch_incidents_refused_total{reason}}, and one status patch (phase
   * {@code Refused}, the reason, this generation observed) so that it shows in {@code kubectl get} and is
   * not looked at again until its spec changes — no endless retry.
   */
  private UpdateControl<OOMIncident> refuse(OOMIncident incident, IncidentTrust.Refusal refusal) {
    LOG.warn("OOMIncident {}/{} refused ({}): {}; nothing written on any pod", incident.getMetadata().getNamespace(),
        incident.getMetadata().getName(), refusal.reason().label, refusal.detail());
    metrics.incidentRefused(refusal.reason().label);
    OOMIncidentStatus status = new OOMIncidentStatus();
    status.setPhase(OOMIncidentStatus.REFUSED);
    status.setMessage(IncidentLimits.cut("Not reported on any pod (" + refusal.reason().label + "): "
        + refusal.detail() + ".", IncidentLimits.MESSAGE));
    status.setObservedGeneration(generation(incident));
    status.setReportedAt(clock.instant().toString());
    ReportedCondition.apply(incident.getStatus(), status, generation(incident), clock.instant());
    incident.setStatus(status);
    return UpdateControl.patchStatus(incident);
  }

  /**
   * Writes the Event, then the condition (the Event first: it is what {@code kubectl describe pod} and
   * alerts on Events show, and the pod read just before says the pod is this uid); false when the pod
   * disappeared meanwhile (HTTP 404). A pod without the agent's condition has had no kill reported, so
   * its Event series is created without being read first.
   */
  private boolean reportOnPod(Pod pod, String name, OOMIncidentSpec spec, OOMIncidentStatus status) {
    try {
      boolean reportedBefore = PodConditionWriter.has(pod, PodConditionWriter.CONDITION_TYPE);
      String eventName = events.recordWarning(new PodRef(pod.getMetadata().getNamespace(), pod.getMetadata().getName(),
          pod.getMetadata().getUid()), REASON, OomMessages.eventMessage(name, spec), name, reportedBefore);
      try {
        conditions.markOomKilled(pod, REASON, OomMessages.conditionMessage(name, spec), Instant.parse(spec.getKilledAt()));
      } catch (KubernetesClientException e) {
        throw conflictIfPodChanged(pod, e);
      }
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

  /**
   * The condition's JSON patch tests the pod's resourceVersion, and a failed test is answered 422 too:
   * when the pod changed since it was read (kubelet wrote its status), that 422 is a conflict the
   * framework retries, not a refusal.
   */
  private RuntimeException conflictIfPodChanged(Pod read, KubernetesClientException e) {
    if (e.getCode() != 422) {
      return e;
    }
    try {
      Pod now = client.pods().inNamespace(read.getMetadata().getNamespace()).withName(read.getMetadata().getName()).get();
      if (now != null && Objects.equals(now.getMetadata().getResourceVersion(), read.getMetadata().getResourceVersion())) {
        return e;
      }
    } catch (KubernetesClientException cannotTell) {
      // a retry finds out
    }
    return new IllegalStateException("pod " + read.getMetadata().getName() + " changed while its condition was"
        + " written; retrying", e);
  }

  /**
   * A report the API refuses for good (an admission webhook's or a terminating namespace's 403, a 422,
   * a 400: {@link ApiRefusal}) cannot succeed by retrying: the incident gets phase {@code Failed} with the
   * API's answer (one status patch), one WARN line and {@code oomwatch_incident_publish_rejected_total},
   * and is not retried (a new generation, e.g. merged evidence, is reported afresh). Anything else is
   * left to the framework's retry.
   */
  @Override
  public ErrorStatusUpdateControl<OOMIncident> updateErrorStatus(OOMIncident incident, Context<OOMIncident> context,
      Exception e) {
    if (!(e instanceof KubernetesClientException refused) || !ApiRefusal.of(refused).permanent()) {
      return ErrorStatusUpdateControl.defaultErrorProcessing();
    }
    ApiRefusal refusal = ApiRefusal.of(refused);
    OOMIncidentSpec spec = incident.getSpec();
    String name = incident.getMetadata().getName();
    LOG.warn("OOMIncident {} of pod {}/{} not reported on the pod: the API refused it ({}); phase {}, not retried",
        name, incident.getMetadata().getNamespace(), spec == null ? "?" : spec.getPodName(), refusal.describe(),
        OOMIncidentStatus.FAILED);
    metrics.publishRejected(refusal.code());
    metrics.incidentReported(OOMIncidentStatus.FAILED);
    OOMIncidentStatus status = new OOMIncidentStatus();
    if (spec != null) {
      status.setVerdict(spec.getVerdict());
      status.setMemoryLimit(spec.getMemoryLimit());
      status.setEvidence(spec.getEvidence());
      status.setDetectedAt(spec.getDetectedAt());
    }
    status.setObservedGeneration(generation(incident));
    status.setPhase(OOMIncidentStatus.FAILED);
    // the API's message can be long (a webhook's): the status keeps what the schema allows
    status.setMessage(IncidentLimits.cut("The API refused to write the report on the pod (" + refusal.describe()
        + "); not retried.", IncidentLimits.MESSAGE));
    status.setReportedAt(clock.instant().toString());
    ReportedCondition.apply(incident.getStatus(), status, generation(incident), clock.instant());
    incident.setStatus(status);
    return ErrorStatusUpdateControl.patchStatus(incident).withNoRetry();
  }
}
