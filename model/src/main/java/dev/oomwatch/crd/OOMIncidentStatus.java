package dev.oomwatch.crd;

import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import io.fabric8.crd.generator.annotation.SchemaFrom;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Size;
import java.util.ArrayList;
import java.util.List;

/**
 * What the reconciler reported for the incident: the phase, the verdict, evidence and limit as they
 * were reported, and where (the Event's name, the pod condition). Written with one status patch per
 * reconcile. The annotations are the schema's bounds. Plain bean for Jackson and the CRD generator; not
 * thread-safe.
 */
public class OOMIncidentStatus {
  /** Phase value: the Event and the pod condition are written. */
  public static final String REPORTED = "Reported";
  /** Phase value: a {@code Possible} incident, kept as a record only: no Event or condition for a guess. */
  public static final String RECORDED = "Recorded";
  /** Phase value: the pod (this uid) no longer exists, so nothing could be written on it. */
  public static final String POD_GONE = "PodGone";
  /**
   * Phase value: the API refused for good to write the report on the pod (a 400, 403 or 422); the
   * message has its answer, and the incident is not retried until its spec changes.
   */
  public static final String FAILED = "Failed";
  /**
   * Phase value: the agent does not trust the incident (not written by this node's agent, not about a
   * pod on this node, or malformed), so nothing was written on any pod; the message says why.
   */
  public static final String REFUSED = "Refused";

  @SchemaFrom(type = SchemaEnums.PhaseValue.class) private String phase;
  @SchemaFrom(type = SchemaEnums.VerdictValue.class) private String verdict;
  @Size(max = IncidentLimits.QUANTITY) private String memoryLimit;
  @Size(max = IncidentLimits.EVIDENCE_ITEMS) private List<EvidenceItem> evidence = new ArrayList<>();
  @JsonSerialize(using = RfcTimestamp.class) @Size(max = IncidentLimits.TIMESTAMP) private String detectedAt;
  @JsonSerialize(using = RfcTimestamp.class) @Size(max = IncidentLimits.TIMESTAMP) private String reportedAt;
  @Size(max = IncidentLimits.NAME) private String eventName;
  @Size(max = IncidentLimits.CONDITION_TYPE) private String podCondition;
  @Size(max = IncidentLimits.MESSAGE) private String message;
  @Min(0) private Long observedGeneration;
  /** Beside {@code phase}, in the standard shape: the {@link IncidentCondition#REPORTED} condition. */
  @Size(max = 8) private List<IncidentCondition> conditions = new ArrayList<>();

  public String getPhase() { return phase; }
  public void setPhase(String phase) { this.phase = phase; }
  public String getVerdict() { return verdict; }
  public void setVerdict(String verdict) { this.verdict = verdict; }
  public String getMemoryLimit() { return memoryLimit; }
  public void setMemoryLimit(String memoryLimit) { this.memoryLimit = memoryLimit; }
  public List<EvidenceItem> getEvidence() { return evidence; }
  public void setEvidence(List<EvidenceItem> evidence) { this.evidence = evidence; }
  public String getDetectedAt() { return detectedAt; }
  public void setDetectedAt(String detectedAt) { this.detectedAt = detectedAt; }
  public String getReportedAt() { return reportedAt; }
  public void setReportedAt(String reportedAt) { this.reportedAt = reportedAt; }
  public String getEventName() { return eventName; }
  public void setEventName(String eventName) { this.eventName = eventName; }
  public String getPodCondition() { return podCondition; }
  public void setPodCondition(String podCondition) { this.podCondition = podCondition; }
  public String getMessage() { return message; }
  public void setMessage(String message) { this.message = message; }
  public Long getObservedGeneration() { return observedGeneration; }
  public void setObservedGeneration(Long observedGeneration) { this.observedGeneration = observedGeneration; }
  public List<IncidentCondition> getConditions() { return conditions; }
  public void setConditions(List<IncidentCondition> conditions) { this.conditions = conditions; }
}
