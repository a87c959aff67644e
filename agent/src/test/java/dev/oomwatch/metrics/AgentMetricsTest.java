package dev.oomwatch.metrics;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The labelled counters a dashboard or alert takes {@code increase()} of exist at 0 before their first
 * increment: a series born with its first kill or warning would hide that increment from {@code increase()}.
 */
class AgentMetricsTest {
  @Test
  void everyKnownLabelStartsAtZero() throws IOException {
    AgentMetrics metrics = new AgentMetrics();
    metrics.refusalReasons(List.of("ForeignNode"));
    metrics.reportOutcomes(List.of("Reported", "Failed"));
    metrics.warningReasons(List.of("NearOOM", "MemoryLimitNotEnforced"));

    String text = metrics.text();

    for (String series : List.of(
        "oomwatch_incidents_detected_total{verdict=\"Confirmed\"} 0.0",
        "oomwatch_incidents_reported_total{outcome=\"Reported\"} 0.0",
        "oomwatch_incidents_reported_total{outcome=\"Failed\"} 0.0",
        "oomwatch_warnings_total{reason=\"NearOOM\"} 0.0",
        "oomwatch_warnings_total{reason=\"MemoryLimitNotEnforced\"} 0.0")) {
      assertTrue(text.lines().anyMatch(series::equals), () -> series + " missing from:\n" + text);
    }
    assertTrue(text.contains("reason=\"ForeignNode\"} 0.0"), text);
  }
}
