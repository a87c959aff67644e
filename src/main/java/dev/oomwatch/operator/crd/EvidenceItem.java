package dev.oomwatch.operator.crd;

/**
 * One signal that saw the kill, as stored in the CR: which source, what it said, when. Plain bean for
 * Jackson and the CRD generator; not thread-safe.
 */
public class EvidenceItem {
  private String source;
  private String detail;
  private String observedAt;

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
