package dev.oomwatch.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.oomwatch.bench.BenchPlan.LatencyMode;
import dev.oomwatch.bench.BenchResult.ApiRate;
import dev.oomwatch.bench.BenchResult.LatencyResult;
import dev.oomwatch.bench.BenchResult.Machine;
import dev.oomwatch.bench.BenchResult.OomSample;
import dev.oomwatch.bench.BenchResult.SteadyResult;
import dev.oomwatch.bench.BenchResult.StormResult;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The statistics, the target checks, the tables and the JSON, from made-up measurements. */
class MarkdownReportTest {
  private static final Machine MACHINE = new Machine("AMD EPYC", 2, 23.5, "6.18.44", "Debian GNU/Linux 12 (bookworm)",
      "OpenJDK 64-Bit Server VM 17.0.15", "runsc version 0.0~20221219.0", "v1", "0.50 0.40 0.30", "0.60 0.50 0.40");

  private static List<OomSample> samples(int n, double fromMs) {
    return IntStream.range(0, n).mapToObj(i -> new OomSample("p" + i, "exe", 100 + i, fromMs + i * 10, 5.0 + i,
        "Confirmed", "kmsg")).toList();
  }

  private static BenchResult result() {
    LatencyResult kmsg = LatencyResult.of(new LatencyMode(true, Duration.ofSeconds(1), 20), samples(20, 60), List.of());
    LatencyResult cgroup = LatencyResult.of(new LatencyMode(false, Duration.ofSeconds(1), 20), samples(19, 1400),
        List.of("p19: no OOMKilled Event within 33 s"));
    LatencyResult slow = LatencyResult.of(new LatencyMode(false, Duration.ofSeconds(5), 10), samples(10, 2000), List.of());
    ApiRate quiet = new ApiRate(0, 0, 0, 0, Map.of());
    SteadyResult chart = new SteadyResult("chart JVM flags, 1 s cgroup poll", "chart", Bench.CHART_JVM_OPTIONS, 1000, 110,
        15, 60, 0.8, 1400.0, 5, 127, 100, 128, 130, 38, 38, 1.0, quiet, 9, 4, "ready");
    SteadyResult defaults = new SteadyResult("default JVM flags, 1 s cgroup poll", "default", "", 1000, 110, 15, 60, 1.6,
        1500.0, 1, 200, 170, 201, 210, 44, 44, 1.0, new ApiRate(1, 0, 1, 0, Map.of("list pods", 1.0, "watch pods", 1.0)),
        9, 5, "ready");
    StormResult storm = new StormResult(1000, 60, 1000, 1000, 990, 110, 25.0, 3.0, 150, 90, 990, 990, 110, 880, 990,
        new ApiRate(2000, 3900, 0, 0, Map.of()), 990, 1000, 62.0, 1000);
    return new BenchResult("java -jar target/gvisor-oom-watcher.jar bench", "2026-11-28T15:00:00Z", 700, MACHINE,
        Map.of("steadyPods", 110), List.of(kmsg, cgroup, slow), List.of(chart, defaults), storm,
        Bench.targets(List.of(kmsg, cgroup, slow), List.of(chart, defaults), storm), List.of("a note"));
  }

  @Test
  void latencyStatisticsAndTargets() {
    BenchResult result = result();
    LatencyResult kmsg = result.latency().get(0);
    assertEquals(60 + 9 * 10, kmsg.killToEventMs().p50());
    assertEquals(60 + 19 * 10, kmsg.killToEventMs().p99());
    assertEquals(Boolean.TRUE, kmsg.met(), "p99 250 ms meets 250 ms");
    assertEquals(Map.of("Confirmed", 20L), kmsg.verdicts());
    LatencyResult cgroup = result.latency().get(1);
    assertEquals(Boolean.FALSE, cgroup.met(), "an OOM without an Event misses the target whatever the others did");
    assertEquals(null, result.latency().get(2).met(), "no target at a 5 s poll");
  }

  @Test
  void theTablesSayWhatWasMissedPlainly() {
    String md = MarkdownReport.render(result());
    assertTrue(md.startsWith("Measured with `java -jar target/gvisor-oom-watcher.jar bench` on 2026-11-28"), md);
    assertTrue(md.contains("| CPU | AMD EPYC, 2 cores |"), md);
    assertTrue(md.contains("| kmsg, 1 s cgroup poll | 20/20 | 150 ms | 240 ms | 250 ms | 250 ms | 14 ms / 24 ms |"), md);
    assertTrue(md.contains("| cgroup-only, 1 s cgroup poll | 19/20 |"), md);
    assertTrue(md.contains("p99 ≤ 1.50 s: **MISSED**"), md);
    assertTrue(md.contains("| chart JVM flags, 1 s cgroup poll | 0.80 % | 1400 KiB/s (5 GCs) | 127 / 128 MiB (100 anon) |"), md);
    assertTrue(md.contains("RSS ≤ 96 MiB: **MISSED**"), md);
    assertTrue(md.contains("| default JVM flags, 1 s cgroup poll | 1.60 % |"), md);
    assertTrue(md.contains("| 0 / 0 / 0 (4 watches held; 9 requests at start) |"), md);
    assertTrue(md.contains("CPU < 1 % of one core: **MISSED**"), md);
    assertTrue(md.contains("| 1000 (1000 / 1000) | 25.0 % / 3.0 % | 150 MiB | 90 | 990 | 110 + 880 | 990 | 990 |"), md);
    assertTrue(md.contains("| API at steady state: no writes, watches only (default JVM flags, 1 s cgroup poll) |"
        + " 1 reads, 0 writes, 1 new watches a minute | **MISSED** |"), md);
    assertFalse(md.contains("NaN"), md);
    // every table row has as many cells as its header
    for (String block : md.split("\n\n")) {
      List<String> rows = block.lines().filter(l -> l.startsWith("|")).toList();
      if (!rows.isEmpty()) {
        long cells = rows.get(0).chars().filter(c -> c == '|').count();
        rows.forEach(r -> assertEquals(cells, r.replace("\\|", "").chars().filter(c -> c == '|').count(), r));
      }
    }
  }

  @Test
  void aStormTheAgentKeptUpWithHadNothingToDrain() {
    StormResult keptUp = new StormResult(1000, 60, 1000, 1000, 998, 110, 19.0, null, 154, 89, 1000, 1000, 110, 890,
        1000, new ApiRate(3890, 4000, 0, 0, Map.of()), 998, 1000, 60.0, 1000);
    BenchResult r = result();
    String md = MarkdownReport.render(new BenchResult(r.command(), r.startedAt(), r.tookSeconds(), r.machine(), r.plan(),
        List.of(), List.of(), keptUp, List.of(), List.of()));
    assertTrue(md.contains("| 1000 (1000 / 1000) | 19.0 % / – | 154 MiB | 89 |"), md);
    assertTrue(md.contains("| by the storm's end (it kept up) |"), md);
  }

  @Test
  void theJsonHoldsTheSameNumbers() throws Exception {
    ObjectMapper json = new ObjectMapper();
    JsonNode tree = json.readTree(json.writeValueAsString(result()));
    assertEquals(250.0, tree.at("/latency/0/killToEventMs/p99").asDouble());
    assertEquals("p99 <= 250 ms", tree.at("/latency/0/target").asText());
    assertTrue(tree.at("/latency/2/met").isNull());
    assertEquals(127.0, tree.at("/steady/0/rssMiBAtEnd").asDouble());
    assertEquals(1000, tree.at("/storm/killsDetected").asLong());
    assertEquals("AMD EPYC", tree.at("/machine/cpuModel").asText());
    assertTrue(tree.at("/targets").size() >= 8);
  }
}
