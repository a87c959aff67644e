package dev.oomwatch.crd;

import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;

/**
 * One signal that saw the kill, as stored in the CR: which source, what it said, when. Plain bean for
 * Jackson and the CRD generator (the annotations are the schema's bounds); not thread-safe.
 */
public class EvidenceItem {
  @Required @Size(min = 1, max = IncidentLimits.EVIDENCE_SOURCE) @Pattern("^[a-z][a-z0-9-]*$") private String source;
  @Size(max = IncidentLimits.EVIDENCE_DETAIL) private String detail;
  @JsonSerialize(using = RfcTimestamp.class) @Size(max = IncidentLimits.TIMESTAMP) private String observedAt;

  public EvidenceItem() {}

  public EvidenceItem(String source, String detail, String observedAt) {
    this.source = source;
    this.detail = detail;
    this.observedAt = observedAt;
  }

  public String getSource() { return source; }
  public void setSource(String source) { this.source = source; }
  public String getDetail() { return detail; }
  public void setDetail(String detail) { this.detail = detail; }
  public String getObservedAt() { return observedAt; }
  public void setObservedAt(String observedAt) { this.observedAt = observedAt; }
}
