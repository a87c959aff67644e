package dev.oomwatch.model;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;

/**
 * One OOM kill of one pod's gVisor sandbox, as inferred from the signals. Its {@link #id} is derived
 * from the kill itself (see {@link IncidentIds}), so every signal about the kill and every restart of
 * the agent give the same id. Immutable.
 *
 * @param id           stable identity of the kill
 * @param pod          the pod whose sandbox was killed
 * @param node         the node the agent runs on
 * @param sandboxId    the killed sandbox, when known
 * @param verdict      how sure the agent is (the strongest of its evidence)
 * @param victim       the killed process, e.g. {@code exe (pid 7932, uid 65534, gVisor sandbox)}; empty when no
 *                     signal named it (only that the sandbox died)
 * @param memcg        whose memory ran out: a cgroup's limit, the node, or not known
 * @param limitBytes   that limit, when known
 * @param killedAt     when the kill happened (the kernel's timestamp when known)
 * @param detectedAt   when the agent learned of it
 * @param culprit      the container that most likely caused it, or {@code pod} when that is unknown
 * @param culpritConfidence the culprit's share of the sandbox's memory, when known
 * @param evidence     every signal that saw the kill
 */
public record OomIncident(
    String id,
    PodRef pod,
    String node,
    Optional<String> sandboxId,
    Verdict verdict,
    Optional<String> victim,
    MemoryScope memcg,
    OptionalLong limitBytes,
    Instant killedAt,
    Instant detectedAt,
    String culprit,
    OptionalDouble culpritConfidence,
    List<Evidence> evidence) {
  /** The culprit when no per-container memory is known. */
  public static final String WHOLE_POD = "pod";
  /** How {@link #victim} reads when no signal named the killed process. */
  public static final String VICTIM_UNKNOWN = "sandbox (process unknown)";

  public OomIncident {
    evidence = List.copyOf(evidence);
  }

  /** {@link #victim}, or that it is not known, as the incident and its Event say it. */
  public String victimText() {
    return victim.orElse(VICTIM_UNKNOWN);
  }
}
