package dev.oomwatch.publish;

import dev.oomwatch.crd.EvidenceItem;
import dev.oomwatch.crd.IncidentLimits;
import dev.oomwatch.crd.OOMIncident;
import dev.oomwatch.crd.OOMIncidentSpec;
import dev.oomwatch.model.OomIncident;
import dev.oomwatch.model.Verdict;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Folds what a later signal found about a kill into the incident already in the API: evidence is the
 * union (by source and detail, oldest first), the verdict the strongest, the kill time the earliest,
 * and a known sandbox, victim or culprit fills in an unknown one. Never weakens what is there, and
 * never touches an object that is not the agent's own incident of the same kill: one about another
 * pod or node, or (given the whole objects) one without this agent's owner annotation is left as it is
 * (one WARN line). The evidence stays within the schema's bound. Stateless and thread-safe.
 */
final class IncidentMerge {
  private static final Logger LOG = LoggerFactory.getLogger(IncidentMerge.class);

  private IncidentMerge() {}

  /**
   * The merged spec, or {@code existing.getSpec()} itself (the same object) when the update adds nothing
   * or {@code existing} is not this agent's own: it must carry the owner annotation
   * {@code update} carries ({@link OOMIncident#ownerValue}) and be about the same pod and node.
   */
  static OOMIncidentSpec merge(OOMIncident existing, OOMIncident update) {
    if (!ownerOf(existing).equals(ownerOf(update)) || ownerOf(update).isEmpty()) {
      LOG.warn("OOMIncident {}/{} exists but is not this agent's (owner annotation {}): left as it is",
          existing.getMetadata().getNamespace(), existing.getMetadata().getName(), ownerOf(existing));
      return existing.getSpec();
    }
    return merge(existing.getSpec(), update.getSpec());
  }

  /**
   * The merged spec, or {@code existing} itself (the same object) when the update adds nothing or
   * {@code existing} is about another pod or node than {@code update} (not the same kill).
   */
  static OOMIncidentSpec merge(OOMIncidentSpec existing, OOMIncidentSpec update) {
    if (existing == null || !sameIdentity(existing, update)) {
      LOG.warn("an OOMIncident of the same name is about another pod or node ({}): left as it is",
          existing == null ? "no spec" : existing.getPodName() + " uid " + existing.getPodUid() + " on "
              + existing.getNodeName());
      return existing;
    }
    OOMIncidentSpec merged = copy(existing);
    List<EvidenceItem> evidence = new ArrayList<>(nullSafe(existing.getEvidence()));
    for (EvidenceItem item : nullSafe(update.getEvidence())) {
      boolean known = evidence.stream().anyMatch(e -> Objects.equals(e.getSource(), item.getSource())
          && Objects.equals(e.getDetail(), item.getDetail()));
      if (!known) {
        evidence.add(item);
      }
    }
    merged.setEvidence(evidence.size() > IncidentLimits.EVIDENCE_ITEMS
        ? List.copyOf(evidence.subList(0, IncidentLimits.EVIDENCE_ITEMS)) : evidence);
    if (strength(update.getVerdict()) < strength(existing.getVerdict())) {
      merged.setVerdict(update.getVerdict());
    }
    if (earlier(update.getKilledAt(), existing.getKilledAt())) {
      merged.setKilledAt(update.getKilledAt());
    }
    if (existing.getSandboxId() == null) {
      merged.setSandboxId(update.getSandboxId());
    }
    if (existing.getVictim() == null || existing.getVictim().startsWith("sandbox (")) {
      merged.setVictim(update.getVictim());
    }
    if (OomIncident.WHOLE_POD.equals(existing.getCulprit()) || existing.getCulprit() == null) {
      merged.setCulprit(update.getCulprit());
      merged.setCulpritConfidence(update.getCulpritConfidence());
    }
    if (existing.getMemoryLimitBytes() == null) {
      merged.setMemoryLimitBytes(update.getMemoryLimitBytes());
      merged.setMemoryLimit(update.getMemoryLimit());
    }
    if (existing.getMemcg() == null || existing.getMemcg().startsWith("(")) {
      merged.setMemcg(update.getMemcg());
    }
    return same(existing, merged) ? existing : merged;
  }

  private static boolean sameIdentity(OOMIncidentSpec existing, OOMIncidentSpec update) {
    return Objects.equals(existing.getPodUid(), update.getPodUid())
        && Objects.equals(existing.getPodName(), update.getPodName())
        && Objects.equals(existing.getNodeName(), update.getNodeName());
  }

  private static String ownerOf(OOMIncident incident) {
    Map<String, String> annotations = incident.getMetadata() == null ? null : incident.getMetadata().getAnnotations();
    String owner = annotations == null ? null : annotations.get(OOMIncident.OWNER_ANNOTATION);
    return owner == null ? "" : owner;
  }

  private static int strength(String verdict) {
    for (Verdict v : Verdict.values()) {
      if (v.display().equals(verdict)) {
        return v.ordinal();
      }
    }
    return Integer.MAX_VALUE;
  }

  private static boolean earlier(String candidate, String current) {
    try {
      return current == null || (candidate != null && Instant.parse(candidate).isBefore(Instant.parse(current)));
    } catch (RuntimeException e) {
      return false;
    }
  }

  private static boolean same(OOMIncidentSpec a, OOMIncidentSpec b) {
    return Objects.equals(a.getVerdict(), b.getVerdict()) && Objects.equals(a.getKilledAt(), b.getKilledAt())
        && Objects.equals(a.getSandboxId(), b.getSandboxId()) && Objects.equals(a.getVictim(), b.getVictim())
        && Objects.equals(a.getCulprit(), b.getCulprit()) && Objects.equals(a.getMemcg(), b.getMemcg())
        && Objects.equals(a.getMemoryLimitBytes(), b.getMemoryLimitBytes())
        && nullSafe(a.getEvidence()).size() == nullSafe(b.getEvidence()).size();
  }

  private static OOMIncidentSpec copy(OOMIncidentSpec s) {
    OOMIncidentSpec c = new OOMIncidentSpec();
    c.setPodName(s.getPodName());
    c.setPodUid(s.getPodUid());
    c.setNodeName(s.getNodeName());
    c.setVerdict(s.getVerdict());
    c.setSandboxId(s.getSandboxId());
    c.setCulprit(s.getCulprit());
    c.setCulpritConfidence(s.getCulpritConfidence());
    c.setVictim(s.getVictim());
    c.setMemcg(s.getMemcg());
    c.setMemoryLimit(s.getMemoryLimit());
    c.setMemoryLimitBytes(s.getMemoryLimitBytes());
    c.setKilledAt(s.getKilledAt());
    c.setDetectedAt(s.getDetectedAt());
    c.setEvidence(s.getEvidence());
    return c;
  }

  private static <T> List<T> nullSafe(List<T> list) {
    return list == null ? List.of() : list;
  }
}
