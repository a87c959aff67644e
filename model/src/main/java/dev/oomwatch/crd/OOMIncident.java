package dev.oomwatch.crd;

import dev.oomwatch.model.IncidentIds;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Categories;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Singular;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * One OOM kill of a gVisor-sandboxed pod, in the pod's namespace. The agent that saw the kill creates
 * it (spec: what it found) with the label {@code oomwatch.dev/node=<node>}; the same agent's reconciler
 * reports it on the pod and writes the status (what was reported). Its name is derived from the kill, so
 * a second creation for the same kill is a no-op.
 */
@Group("oomwatch.dev")
@Version("v1alpha1")
@Kind("OOMIncident")
@Singular("oomincident")
@Plural("oomincidents")
@ShortNames("oomi")
// Listed by `kubectl get oomwatch`. Not in the category `all`: `kubectl get all` would then list every
// incident (one per kill, kept for the TTL) among a namespace's workloads, which that command is for.
@Categories("oomwatch")
@AdditionalPrinterColumn(name = "Pod", jsonPath = ".spec.podName", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Verdict", jsonPath = ".spec.verdict", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Limit", jsonPath = ".spec.memoryLimit", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Victim", jsonPath = ".spec.victim", type = AdditionalPrinterColumn.Type.STRING, priority = 1)
@AdditionalPrinterColumn(name = "Node", jsonPath = ".spec.nodeName", type = AdditionalPrinterColumn.Type.STRING, priority = 1)
@AdditionalPrinterColumn(name = "Killed", jsonPath = ".spec.killedAt", type = AdditionalPrinterColumn.Type.DATE, priority = 1)
@AdditionalPrinterColumn(name = "Reported", jsonPath = ".status.phase", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Reported-Since", jsonPath = ".status.conditions[?(@.type==\"Reported\")].lastTransitionTime", type = AdditionalPrinterColumn.Type.DATE, priority = 1)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class OOMIncident extends CustomResource<OOMIncidentSpec, OOMIncidentStatus> implements Namespaced {
  /**
   * Label naming the node whose agent owns (detected and reconciles) the incident; its value is
   * {@link #nodeLabelValue}.
   */
  public static final String NODE_LABEL = "oomwatch.dev/node";
  /**
   * Label holding the uid of the pod the incident is about, so that the agent can ask for one pod's
   * incidents (to find the incident of a kill that a later signal names differently).
   */
  public static final String POD_UID_LABEL = "oomwatch.dev/pod-uid";
  /**
   * Annotation the agent puts on every incident it creates, {@link #ownerValue}: it binds the incident to
   * the node and the pod uid. Anyone allowed to create OOMIncidents can copy it, so it tells the agent's
   * incidents from ones written by mistake or by other tools, not from a deliberate forgery: that is the
   * admission policy's job (the chart's {@code admissionPolicy}), with the reconciler's own checks.
   */
  public static final String OWNER_ANNOTATION = "oomwatch.dev/owner";
  /** Who writes incidents: the first part of {@link #ownerValue}. */
  public static final String OWNER = "gvisor-oom-watcher";
  /** A label value's limit. */
  static final int LABEL_VALUE_MAX = 63;
  /** What a long node name keeps of itself in {@link #nodeLabelValue}: 52 + '-' + 10 hex = 63. */
  static final int LABEL_PREFIX = 52;

  /**
   * The {@link #NODE_LABEL} value of {@code nodeName}: the name itself when it fits a label value (63
   * characters), else its first 52 characters, '-' and 10 hex digits of its SHA-256 — readable, stable,
   * and the same for the publisher's label and the agent's label selector. A node name is a DNS
   * subdomain, so the prefix is a valid label value start and the hash a valid end. The admission policy
   * checks the same rule (name, or prefix and '-').
   */
  public static String nodeLabelValue(String nodeName) {
    if (nodeName.length() <= LABEL_VALUE_MAX) {
      return nodeName;
    }
    return nodeName.substring(0, LABEL_PREFIX) + "-" + IncidentIds.shortHash(nodeName);
  }

  /** The {@link #OWNER_ANNOTATION} value of an incident about pod {@code podUid} written by {@code nodeName}'s agent. */
  public static String ownerValue(String nodeName, String podUid) {
    return OWNER + ":" + nodeName + ":" + podUid;
  }
}
