package dev.oomwatch.model;

import java.time.Instant;
import java.util.List;
import java.util.OptionalLong;

/**
 * One OOM kill of one pod's gVisor sandbox, as inferred from the signals. Its {@link #id} is derived
 * from the kill itself, so every signal about the kill and every restart of the agent give the same id.
 * Immutable.
 *
 * @param id           stable identity of the kill (see {@code IncidentIds})
 * @param pod          the pod whose sandbox was killed
 * @param node         the node the agent runs on
 * @param verdict      how sure the agent is
 * @param victim       the killed process, e.g. {@code exe (pid 7932, uid 65534)}
 * @param memcg        the cgroup whose limit was hit
 * @param limitBytes   that limit, when known
 * @param killedAt     when the kernel killed it
 * @param detectedAt   when the agent learned of it
 * @param evidence     every signal that saw the kill
 */
public record OomIncident(
    String id,
    PodRef pod,
    String node,
    Verdict verdict,
    String victim,
    String memcg,
    OptionalLong limitBytes,
    Instant killedAt,
    Instant detectedAt,
    List<Evidence> evidence) {
  public OomIncident {
    evidence = List.copyOf(evidence);
  }
}
