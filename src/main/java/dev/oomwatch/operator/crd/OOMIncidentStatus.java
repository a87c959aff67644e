package dev.oomwatch.operator.crd;

import java.util.ArrayList;
import java.util.List;

/**
 * What the reconciler reported for the incident: the phase, the verdict, evidence and limit as they
 * were reported, and where (the Event's name, the pod condition). Written with one status patch per
 * reconcile. Plain bean for Jackson and the CRD generator; not thread-safe.
 */
public class OOMIncidentStatus {
  /** Phase value: the Event and the pod condition are written. */
  public static final String REPORTED = "Reported";
  /** Phase value: a {@code Possible} incident, kept as a record only: no Event or condition for a guess. */
  public static final String RECORDED = "Recorded";
  /** Phase value: the pod (this uid) no longer exists, so nothing could be written on it. */
  public static final String POD_GONE = "PodGone";

  private String phase;
  private String verdict;
  private String memoryLimit;
  private List<EvidenceItem> evidence = new ArrayList<>();
  private String detectedAt;
  private String reportedAt;
  private String eventName;
  private String podCondition;
  private String message;
  private Long observedGeneration;

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
}
