package dev.oomwatch.model;

import java.util.Objects;
import java.util.Optional;

/**
 * Whose memory ran out when a sandbox was killed: a memory cgroup's limit (the kernel's {@code oom_memcg},
 * or the cgroup whose counter rose), the whole node's memory, or not known. The OOMIncident's {@code memcg}
 * field shows it as {@link #text()}, and {@link #parse} reads that text back. Immutable.
 *
 * @param kind   which of the three
 * @param cgroup the cgroup's path, for {@link Kind#CGROUP} only (empty otherwise)
 */
public record MemoryScope(Kind kind, Optional<String> cgroup) {
  /** The three scopes. */
  public enum Kind { CGROUP, NODE, UNKNOWN }

  /** The node ran out of memory: no cgroup limit caused the kill. */
  public static final MemoryScope NODE = new MemoryScope(Kind.NODE, Optional.empty());
  /** No signal named a cgroup. */
  public static final MemoryScope UNKNOWN = new MemoryScope(Kind.UNKNOWN, Optional.empty());

  private static final String NODE_TEXT = "(node: out of memory)";
  private static final String UNKNOWN_TEXT = "(unknown)";

  public MemoryScope {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(cgroup, "cgroup");
    if ((kind == Kind.CGROUP) != cgroup.isPresent()) {
      throw new IllegalArgumentException("a cgroup path belongs to a CGROUP scope alone: " + kind + " " + cgroup);
    }
  }

  /** The limit of the cgroup at {@code path}. */
  public static MemoryScope cgroup(String path) {
    return new MemoryScope(Kind.CGROUP, Optional.of(path));
  }

  /** As the OOMIncident's {@code memcg} field says it: the path, or a word in parentheses. */
  public String text() {
    return switch (kind) {
      case CGROUP -> cgroup.orElseThrow();
      case NODE -> NODE_TEXT;
      case UNKNOWN -> UNKNOWN_TEXT;
    };
  }

  /**
   * Reads {@link #text()} back, as an incident's {@code memcg} field holds it; a missing field is
   * {@link #UNKNOWN}, and the kernel's root cgroup {@code /} (a node-wide OOM seen from a cgroup namespace)
   * is {@link #NODE}.
   */
  public static MemoryScope parse(String text) {
    if (text == null || text.isEmpty() || UNKNOWN_TEXT.equals(text)) {
      return UNKNOWN;
    }
    if (NODE_TEXT.equals(text) || "/".equals(text)) {
      return NODE;
    }
    return cgroup(text);
  }
}
