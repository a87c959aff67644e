package dev.oomwatch.model;

import java.time.Instant;

/**
 * One signal that saw a kill: which source ({@code kmsg}, {@code cgroup}, ...), what it said in words a
 * user can check against the node, and when it was observed. Immutable.
 */
public record Evidence(String source, String detail, Instant observedAt) {}
