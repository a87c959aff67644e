package dev.oomwatch.model;

import java.time.Instant;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * One OOM kill as the kernel logged it in {@code /dev/kmsg}: the {@code oom-kill:} summary record,
 * enriched by the {@code memory: usage ..., limit ...} and {@code Killed process ...} records of the same
 * report when they were seen. Immutable.
 *
 * @param bootId         the kernel's boot id (the kmsg sequence restarts at every boot)
 * @param sequence       kmsg sequence number of the {@code oom-kill:} record; unique within a boot
 * @param monotonicMicros kernel timestamp of that record, microseconds since boot
 * @param killedAt       the same moment as wall-clock time
 * @param constraint     {@code CONSTRAINT_MEMCG} for a cgroup limit, {@code CONSTRAINT_NONE} for a node OOM
 * @param oomMemcg       the cgroup whose limit was hit (empty for a node-wide OOM), e.g.
 *                       {@code /kubepods/burstable/pod<uid>}
 * @param taskMemcg      the victim's own cgroup, e.g. {@code /kubepods/burstable/pod<uid>/<sandbox-id>}
 * @param task           the victim's command name ({@code exe} for gVisor's sentry, gofer and stubs)
 * @param pid            the victim's host pid
 * @param uid            the victim's uid (65534 for gVisor's sentry)
 * @param limitBytes     the limit the kernel reported in {@code memory: usage ..., limit ...}, when seen
 * @param anonRssBytes   the victim's anon-rss from {@code Killed process ...}, when seen
 */
public record KernelOomKill(
    String bootId,
    long sequence,
    long monotonicMicros,
    Instant killedAt,
    String constraint,
    Optional<String> oomMemcg,
    String taskMemcg,
    String task,
    int pid,
    int uid,
    OptionalLong limitBytes,
    OptionalLong anonRssBytes) implements Observation {
  @Override
  public <R> R accept(Visitor<R> visitor) {
    return visitor.visit(this);
  }
}
