package dev.oomwatch.podreport;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * Writes the agent's own pod condition through {@code pods/status}, as a JSON patch that touches only
 * that condition: it tests the pod's uid and resourceVersion (so a concurrent kubelet write or a
 * re-created pod of the same name makes the patch fail, and the framework retries) and then adds or
 * replaces the one list entry. Kubelet-owned conditions are never rewritten. Writing the same condition
 * again is a no-op; an older incident never overwrites a newer one. Thread-safe (stateless apart from
 * the client).
 */
public final class PodConditionWriter {
  /** The condition type this agent sets on an OOM-killed sandbox's pod. */
  public static final String CONDITION_TYPE = "oomwatch.dev/SandboxOOMKilled";
  /** The condition type this agent sets when a sandbox runs outside its pod's memory limit. */
  public static final String LIMIT_NOT_ENFORCED_TYPE = "oomwatch.dev/MemoryLimitNotEnforced";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final KubernetesClient client;

  public PodConditionWriter(KubernetesClient client) {
    this.client = client;
  }

  /**
   * Sets {@code oomwatch.dev/SandboxOOMKilled=True} on {@code pod} (a fresh read) for a kill at
   * {@code killedAt}; returns false when nothing needed writing.
   */
  public boolean markOomKilled(Pod pod, String reason, String message, Instant killedAt) {
    return mark(pod, CONDITION_TYPE, reason, message, killedAt);
  }

  /** Whether {@code pod} carries the condition {@code type} (of any status): the agent reported on it before. */
  public static boolean has(Pod pod, String type) {
    return indexOf(pod.getStatus() == null ? null : pod.getStatus().getConditions(), type) >= 0;
  }

  /** Sets the agent's condition {@code type}=True the same way; returns false when nothing needed writing. */
  public boolean mark(Pod pod, String type, String reason, String message, Instant since) {
    Instant killedAt = since;
    List<PodCondition> conditions = pod.getStatus() == null ? null : pod.getStatus().getConditions();
    int index = indexOf(conditions, type);
    String transition = killedAt.truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString();
    if (index >= 0) {
      PodCondition current = conditions.get(index);
      if (isNewerThan(current.getLastTransitionTime(), killedAt)
          || ("True".equals(current.getStatus()) && Objects.equals(current.getMessage(), message))) {
        return false;
      }
    }
    ObjectNode condition = JSON.createObjectNode()
        .put("type", type)
        .put("status", "True")
        .put("reason", reason)
        .put("message", message)
        .put("lastTransitionTime", transition);
    ArrayNode patch = JSON.createArrayNode();
    patch.addObject().put("op", "test").put("path", "/metadata/uid").put("value", pod.getMetadata().getUid());
    patch.addObject().put("op", "test").put("path", "/metadata/resourceVersion")
        .put("value", pod.getMetadata().getResourceVersion());
    if (index >= 0) {
      patch.addObject().put("op", "replace").put("path", "/status/conditions/" + index).set("value", condition);
    } else if (conditions != null) {
      patch.addObject().put("op", "add").put("path", "/status/conditions/-").set("value", condition);
    } else {
      patch.addObject().put("op", "add").put("path", "/status/conditions").set("value", JSON.createArrayNode().add(condition));
    }
    client.pods().inNamespace(pod.getMetadata().getNamespace()).withName(pod.getMetadata().getName())
        .subresource("status")
        .patch(PatchContext.of(PatchType.JSON), patch.toString());
    return true;
  }

  private static int indexOf(List<PodCondition> conditions, String type) {
    if (conditions == null) {
      return -1;
    }
    for (int i = 0; i < conditions.size(); i++) {
      if (type.equals(conditions.get(i).getType())) {
        return i;
      }
    }
    return -1;
  }

  private static boolean isNewerThan(String lastTransitionTime, Instant killedAt) {
    if (lastTransitionTime == null) {
      return false;
    }
    try {
      return Instant.parse(lastTransitionTime).isAfter(killedAt.truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
    } catch (RuntimeException e) {
      return false;
    }
  }
}
