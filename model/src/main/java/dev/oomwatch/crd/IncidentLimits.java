package dev.oomwatch.crd;

/**
 * The bounds the {@code OOMIncident} schema puts on each field (the CRD's {@code maxLength} and
 * {@code maxItems}, generated from these constants), in one place, so that the agent cuts what it
 * writes to fit (an incident the API server would reject is never produced) and the reconciler refuses
 * what does not fit (an incident stored before the schema had bounds, or written past it). Constants
 * only.
 */
public final class IncidentLimits {
  /** Pod and node names, Event names: DNS subdomains. */
  public static final int NAME = 253;
  /** A DNS subdomain, as pod and node names are. */
  public static final String DNS_SUBDOMAIN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
  /** Object uids are 36-character UUIDs; some room over that. */
  public static final int UID = 64;
  /** containerd's sandbox ids are 64 hex digits. */
  public static final int SANDBOX_ID = 128;
  /** The killed process, e.g. {@code exe (pid 7932, uid 65534, gVisor sandbox)}. */
  public static final int VICTIM = 512;
  /** A cgroup path. */
  public static final int MEMCG = 1024;
  /** A Kubernetes quantity such as {@code 64Mi}. */
  public static final int QUANTITY = 64;
  /** An RFC 3339 time. */
  public static final int TIMESTAMP = 64;
  /** Evidence items of one incident: a handful of signals per kill, with room for many containers. */
  public static final int EVIDENCE_ITEMS = 64;
  /** An evidence source's name ({@code kmsg}, {@code cgroup}, {@code runsc}, {@code pods}). */
  public static final int EVIDENCE_SOURCE = 32;
  /** What one signal said. */
  public static final int EVIDENCE_DETAIL = 1024;
  /** The status message. */
  public static final int MESSAGE = 2048;
  /** A pod condition type ({@code prefix/name}: 253 + 1 + 63). */
  public static final int CONDITION_TYPE = 317;

  private IncidentLimits() {}

  /** {@code text} cut to at most {@code max} characters, never inside a surrogate pair (null stays null). */
  public static String cut(String text, int max) {
    if (text == null || text.length() <= max) {
      return text;
    }
    int end = Character.isHighSurrogate(text.charAt(max - 1)) ? max - 1 : max;
    return text.substring(0, end);
  }
}
