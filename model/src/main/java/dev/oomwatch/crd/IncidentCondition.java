package dev.oomwatch.crd;

import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import io.fabric8.crd.generator.annotation.SchemaFrom;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;

/**
 * One condition of an {@code OOMIncident}'s status, in the shape and with the bounds of Kubernetes'
 * {@code metav1.Condition} (type, status, observedGeneration, lastTransitionTime, reason, message), so that
 * generic tools ({@code kubectl wait --for=condition=Reported}, status aggregators) read it. Its own class
 * rather than fabric8's {@code Condition} so that the schema says {@code format: date-time} and the enum
 * of {@code status}. Plain bean for Jackson and the CRD generator; not thread-safe.
 */
public class IncidentCondition {
  /** The condition the reconciler writes: whether the kill was reported on its pod (Event and condition). */
  public static final String REPORTED = "Reported";

  @Required @Size(min = 1, max = 316) @Pattern("^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
      + "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$") private String type;
  @Required @SchemaFrom(type = SchemaEnums.ConditionStatus.class) private String status;
  @Min(0) private Long observedGeneration;
  @Required @JsonSerialize(using = RfcTimestamp.class) @Size(max = IncidentLimits.TIMESTAMP) private String lastTransitionTime;
  @Required @Size(min = 1, max = 1024) @Pattern("^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$") private String reason;
  @Required @Size(max = 32768) private String message;

  public String getType() { return type; }
  public void setType(String type) { this.type = type; }
  public String getStatus() { return status; }
  public void setStatus(String status) { this.status = status; }
  public Long getObservedGeneration() { return observedGeneration; }
  public void setObservedGeneration(Long observedGeneration) { this.observedGeneration = observedGeneration; }
  public String getLastTransitionTime() { return lastTransitionTime; }
  public void setLastTransitionTime(String lastTransitionTime) { this.lastTransitionTime = lastTransitionTime; }
  public String getReason() { return reason; }
  public void setReason(String reason) { this.reason = reason; }
  public String getMessage() { return message; }
  public void setMessage(String message) { this.message = message; }
}
