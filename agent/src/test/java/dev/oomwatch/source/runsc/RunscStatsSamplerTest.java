package dev.oomwatch.source.runsc;

import static dev.oomwatch.source.runsc.RunscFixtures.V1_POD_UID;
import static dev.oomwatch.source.runsc.RunscFixtures.V1_SANDBOX_ID;
import static dev.oomwatch.source.runsc.RunscFixtures.V1_SENTRY_PID;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.metrics.AgentMetrics;
import dev.oomwatch.model.ContainerMemorySample;
import dev.oomwatch.model.Observation;
import dev.oomwatch.model.SandboxRef;
import dev.oomwatch.source.SourceHealth.State;
import dev.oomwatch.testing.Await;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link RunscStatsSampler} running stand-ins for runsc: shell scripts printing real output. */
class RunscStatsSamplerTest {

  private static final Instant NOW = Instant.parse("2026-11-28T12:00:00Z");
  private static final SandboxRef REF = new SandboxRef(V1_SANDBOX_ID, V1_POD_UID, "default",
      "oom-demo", OptionalLong.of(V1_SENTRY_PID), OptionalLong.empty(), Optional.empty());

  @TempDir Path dir;
  private final List<Observation> sunk = new ArrayList<>();

  private Path script(String body) throws IOException {
    Path script = dir.resolve("runsc-" + Math.abs(body.hashCode()));
    Files.writeString(script, "#!/bin/sh\n" + body + "\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
    return script;
  }

  /** A runsc that prints the real {@code events --stats} output of the sandbox or the container. */
  private Path fakeRunsc() throws IOException {
    Path sandbox = RunscFixtures.path(RunscFixtures.EVENTS_STATS_RUNNING);
    Path container = RunscFixtures.path(RunscFixtures.EVENTS_STATS);
    return script("""
        [ "$1" = --root ] && [ "$3" = events ] && [ "$4" = --stats ] || { echo "bad args: $*" >&2; exit 2; }
        case "$5" in
          %s) cat '%s' ;;
          c3) cat '%s' ;;
          *) echo "loading container \\"$5\\": file does not exist" >&2; exit 128 ;;
        esac""".formatted(V1_SANDBOX_ID, sandbox, container));
  }

  private static RunscStateFile file(String id, RunscStateFile.Kind kind, String name, String status) {
    return new RunscStateFile(id, V1_SANDBOX_ID, kind, Optional.ofNullable(name), Optional.empty(),
        Optional.of(V1_POD_UID), Optional.empty(), Optional.empty(), status,
        OptionalLong.of(V1_SENTRY_PID), OptionalLong.empty(), Optional.empty());
  }

  private static SandboxTracker.LiveSandbox single() {
    return new SandboxTracker.LiveSandbox(REF,
        List.of(file(V1_SANDBOX_ID, RunscStateFile.Kind.SANDBOX, null, "running")));
  }

  @Test
  void aSingleContainerSandboxIsSampledThroughItsSandboxId() {
    assertEquals(List.of(new RunscStatsSampler.Target(V1_SANDBOX_ID, V1_SANDBOX_ID,
            RunscStatsSampler.SANDBOX_CONTAINER_NAME)),
        RunscStatsSampler.targets(List.of(single()), true));
    assertEquals(List.of(), RunscStatsSampler.targets(List.of(single()), false),
        "by default a single-container sandbox is not sampled");
  }

  @Test
  void aMultiContainerSandboxIsSampledPerRunningAppContainer() {
    SandboxTracker.LiveSandbox pod = new SandboxTracker.LiveSandbox(REF, List.of(
        file(V1_SANDBOX_ID, RunscStateFile.Kind.SANDBOX, null, "running"),
        file("c3", RunscStateFile.Kind.CONTAINER, "web", "running"),
        file("c4", RunscStateFile.Kind.CONTAINER, null, "created"),
        file("c5", RunscStateFile.Kind.CONTAINER, "done", "stopped")));
    assertEquals(List.of(
        new RunscStatsSampler.Target(V1_SANDBOX_ID, "c3", "web"),
        new RunscStatsSampler.Target(V1_SANDBOX_ID, "c4", "c4")),
        RunscStatsSampler.targets(List.of(pod), false));
    SandboxTracker.LiveSandbox onlyOne = new SandboxTracker.LiveSandbox(REF, List.of(
        file(V1_SANDBOX_ID, RunscStateFile.Kind.SANDBOX, null, "running"),
        file("c3", RunscStateFile.Kind.CONTAINER, "web", "running"),
        file("c5", RunscStateFile.Kind.CONTAINER, "done", "stopped")));
    assertEquals(List.of(), RunscStatsSampler.targets(List.of(onlyOne), false));
    assertEquals(List.of(new RunscStatsSampler.Target(V1_SANDBOX_ID, "c3", "web")),
        RunscStatsSampler.targets(List.of(onlyOne), true));
  }

  @Test
  void samplesEachContainerFromWhatRunscPrints() throws Exception {
    RunscStatsSampler sampler = new RunscStatsSampler(fakeRunsc(), dir, Duration.ofSeconds(10), true);
    SandboxTracker.LiveSandbox pod = new SandboxTracker.LiveSandbox(REF, List.of(
        file("c3", RunscStateFile.Kind.CONTAINER, "web", "running")));

    RunscStatsSampler.Round round =
        sampler.sample(() -> NOW, List.of(single(), pod), ref -> true, sunk::add);

    assertEquals(new RunscStatsSampler.Round(2, 0, Optional.empty()), round);
    assertEquals(List.of(
        new ContainerMemorySample(V1_SANDBOX_ID, V1_SANDBOX_ID,
            RunscStatsSampler.SANDBOX_CONTAINER_NAME, 2547712, NOW),
        new ContainerMemorySample(V1_SANDBOX_ID, "c3", "web", 2027520, NOW)), sunk);
  }

  @Test
  void aContainerRunscDoesNotKnowIsAFailure() throws Exception {
    RunscStatsSampler sampler = new RunscStatsSampler(fakeRunsc(), dir, Duration.ofSeconds(10), true);
    SandboxTracker.LiveSandbox gone = new SandboxTracker.LiveSandbox(REF, List.of(
        file("c9", RunscStateFile.Kind.CONTAINER, "web", "running")));

    RunscStatsSampler.Round round =
        sampler.sample(() -> NOW, List.of(gone), ref -> true, sunk::add);

    assertEquals(1, round.failures());
    String problem = round.problem().orElseThrow();
    assertTrue(problem.contains("exited with status 128") && problem.contains("does not exist"),
        problem);
  }

  @Test
  void aSandboxThatStoppedMeanwhileIsNoFailure() throws Exception {
    RunscStatsSampler sampler = new RunscStatsSampler(fakeRunsc(), dir, Duration.ofSeconds(10), true);
    SandboxTracker.LiveSandbox gone = new SandboxTracker.LiveSandbox(REF, List.of(
        file("c9", RunscStateFile.Kind.CONTAINER, "web", "running"),
        file("c10", RunscStateFile.Kind.CONTAINER, "side", "running")));
    List<SandboxRef> asked = new ArrayList<>();

    RunscStatsSampler.Round round = sampler.sample(() -> NOW, List.of(gone),
        ref -> !asked.add(ref), sunk::add);

    assertEquals(new RunscStatsSampler.Round(0, 0, Optional.empty()), round);
    assertEquals(List.of(REF), asked, "its other containers are not tried");
  }

  @Test
  void oneFailureAmongSamplesIsNoProblem() throws Exception {
    RunscStatsSampler sampler = new RunscStatsSampler(fakeRunsc(), dir, Duration.ofSeconds(10), true);
    SandboxTracker.LiveSandbox gone = new SandboxTracker.LiveSandbox(REF, List.of(
        file("c9", RunscStateFile.Kind.CONTAINER, "web", "running")));
    RunscStatsSampler.Round round =
        sampler.sample(() -> NOW, List.of(single(), gone), ref -> true, sunk::add);
    assertEquals(new RunscStatsSampler.Round(1, 1, Optional.empty()), round);
  }

  @Test
  void aHangingRunscIsKilledAtTheTimeout() throws Exception {
    RunscStatsSampler sampler = new RunscStatsSampler(script("exec sleep 30"), dir,
        Duration.ofMillis(300), true);
    long started = System.nanoTime();

    RunscStatsSampler.Round round =
        sampler.sample(() -> NOW, List.of(single()), ref -> true, sunk::add);

    Duration took = Duration.ofNanos(System.nanoTime() - started);
    assertTrue(round.problem().orElseThrow().contains("did not finish within 300 ms"),
        round.toString());
    assertTrue(took.compareTo(Duration.ofSeconds(5)) < 0, "took " + took);
  }

  @Test
  void garbageOutputIsAFailure() throws Exception {
    RunscStatsSampler sampler = new RunscStatsSampler(script("echo '{\"type\":\"stats\"'"), dir,
        Duration.ofSeconds(10), true);
    RunscStatsSampler.Round round =
        sampler.sample(() -> NOW, List.of(single()), ref -> true, sunk::add);
    assertTrue(round.problem().orElseThrow().contains("printed no memory usage"), round.toString());
  }

  @Test
  void aMissingBinarySaysWhatToDoAndStopsTheRound() throws Exception {
    RunscStatsSampler sampler = new RunscStatsSampler(dir.resolve("no-runsc"), dir,
        Duration.ofSeconds(10), true);
    RunscStatsSampler.Round round =
        sampler.sample(() -> NOW, List.of(single(), single()), ref -> true, sunk::add);
    assertEquals(1, round.failures());
    assertTrue(round.problem().orElseThrow().contains("cannot run"), round.toString());
  }

  @Test
  void nothingLiveRunsNothing() throws Exception {
    RunscStatsSampler sampler = new RunscStatsSampler(dir.resolve("no-runsc"), dir,
        Duration.ofSeconds(10), true);
    assertEquals(new RunscStatsSampler.Round(0, 0, Optional.empty()),
        sampler.sample(() -> NOW, List.of(), ref -> true, sunk::add));
  }

  @Test
  void theSourceSamplesLiveSandboxes() throws Exception {
    FakeProc proc = new FakeProc(Files.createDirectories(dir.resolve("proc")))
        .running(V1_SENTRY_PID, 1);
    Path root = Files.createDirectories(dir.resolve("root"));
    Files.write(root.resolve(new StateFileName(V1_SANDBOX_ID, V1_SANDBOX_ID).fileName()),
        RunscFixtures.bytes(RunscFixtures.STATE_FILE));
    List<Observation> observations = new CopyOnWriteArrayList<>();
    try (RunscStateSource source = RunscStateSource.builder()
        .runscRoot(root).procRoot(proc.root()).runscBinary(fakeRunsc()).sampleEverySandbox(true)
        .pollInterval(Duration.ofMillis(10)).statsInterval(Duration.ofMillis(50))
        .build()) {
      source.start(observations::add);
      Await.orFail("two samples", () -> source.stats().memorySamples() >= 2);
      assertTrue(source.health().live(), source.health().toString());
      assertTrue(source.health().detail().contains("runsc events --stats"), source.health().detail());
    }
    ContainerMemorySample sample = observations.stream()
        .filter(ContainerMemorySample.class::isInstance).map(ContainerMemorySample.class::cast)
        .findFirst().orElseThrow();
    assertEquals(2547712, sample.usageBytes());
    assertEquals(V1_SANDBOX_ID, sample.containerId());
  }

  @Test
  void eachSampledContainerIsASeriesUntilItsSandboxGoes() throws Exception {
    FakeProc proc = new FakeProc(Files.createDirectories(dir.resolve("proc")))
        .running(V1_SENTRY_PID, 1);
    Path root = Files.createDirectories(dir.resolve("root"));
    Path state = root.resolve(new StateFileName(V1_SANDBOX_ID, V1_SANDBOX_ID).fileName());
    Files.write(state, RunscFixtures.bytes(RunscFixtures.STATE_FILE));
    AgentMetrics metrics = new AgentMetrics();
    try (RunscStateSource source = RunscStateSource.builder()
        .runscRoot(root).procRoot(proc.root()).runscBinary(fakeRunsc()).sampleEverySandbox(true)
        .pollInterval(Duration.ofMillis(10)).statsInterval(Duration.ofMillis(50))
        .build()) {
      source.registerMetrics(metrics);
      source.start(observation -> { });
      Await.orFail("a container series", () -> exposition(metrics).contains("oomwatch_container_memory_usage_bytes{"));
      String line = exposition(metrics).lines().filter(l -> l.startsWith("oomwatch_container_memory_usage_bytes{"))
          .findFirst().orElseThrow();
      assertTrue(line.contains("container=\"" + RunscStatsSampler.SANDBOX_CONTAINER_NAME + "\"") && line.endsWith(" 2547712.0"),
          line);
      Files.delete(state);
      proc.gone(V1_SENTRY_PID);
      Await.orFail("the series gone with the sandbox",
          () -> !exposition(metrics).contains("oomwatch_container_memory_usage_bytes{"));
    }
  }

  private static String exposition(AgentMetrics metrics) {
    return metrics.text();
  }

  @Test
  void theSourceSaysWhenTheBinaryFails() throws Exception {
    FakeProc proc = new FakeProc(Files.createDirectories(dir.resolve("proc")))
        .running(V1_SENTRY_PID, 1);
    Path root = Files.createDirectories(dir.resolve("root"));
    Files.write(root.resolve(new StateFileName(V1_SANDBOX_ID, V1_SANDBOX_ID).fileName()),
        RunscFixtures.bytes(RunscFixtures.STATE_FILE));
    try (RunscStateSource source = RunscStateSource.builder()
        .runscRoot(root).procRoot(proc.root()).runscBinary(dir.resolve("no-runsc"))
        .sampleEverySandbox(true)
        .pollInterval(Duration.ofMillis(10)).statsInterval(Duration.ofMillis(50))
        .build()) {
      source.start(observation -> { });
      Await.orFail("health FAILED", () -> source.health().state() == State.FAILED);
      assertTrue(source.health().detail().contains("cannot run"), source.health().detail());
      assertTrue(source.stats().memorySampleFailures() >= 1);
    }
  }
}
