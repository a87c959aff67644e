package dev.oomwatch.operator.crd;

import io.fabric8.generator.annotation.Required;
import java.util.ArrayList;
import java.util.List;

/**
 * What the agent found about one kill, written when the incident is created (and extended when a later
 * signal adds evidence). Plain bean for Jackson and the CRD generator; not thread-safe.
 */
public class OOMIncidentSpec {
  @Required private String podName;
  @Required private String podUid;
  @Required private String nodeName;
  /** {@code Confirmed}, {@code Likely} or {@code Possible}. */
  @Required private String verdict;
  /** The killed sandbox's id, when known. */
  private String sandboxId;
  /** The container that most likely caused the kill, or {@code pod} when that is unknown. */
  private String culprit;
  /** The culprit's share of the sandbox's memory (0 to 1), when per-container memory was known. */
  private Double culpritConfidence;
  /** The killed process, e.g. {@code exe (pid 7932, uid 65534)}. */
  private String victim;
  /** The cgroup whose limit was hit. */
  private String memcg;
  /** The limit that was hit, in Kubernetes quantity form (e.g. {@code 64Mi}). */
  private String memoryLimit;
  private Long memoryLimitBytes;
  /** RFC 3339 time of the kill, from the kernel's own timestamp when known. */
  @Required private String killedAt;
  /** RFC 3339 time the agent learned of the kill. */
  @Required private String detectedAt;
  private List<EvidenceItem> evidence = new ArrayList<>();

  public String getPodName() { return podName; }
  public void setPodName(String podName) { this.podName = podName; }
  public String getPodUid() { return podUid; }
  public void setPodUid(String podUid) { this.podUid = podUid; }
  public String getNodeName() { return nodeName; }
  public void setNodeName(String nodeName) { this.nodeName = nodeName; }
  public String getVerdict() { return verdict; }
  public void setVerdict(String verdict) { this.verdict = verdict; }
  public String getSandboxId() { return sandboxId; }
  public void setSandboxId(String sandboxId) { this.sandboxId = sandboxId; }
  public String getCulprit() { return culprit; }
  public void setCulprit(String culprit) { this.culprit = culprit; }
  public Double getCulpritConfidence() { return culpritConfidence; }
  public void setCulpritConfidence(Double culpritConfidence) { this.culpritConfidence = culpritConfidence; }
  public String getVictim() { return victim; }
  public void setVictim(String victim) { this.victim = victim; }
  public String getMemcg() { return memcg; }
  public void setMemcg(String memcg) { this.memcg = memcg; }
  public String getMemoryLimit() { return memoryLimit; }
  public void setMemoryLimit(String memoryLimit) { this.memoryLimit = memoryLimit; }
  public Long getMemoryLimitBytes() { return memoryLimitBytes; }
  public void setMemoryLimitBytes(Long memoryLimitBytes) { this.memoryLimitBytes = memoryLimitBytes; }
  public String getKilledAt() { return killedAt; }
  public void setKilledAt(String killedAt) { this.killedAt = killedAt; }
  public String getDetectedAt() { return detectedAt; }
  public void setDetectedAt(String detectedAt) { this.detectedAt = detectedAt; }
  public List<EvidenceItem> getEvidence() { return evidence; }
  public void setEvidence(List<EvidenceItem> evidence) { this.evidence = evidence; }
}
