package dev.oomwatch.operator;

import dev.oomwatch.crd.EvidenceItem;
import dev.oomwatch.crd.IncidentLimits;
import dev.oomwatch.crd.OOMIncident;
import dev.oomwatch.crd.OOMIncidentSpec;
import dev.oomwatch.model.Verdict;
import dev.oomwatch.publish.IncidentResources;
import io.fabric8.kubernetes.api.model.Pod;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Decides whether the reconciler may report an {@code OOMIncident} on a pod at all. An incident is
 * trusted only when it is well formed (what the CRD's schema says, checked again here because an object
 * stored before the schema had bounds, or by a server that does not validate, may not be), is about this
 * node ({@code spec.nodeName} and the node label), carries the owner annotation this node's agent gives
 * its incidents for that pod uid, and — once the pod is read — that pod runs on this node. None of this
 * stops a forger who may create OOMIncidents and copies what the agent writes: the admission policy does
 * (see the chart's {@code admissionPolicy}); these checks make sure the agent never writes on another
 * node's pod and never acts on a malformed or foreign object. Pure; stateless and thread-safe.
 */
final class IncidentTrust {
  /** Why an incident was refused: the {@code reason} label of {@code oomwatch_incidents_refused_total}. */
  enum Reason {
    INVALID("invalid"),
    FOREIGN_NODE("foreign-node"),
    NOT_OWNER("not-owner"),
    POD_NOT_ON_NODE("pod-not-on-node");

    final String label;

    Reason(String label) {
      this.label = label;
    }
  }

  /** One refusal: why, and a short human-readable detail for the log and the status message. */
  record Refusal(Reason reason, String detail) {}

  private static final Pattern DNS_SUBDOMAIN = Pattern.compile(IncidentLimits.DNS_SUBDOMAIN);
  private static final List<String> VERDICTS = Arrays.stream(Verdict.values()).map(Verdict::display).toList();

  private IncidentTrust() {}

  /** What is wrong with the incident itself, before any pod is read; empty when it may be reported. */
  static Optional<Refusal> checkIncident(OOMIncident incident, String nodeName) {
    Optional<String> malformed = malformed(incident.getSpec());
    if (malformed.isPresent()) {
      return Optional.of(new Refusal(Reason.INVALID, malformed.get()));
    }
    OOMIncidentSpec spec = incident.getSpec();
    String label = incident.getMetadata().getLabels() == null ? null
        : incident.getMetadata().getLabels().get(OOMIncident.NODE_LABEL);
    if (!nodeName.equals(spec.getNodeName()) || !OOMIncident.nodeLabelValue(nodeName).equals(label)) {
      return Optional.of(new Refusal(Reason.FOREIGN_NODE,
          "it is about node " + cutForLog(spec.getNodeName()) + " (label " + cutForLog(label) + "), not this node"));
    }
    if (!IncidentResources.ownedBy(incident, nodeName)) {
      return Optional.of(new Refusal(Reason.NOT_OWNER, "it has no owner annotation " + OOMIncident.OWNER_ANNOTATION
          + " of this node's agent for pod uid " + spec.getPodUid()));
    }
    return Optional.empty();
  }

  /** What is wrong with reporting on {@code pod} (the incident's pod, this uid); empty when nothing is. */
  static Optional<Refusal> checkPod(Pod pod, String nodeName) {
    String podNode = pod.getSpec() == null ? null : pod.getSpec().getNodeName();
    if (!nodeName.equals(podNode)) {
      return Optional.of(new Refusal(Reason.POD_NOT_ON_NODE,
          "pod " + pod.getMetadata().getName() + " runs on node " + cutForLog(podNode) + ", not this node"));
    }
    return Optional.empty();
  }

  /** The first way {@code spec} breaks the CRD's schema, if any. */
  static Optional<String> malformed(OOMIncidentSpec spec) {
    if (spec == null) {
      return Optional.of("no spec");
    }
    if (!name(spec.getPodName())) {
      return Optional.of("spec.podName is not a pod name");
    }
    if (!name(spec.getNodeName())) {
      return Optional.of("spec.nodeName is not a node name");
    }
    if (!text(spec.getPodUid(), IncidentLimits.UID, true)) {
      return Optional.of("spec.podUid is missing or longer than " + IncidentLimits.UID);
    }
    if (!VERDICTS.contains(spec.getVerdict())) {
      return Optional.of("spec.verdict is not one of " + VERDICTS);
    }
    if (!timestamp(spec.getKilledAt(), true) || !timestamp(spec.getDetectedAt(), true)) {
      return Optional.of("spec.killedAt or spec.detectedAt is not an RFC 3339 time");
    }
    if (!text(spec.getSandboxId(), IncidentLimits.SANDBOX_ID, false) || !text(spec.getCulprit(), IncidentLimits.NAME, false)
        || !text(spec.getVictim(), IncidentLimits.VICTIM, false) || !text(spec.getMemcg(), IncidentLimits.MEMCG, false)
        || !text(spec.getMemoryLimit(), IncidentLimits.QUANTITY, false)) {
      return Optional.of("a text field of spec is longer than the schema allows");
    }
    Double confidence = spec.getCulpritConfidence();
    if (confidence != null && !(confidence >= 0 && confidence <= 1)) {
      return Optional.of("spec.culpritConfidence is not between 0 and 1");
    }
    if (spec.getMemoryLimitBytes() != null && spec.getMemoryLimitBytes() < 0) {
      return Optional.of("spec.memoryLimitBytes is negative");
    }
    List<EvidenceItem> evidence = spec.getEvidence() == null ? List.of() : spec.getEvidence();
    if (evidence.size() > IncidentLimits.EVIDENCE_ITEMS) {
      return Optional.of("spec.evidence has more than " + IncidentLimits.EVIDENCE_ITEMS + " items");
    }
    for (EvidenceItem item : evidence) {
      if (item == null || !text(item.getSource(), IncidentLimits.EVIDENCE_SOURCE, true)
          || !text(item.getDetail(), IncidentLimits.EVIDENCE_DETAIL, false) || !timestamp(item.getObservedAt(), false)) {
        return Optional.of("an item of spec.evidence breaks the schema");
      }
    }
    return Optional.empty();
  }

  private static boolean name(String value) {
    return value != null && !value.isEmpty() && value.length() <= IncidentLimits.NAME
        && DNS_SUBDOMAIN.matcher(value).matches();
  }

  private static boolean text(String value, int max, boolean required) {
    return value == null ? !required : !(required && value.isEmpty()) && value.length() <= max;
  }

  private static boolean timestamp(String value, boolean required) {
    if (value == null) {
      return !required;
    }
    if (value.length() > IncidentLimits.TIMESTAMP) {
      return false;
    }
    try {
      Instant.parse(value);
      return true;
    } catch (DateTimeParseException e) {
      return false;
    }
  }

  /** A value from an untrusted object, cut for a log line. */
  private static String cutForLog(String value) {
    return value == null ? "(none)" : IncidentLimits.cut(value, 80);
  }
}
