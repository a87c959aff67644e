package dev.oomwatch.source.kmsg;

import java.util.OptionalLong;

/** The fields of one {@code ...: Killed process N (comm) ..., anon-rss:NkB, ...} record. Immutable. */
record KilledProcess(int pid, OptionalLong anonRssBytes) {}
