package dev.oomwatch.bench;

import java.util.Arrays;
import java.util.Collection;

/**
 * Order statistics of a sample, by the nearest-rank method: the p-th percentile is the smallest value
 * with at least p % of the sample at or below it, always one of the measured values (so with 20 values
 * p95 is the 19th and p99 the 20th, the maximum). Immutable.
 */
public record Percentiles(int count, double min, double p50, double p95, double p99, double max, double mean) {

  /** The statistics of {@code values}; at least one value. */
  public static Percentiles of(Collection<Double> values) {
    if (values.isEmpty()) {
      throw new IllegalArgumentException("no values");
    }
    double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    return new Percentiles(sorted.length, sorted[0], nearestRank(sorted, 50), nearestRank(sorted, 95),
        nearestRank(sorted, 99), sorted[sorted.length - 1], Arrays.stream(sorted).average().orElseThrow());
  }

  /** The nearest-rank {@code percent}-th percentile of ascending {@code sorted} values. */
  static double nearestRank(double[] sorted, double percent) {
    if (percent <= 0 || percent > 100) {
      throw new IllegalArgumentException("percent must be in (0, 100]: " + percent);
    }
    int rank = (int) Math.ceil(percent / 100.0 * sorted.length);
    return sorted[Math.max(rank, 1) - 1];
  }
}
