package dev.oomwatch.report;

import dev.oomwatch.operator.crd.OOMIncidentSpec;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * The words users read in {@code kubectl describe pod}: the Event message and the condition message
 * for an incident. One place, so the Event, the condition and the docs say the same thing.
 * Stateless and thread-safe.
 */
public final class OomMessages {
  private OomMessages() {}

  /** Event message: what happened, why, to which process, when; and what the exit codes hide. */
  public static String eventMessage(String incidentName, OOMIncidentSpec spec) {
    return "gVisor sandbox killed by the kernel " + cause(spec) + ": victim " + nullToUnknown(spec.getVictim())
        + " at " + seconds(spec.getKilledAt()) + ". Every container of the pod died with the sandbox; their"
        + " exit codes (often 128, reason Error) do not say OOM. Verdict: " + spec.getVerdict()
        + ". Details: kubectl get oomincident " + incidentName + " -o yaml";
  }

  /** Condition message: shorter, it sits in the pod's status. */
  public static String conditionMessage(String incidentName, OOMIncidentSpec spec) {
    return "The gVisor sandbox was OOM-killed at " + seconds(spec.getKilledAt()) + " " + cause(spec)
        + " (victim " + nullToUnknown(spec.getVictim()) + "; incident " + incidentName + ")";
  }

  private static String cause(OOMIncidentSpec spec) {
    if (spec.getMemcg() != null && spec.getMemcg().startsWith("(node")) {
      return "because the node ran out of memory";
    }
    String limit = spec.getMemoryLimit() == null ? "" : " of " + spec.getMemoryLimit();
    return "for exceeding the pod's memory limit" + limit;
  }

  private static String seconds(String rfc3339) {
    try {
      return Instant.parse(rfc3339).truncatedTo(ChronoUnit.MILLIS).toString();
    } catch (RuntimeException e) {
      return nullToUnknown(rfc3339);
    }
  }

  private static String nullToUnknown(String text) {
    return text == null ? "unknown" : text;
  }
}
