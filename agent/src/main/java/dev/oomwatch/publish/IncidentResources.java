package dev.oomwatch.publish;

import dev.oomwatch.crd.EvidenceItem;
import dev.oomwatch.crd.IncidentLimits;
import dev.oomwatch.crd.OOMIncident;
import dev.oomwatch.crd.OOMIncidentSpec;
import dev.oomwatch.model.ByteSizes;
import dev.oomwatch.model.OomIncident;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.util.Map;

/**
 * Maps the internal {@link OomIncident} to the {@code OOMIncident} resource the agent creates: its name
 * is the incident id, its namespace the pod's, its node label the agent's node
 * ({@link OOMIncident#nodeLabelValue}, hashed when the name is too long for a label), its pod-uid label
 * the pod's uid, its owner
 * annotation binds it to the node and the pod uid ({@link OOMIncident#ownerValue}). Free-text fields are
 * cut and the evidence list capped to the schema's bounds ({@link IncidentLimits}), so the API server
 * never rejects what the agent writes. Stateless and thread-safe.
 */
public final class IncidentResources {
  private IncidentResources() {}

  public static OOMIncident toResource(OomIncident incident) {
    OOMIncidentSpec spec = new OOMIncidentSpec();
    spec.setPodName(incident.pod().name());
    spec.setPodUid(incident.pod().uid());
    spec.setNodeName(incident.node());
    spec.setVerdict(incident.verdict().display());
    spec.setVictim(IncidentLimits.cut(incident.victimText(), IncidentLimits.VICTIM));
    incident.sandboxId().ifPresent(id -> spec.setSandboxId(IncidentLimits.cut(id, IncidentLimits.SANDBOX_ID)));
    spec.setCulprit(IncidentLimits.cut(incident.culprit(), IncidentLimits.NAME));
    incident.culpritConfidence().ifPresent(spec::setCulpritConfidence);
    spec.setMemcg(IncidentLimits.cut(incident.memcg().text(), IncidentLimits.MEMCG));
    incident.limitBytes().ifPresent(bytes -> {
      spec.setMemoryLimitBytes(bytes);
      spec.setMemoryLimit(ByteSizes.quantity(bytes));
    });
    spec.setKilledAt(incident.killedAt().toString());
    spec.setDetectedAt(incident.detectedAt().toString());
    spec.setEvidence(incident.evidence().stream()
        .limit(IncidentLimits.EVIDENCE_ITEMS)
        .map(e -> new EvidenceItem(IncidentLimits.cut(e.source(), IncidentLimits.EVIDENCE_SOURCE),
            IncidentLimits.cut(e.detail(), IncidentLimits.EVIDENCE_DETAIL), e.observedAt().toString()))
        .toList());

    OOMIncident resource = new OOMIncident();
    resource.setMetadata(new ObjectMetaBuilder()
        .withName(incident.id())
        .withNamespace(incident.pod().namespace())
        .withLabels(Map.of(OOMIncident.NODE_LABEL, OOMIncident.nodeLabelValue(incident.node()),
            OOMIncident.POD_UID_LABEL, incident.pod().uid()))
        .withAnnotations(Map.of(OOMIncident.OWNER_ANNOTATION,
            OOMIncident.ownerValue(incident.node(), incident.pod().uid())))
        .build());
    resource.setSpec(spec);
    return resource;
  }

  /** True when {@code incident} carries the owner annotation this node's agent gives its incidents. */
  public static boolean ownedBy(OOMIncident incident, String nodeName) {
    Map<String, String> annotations = incident.getMetadata() == null ? null : incident.getMetadata().getAnnotations();
    String owner = annotations == null ? null : annotations.get(OOMIncident.OWNER_ANNOTATION);
    return incident.getSpec() != null && incident.getSpec().getPodUid() != null
        && OOMIncident.ownerValue(nodeName, incident.getSpec().getPodUid()).equals(owner);
  }
}
