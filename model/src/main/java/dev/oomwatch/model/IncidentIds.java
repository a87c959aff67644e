package dev.oomwatch.model;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;

/**
 * Derives the name of an incident from the kill itself, so that every signal about one kill and every
 * restart of the agent give the same {@code OOMIncident} name (creating it twice is then a no-op).
 *
 * <p>The identity is (pod uid, sandbox id) whenever the sandbox is known: an OOM kill ends its sandbox
 * (the whole sandbox dies; kubelet makes a new one with a new id), so a sandbox is killed at most once,
 * and every signal names it — the kernel in the victim's cgroup ({@code .../pod<uid>/<sandbox-id>}),
 * the cgroup poller in the child cgroup it read, runsc in its state file. Sandbox ids are 64 random hex
 * digits from containerd. When no signal names the sandbox, the identity falls back to (boot id, pod uid,
 * victim pid): within one boot a pid is reused only after the pid space wraps (4 194 304 on 64-bit
 * kernels). The name is the pod name (cut to 40 characters) plus the first 10 hex digits of a SHA-256
 * of the identity: a collision between two kills of the same pod needs about 2^20 kills of it (birthday
 * bound on 40 bits) — beyond any restart loop's reach within the incidents' TTL. Stateless and
 * thread-safe.
 */
public final class IncidentIds {
  private static final int MAX_POD_PART = 40;

  private IncidentIds() {}

  /** The incident name for the OOM kill of {@code pod}'s sandbox {@code sandboxId}. */
  public static String forSandbox(PodRef pod, String sandboxId) {
    return podPart(pod.name()) + "-oom-" + sha256Hex(pod.uid() + "/sandbox/" + sandboxId).substring(0, 10);
  }

  /** The incident name for a kill of {@code victimPid} in {@code pod} during boot {@code bootId}. */
  public static String forKill(String bootId, PodRef pod, long victimPid) {
    String identity = bootId + "/" + pod.uid() + "/" + victimPid;
    return podPart(pod.name()) + "-oom-" + sha256Hex(identity).substring(0, 10);
  }

  /** A short stable hash for names derived from several parts (Events, for example). */
  public static String shortHash(String... parts) {
    return sha256Hex(String.join("\u0000", parts)).substring(0, 10);
  }

  private static String podPart(String podName) {
    String lower = podName.toLowerCase(Locale.ROOT);
    String cut = lower.length() > MAX_POD_PART ? lower.substring(0, MAX_POD_PART) : lower;
    // a name segment may not end with '-' or '.', and the cut may have made it so
    return cut.replaceAll("[-.]+$", "");
  }

  private static String sha256Hex(String text) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(digest.digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }
}
