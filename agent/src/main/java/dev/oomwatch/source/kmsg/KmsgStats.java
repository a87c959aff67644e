package dev.oomwatch.source.kmsg;

/**
 * A snapshot of a {@link KmsgSource}'s counters, each counting since the source was created.
 * Immutable.
 *
 * @param recordsRead      records read, malformed ones included
 * @param malformedRecords records that did not parse, and {@code oom-kill:} records whose fields did not
 * @param lostRecords      records the kernel overwrote before they were read (reads failing with
 *                         {@code EPIPE}); counted from the gap in sequence numbers, at least one per
 *                         failed read
 * @param oomKillsEmitted  kills handed to the sink (a restart reads the log again from its start, so a
 *                         kill can be handed over again after one)
 * @param restarts         times reading started over after a failure (including each retry to open)
 */
public record KmsgStats(
    long recordsRead, long malformedRecords, long lostRecords, long oomKillsEmitted, long restarts) {}
