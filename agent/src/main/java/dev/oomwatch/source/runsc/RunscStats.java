package dev.oomwatch.source.runsc;

/**
 * A snapshot of a {@link RunscStateSource}'s counters, each counting since the source was created.
 * Immutable.
 *
 * @param polls                polls of the runsc root dir
 * @param filesParsed          state files read and parsed (only new or changed files are read)
 * @param parseRetries         state files read but unusable (half-written, garbage), to be read again
 * @param filesRefused         state files not read because they were larger than 1 MiB
 * @param sandboxesSeen        sandboxes found (a sandbox restarted under the same id counts again)
 * @param deathsSeen           sandbox deaths reported ({@code SandboxDied}), by any witness
 * @param unlimitedSeen        sandboxes found without a memory limit ({@code SandboxUnlimited})
 * @param metricScrapes        successful scrapes of the runsc metric server
 * @param metricScrapeFailures failed scrapes of the runsc metric server
 * @param memorySamples        per-container memory samples taken with {@code runsc events --stats}
 * @param memorySampleFailures {@code runsc events --stats} runs that gave no sample
 */
public record RunscStats(
    long polls,
    long filesParsed,
    long parseRetries,
    long filesRefused,
    long sandboxesSeen,
    long deathsSeen,
    long unlimitedSeen,
    long metricScrapes,
    long metricScrapeFailures,
    long memorySamples,
    long memorySampleFailures) {}
