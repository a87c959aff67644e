package dev.oomwatch.operator.crd;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
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
@AdditionalPrinterColumn(name = "Pod", jsonPath = ".spec.podName", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Verdict", jsonPath = ".spec.verdict", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Limit", jsonPath = ".spec.memoryLimit", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Victim", jsonPath = ".spec.victim", type = AdditionalPrinterColumn.Type.STRING, priority = 1)
@AdditionalPrinterColumn(name = "Node", jsonPath = ".spec.nodeName", type = AdditionalPrinterColumn.Type.STRING, priority = 1)
@AdditionalPrinterColumn(name = "Killed", jsonPath = ".spec.killedAt", type = AdditionalPrinterColumn.Type.DATE, priority = 1)
@AdditionalPrinterColumn(name = "Reported", jsonPath = ".status.phase", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class OOMIncident extends CustomResource<OOMIncidentSpec, OOMIncidentStatus> implements Namespaced {
  /** Label naming the node whose agent owns (detected and reconciles) the incident. */
  public static final String NODE_LABEL = "oomwatch.dev/node";
}
