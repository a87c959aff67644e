package dev.oomwatch.podreport;

import dev.oomwatch.crd.OOMIncidentSpec;
import dev.oomwatch.model.MemoryScope;
import dev.oomwatch.model.OomIncident;
import dev.oomwatch.model.PodCgroupLocator;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * The words users read in {@code kubectl describe pod}: the Event message and the condition message
 * for an incident. One place, so the Event, the condition and the docs say the same thing.
 * Stateless and thread-safe.
 */
public final class OomMessages {
  /** Event reason: a sandbox has stayed near its memory limit. */
  public static final String NEAR_OOM = "NearOOM";
  /** Event and condition reason: a sandbox runs outside its pod's memory limit. */
  public static final String LIMIT_NOT_ENFORCED = "MemoryLimitNotEnforced";

  private static final PodCgroupLocator LOCATOR = new PodCgroupLocator();

  private OomMessages() {}

  /** NearOOM: how close, since when, and what happens at the limit. */
  public static String nearOomMessage(dev.oomwatch.inference.Finding.NearOom near) {
    long percent = Math.round(100.0 * near.usageBytes() / near.limitBytes());
    return "gVisor sandbox memory at " + percent + "% of the pod's limit of "
        + dev.oomwatch.model.ByteSizes.quantity(near.limitBytes()) + " since " + seconds(near.since().toString())
        + ": at the limit the kernel kills the whole sandbox (every container of the pod)";
  }

  /** MemoryLimitNotEnforced: where the sandbox is, where it should be. */
  public static String limitNotEnforcedMessage(dev.oomwatch.inference.Finding.LimitNotEnforced finding) {
    var observed = finding.observation();
    return "gVisor sandbox " + observed.sandbox().sandboxId() + " runs in memory cgroup " + observed.actualCgroup()
        + ", which has no memory limit, instead of the pod's cgroup " + observed.expectedCgroup()
        + ": the pod's memory limit of " + dev.oomwatch.model.ByteSizes.quantity(
            finding.pod().memoryLimitBytes().orElse(0)) + " is not enforced (with the systemd cgroup driver, runsc"
        + " needs systemd-cgroup support)";
  }

  /** Event message: what happened, why, to which process, when; and what the exit codes hide. */
  public static String eventMessage(String incidentName, OOMIncidentSpec spec) {
    return "gVisor sandbox killed by the kernel " + cause(spec) + ": victim " + nullToUnknown(spec.getVictim())
        + " at " + seconds(spec.getKilledAt()) + culprit(spec) + ". Every container of the pod died with the"
        + " sandbox; their exit codes (often 128, reason Error) do not say OOM. Verdict: " + spec.getVerdict()
        + ". Details: kubectl get oomincident " + incidentName + " -o yaml";
  }

  /** Condition message: shorter, it sits in the pod's status. */
  public static String conditionMessage(String incidentName, OOMIncidentSpec spec) {
    return "The gVisor sandbox was OOM-killed at " + seconds(spec.getKilledAt()) + " " + cause(spec)
        + " (victim " + nullToUnknown(spec.getVictim()) + "; incident " + incidentName + ")";
  }

  private static String culprit(OOMIncidentSpec spec) {
    if (spec.getCulprit() == null || OomIncident.WHOLE_POD.equals(spec.getCulprit())) {
      return "";
    }
    String share = spec.getCulpritConfidence() == null ? ""
        : " (" + Math.round(100 * spec.getCulpritConfidence()) + "% of the sandbox's memory)";
    return "; most likely culprit: container " + spec.getCulprit() + share;
  }

  /**
   * Why the kernel killed, from the cgroup whose limit was hit ({@code oom_memcg}): the pod's own limit
   * only when that cgroup is the pod's or its sandbox's. A node-wide OOM, or the limit of a cgroup above
   * the pod's (kubelet's {@code /kubepods}, a QoS class), is said as such: the pod did not exceed its
   * limit. Without a kernel record (a cgroup counter alone: the pod cgroup's) or with no cgroup known,
   * it is the pod's limit.
   */
  private static String cause(OOMIncidentSpec spec) {
    MemoryScope scope = MemoryScope.parse(spec.getMemcg());
    String limit = spec.getMemoryLimit() == null ? "" : " of " + spec.getMemoryLimit();
    if (scope.kind() == MemoryScope.Kind.NODE) {
      return "because the node ran out of memory and the kernel chose this sandbox to free memory (not for"
          + " exceeding a memory limit of the pod)";
    }
    String memcg = scope.cgroup().orElse(null);
    if (memcg == null || !fromKernelLog(spec)
        || LOCATOR.podUid(memcg).filter(uid -> uid.equals(spec.getPodUid())).isPresent()) {
      return "for exceeding the pod's memory limit" + limit;
    }
    return "because memory cgroup " + memcg + ", which holds this pod and others, reached its limit" + limit
        + " and the kernel chose this sandbox (not for exceeding a memory limit of the pod)";
  }

  private static boolean fromKernelLog(OOMIncidentSpec spec) {
    return spec.getEvidence() != null && spec.getEvidence().stream().anyMatch(e -> "kmsg".equals(e.getSource()));
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
