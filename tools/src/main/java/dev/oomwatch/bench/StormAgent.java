package dev.oomwatch.bench;

import dev.oomwatch.app.Agent;
import dev.oomwatch.app.AgentConfig;
import dev.oomwatch.app.ConfigLoader;
import dev.oomwatch.model.PodRef;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The storm's agent, in a JVM of its own like {@code agent}: the same {@link Agent}, configured from a
 * YAML file, with one more source, a {@link PacedKillSource} over the pods listed in a file
 * ({@code namespace name uid} per line). The storm starts when a line {@code go} arrives on standard
 * input. Runs until SIGTERM, or until its standard input ends (the bench is gone). Not for users: the
 * bench starts it.
 *
 * <pre>java -cp gvisor-oom-watcher.jar dev.oomwatch.bench.StormAgent CONFIG.yaml PODS.txt KILLS_PER_MINUTE SECONDS</pre>
 */
public final class StormAgent {
  private StormAgent() {}

  public static void main(String[] args) throws IOException {
    if (args.length != 4) {
      System.err.println("usage: StormAgent CONFIG.yaml PODS.txt KILLS_PER_MINUTE SECONDS");
      System.exit(2);
    }
    AgentConfig config = ConfigLoader.load(Optional.of(Path.of(args[0])), Map.of(), Map.of());
    List<PodRef> pods = Files.readAllLines(Path.of(args[1]), StandardCharsets.UTF_8).stream()
        .map(String::strip).filter(line -> !line.isEmpty())
        .map(line -> line.split(" "))
        .map(f -> new PodRef(f[0], f[1], f[2]))
        .toList();
    String bootId = Files.readString(config.bootIdPath()).strip();
    PacedKillSource storm = new PacedKillSource(pods, Integer.parseInt(args[2]),
        Duration.ofSeconds(Long.parseLong(args[3])), bootId);
    Agent agent = Agent.start(config, Clock.systemUTC(), List.of(storm));
    Runtime.getRuntime().addShutdownHook(new Thread(agent::close, "shutdown"));
    BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line = stdin.readLine(); line != null; line = stdin.readLine()) {
      if (line.strip().equals("go")) {
        System.err.println("storm: " + storm.planned() + " kills over " + args[3] + " s, starting now");
        storm.fire();
      }
    }
    // Standard input ended: the bench is gone (its JVM died without stopping this one). Stop too.
    System.exit(0);
  }
}
