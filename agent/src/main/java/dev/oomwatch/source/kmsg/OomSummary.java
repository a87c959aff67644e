package dev.oomwatch.source.kmsg;

import java.util.Optional;

/**
 * The fields of one {@code oom-kill:constraint=...} record that the agent uses. {@code oomMemcg} is
 * empty for a node-wide ({@code global_oom}) kill. {@code uid} is the kernel's {@code %d} of the uid, so
 * uids from 2^31 up appear negative. Immutable.
 */
record OomSummary(
    String constraint, Optional<String> oomMemcg, String taskMemcg, String task, int pid, int uid) {}
