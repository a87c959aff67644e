package dev.oomwatch.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.oomwatch.testing.ProjectFiles;
import org.junit.jupiter.api.Test;

/** The bench measures the chart's JVM flags: the ones in values.yaml, not a copy that drifted. */
class ChartJvmOptionsTest {
  @Test
  void theBenchsChartFlagsAreTheChartsJvmOptions() throws Exception {
    String chart = new ObjectMapper(new YAMLFactory())
        .readTree(ProjectFiles.resolve("charts/gvisor-oom-watcher/values.yaml").toFile()).path("jvmOptions").asText();
    assertEquals(chart.strip().replaceAll("\\s+", " "), Bench.CHART_JVM_OPTIONS);
  }
}
