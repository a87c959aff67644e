package dev.oomwatch.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.oomwatch.bench.BenchPlan.JvmFlags;
import dev.oomwatch.bench.BenchPlan.LatencyMode;
import dev.oomwatch.bench.BenchPlan.Phase;
import dev.oomwatch.bench.BenchPlan.SteadyConfig;
import dev.oomwatch.lab.SandboxTestSupport;
import dev.oomwatch.testing.ProjectFiles;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Keeps the bench working, with tiny numbers (no time is asserted: the bench reports, it does not
 * judge): real runsc OOMs measured in both modes, and a steady state and a storm on a node of 3 pods.
 */
@Tag("sandbox")
class BenchSmokeTest {
  @TempDir Path dir;

  @Test
  void latencyOfRealSandboxOoms() throws Exception {
    SandboxTestSupport.requirePrerequisites(true);
    BenchPlan plan = new BenchPlan(Set.of(Phase.LATENCY),
        List.of(new LatencyMode(true, Duration.ofSeconds(1), 2), new LatencyMode(false, Duration.ofMillis(250), 1)),
        0, List.of(), Duration.ZERO, Duration.ZERO, 0, Duration.ZERO);
    JsonNode result = run(plan);

    JsonNode kmsg = result.at("/latency/0");
    assertEquals(2, kmsg.path("oomsMeasured").asInt(), kmsg.toString());
    assertTrue(kmsg.at("/killToEventMs/p50").asDouble() > 0, "the Event comes after the kill: " + kmsg);
    assertTrue(kmsg.at("/samples/0/evidence").asText().contains("kmsg"), kmsg.toString());
    assertEquals("Confirmed", kmsg.at("/samples/0/verdict").asText());
    assertEquals("exe", kmsg.at("/samples/0/victim").asText(), "the kernel killed a sentry");
    JsonNode cgroup = result.at("/latency/1");
    assertEquals(1, cgroup.path("oomsMeasured").asInt(), cgroup.toString());
    assertTrue(cgroup.at("/samples/0/evidence").asText().contains("cgroup"), cgroup.toString());
    assertTrue(!cgroup.at("/samples/0/evidence").asText().contains("kmsg"), "kmsg is off: " + cgroup);
  }

  @Test
  void steadyStateAndStormOnASmallNode() throws Exception {
    SandboxTestSupport.requirePrerequisites(true);
    BenchPlan plan = new BenchPlan(Set.of(Phase.STEADY, Phase.STORM), List.of(), 3,
        List.of(new SteadyConfig(JvmFlags.CHART, Duration.ofSeconds(1)),
            new SteadyConfig(JvmFlags.CHART, Duration.ofSeconds(1), false)), Duration.ofSeconds(1), Duration.ofSeconds(3),
        600, Duration.ofSeconds(3));
    JsonNode result = run(plan);

    JsonNode steady = result.at("/steady/0");
    assertEquals(3, steady.path("pods").asInt());
    assertTrue(steady.path("rssMiBAtEnd").asDouble() > 10 && steady.path("threadsAtEnd").asInt() > 5, steady.toString());
    assertTrue(steady.path("cpuPercentOfOneCore").asDouble() >= 0, steady.toString());
    assertEquals(0.0, steady.at("/api/writesPerMinute").asDouble(), "nothing happened, nothing written: " + steady);
    assertTrue(steady.path("readiness").asText().contains("source cgroup: LIVE"), steady.toString());
    assertTrue(steady.path("readiness").asText().contains("3 live sandboxes"), "the runsc state files are read: " + steady);
    JsonNode unprivileged = result.at("/steady/1");
    assertTrue(unprivileged.path("readiness").asText().contains("source kmsg: DISABLED"), unprivileged.toString());
    assertTrue(!unprivileged.path("readiness").asText().contains("3 live sandboxes"), unprivileged.toString());
    JsonNode storm = result.path("storm");
    assertEquals(30, storm.path("kills").asLong(), "600 a minute for 3 s");
    assertEquals(30, storm.path("killsDetected").asLong(), storm.toString());
    assertEquals(30, storm.path("incidentsReported").asLong(), storm.toString());
    assertEquals(30, storm.path("eventCountsTotal").asLong(), "every kill counted once in its pod's Event series");
    assertTrue(storm.at("/api/perMinuteByCall/create oomincidents").asDouble() > 0, storm.toString());
  }

  private JsonNode run(BenchPlan plan) throws Exception {
    ByteArrayOutputStream output = new ByteArrayOutputStream();
    Path json = dir.resolve("results.json");
    // the agent's jar as `mvn verify` packaged it (the agent module is built before this one)
    AgentJars jars = new AgentJars(ProjectFiles.agentJar(),
        java.util.Optional.empty(), java.util.Optional.empty());
    assertTrue(Files.isRegularFile(jars.agentJar()), "no agent jar at " + jars.agentJar() + ": run `mvn verify`");
    int exit = new Bench(plan, jars, new PrintStream(output, true, StandardCharsets.UTF_8), json, "bench (test)").run();
    String printed = output.toString(StandardCharsets.UTF_8);
    assertEquals(0, exit, printed);
    assertTrue(Files.exists(dir.resolve("results.md")), printed);
    assertTrue(printed.contains("Measured with `bench (test)`"), printed);
    return new ObjectMapper().readTree(json.toFile());
  }
}
