package dev.oomwatch.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * What the bench runs the agent from: the agent's jar (as the image ships it), optionally the single jar
 * of before the module split (to compare with), and optionally a JDK 25 (for its runtime candidates).
 * Immutable; thread-safe.
 *
 * @param agentJar  {@code target/gvisor-oom-watcher.jar}
 * @param singleJar the jar built from the commit before the split, if given ({@code --single-jar})
 * @param jdk25     a JDK 25's home, if there is one ({@code --jdk25}; default {@code /usr/lib/jvm/temurin-25-jdk-amd64})
 */
public record AgentJars(Path agentJar, Optional<Path> singleJar, Optional<Path> jdk25) {
  /** Where the build puts the agent's jar, relative to the repository root (the bench command's default). */
  public static final String DEFAULT_AGENT_JAR = "target/gvisor-oom-watcher.jar";
  /** Where Debian's Temurin 25 package installs it (the bench command's default). */
  public static final String DEFAULT_JDK25 = "/usr/lib/jvm/temurin-25-jdk-amd64";

  /** Why {@code runtime} cannot be measured here, if it cannot. */
  Optional<String> missingFor(AgentRuntime runtime) {
    if (!Files.isRegularFile(agentJar)) {
      return Optional.of("no agent jar at " + agentJar + " (mvn package)");
    }
    if (runtime.needsSingleJar() && singleJar.filter(Files::isRegularFile).isEmpty()) {
      return Optional.of("no --single-jar given (the jar of the commit before the module split)");
    }
    if (runtime.needsJdk25() && jdk25.filter(j -> Files.isExecutable(j.resolve("bin/java"))).isEmpty()) {
      return Optional.of("no JDK 25 (--jdk25)");
    }
    return Optional.empty();
  }

  Path java(AgentRuntime runtime) {
    Path home = runtime.needsJdk25() ? jdk25.orElseThrow() : Path.of(System.getProperty("java.home"));
    return home.resolve("bin").resolve("java");
  }

  Path jar(AgentRuntime runtime) {
    return runtime.needsSingleJar() ? singleJar.orElseThrow() : agentJar;
  }

  /** The single jar's entry point was {@code dev.oomwatch.app.Main}; the agent jar's is the CLI package's. */
  String mainClass(AgentRuntime runtime) {
    return runtime.needsSingleJar() ? "dev.oomwatch.app.Main" : "dev.oomwatch.cli.Main";
  }
}
