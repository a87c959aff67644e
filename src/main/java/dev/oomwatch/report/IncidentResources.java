package dev.oomwatch.report;

import dev.oomwatch.model.ByteSizes;
import dev.oomwatch.model.OomIncident;
import dev.oomwatch.operator.crd.EvidenceItem;
import dev.oomwatch.operator.crd.OOMIncident;
import dev.oomwatch.operator.crd.OOMIncidentSpec;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.util.Map;

/**
 * Maps the internal {@link OomIncident} to the {@code OOMIncident} resource the agent creates: its name
 * is the incident id, its namespace the pod's, its node label the agent's node. Stateless and
 * thread-safe.
 */
public final class IncidentResources {
  private IncidentResources() {}

  public static OOMIncident toResource(OomIncident incident) {
    OOMIncidentSpec spec = new OOMIncidentSpec();
    spec.setPodName(incident.pod().name());
    spec.setPodUid(incident.pod().uid());
    spec.setNodeName(incident.node());
    spec.setVerdict(incident.verdict().display());
    spec.setVictim(incident.victim());
    incident.sandboxId().ifPresent(spec::setSandboxId);
    spec.setCulprit(incident.culprit());
    incident.culpritConfidence().ifPresent(spec::setCulpritConfidence);
    spec.setMemcg(incident.memcg());
    incident.limitBytes().ifPresent(bytes -> {
      spec.setMemoryLimitBytes(bytes);
      spec.setMemoryLimit(ByteSizes.quantity(bytes));
    });
    spec.setKilledAt(incident.killedAt().toString());
    spec.setDetectedAt(incident.detectedAt().toString());
    spec.setEvidence(incident.evidence().stream()
        .map(e -> new EvidenceItem(e.source(), e.detail(), e.observedAt().toString()))
        .toList());

    OOMIncident resource = new OOMIncident();
    resource.setMetadata(new ObjectMetaBuilder()
        .withName(incident.id())
        .withNamespace(incident.pod().namespace())
        .withLabels(Map.of(OOMIncident.NODE_LABEL, incident.node()))
        .build());
    resource.setSpec(spec);
    return resource;
  }
}
