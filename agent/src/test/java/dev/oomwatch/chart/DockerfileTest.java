package dev.oomwatch.chart;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The image's Dockerfile (no Docker engine runs here, so it is linted and read, not built):
 * clean under dockerfilelint, multi-stage, non-root by default, and carrying the same JVM flags and jar
 * path as the chart.
 */
class DockerfileTest {
  private static final Path DOCKERFILE = ChartTools.projectDir().resolve("Dockerfile");

  @Test
  void dockerfilelintFindsNothing() throws IOException {
    ChartTools.require("dockerfilelint", "--version");
    ChartTools.Result lint = ChartTools.run(List.of("dockerfilelint", "-o", "json", DOCKERFILE.toString()),
        ChartTools.projectDir());

    JsonNode report = new ObjectMapper().readTree(lint.stdout());
    assertEquals(0, report.path("files").path(0).path("issues_count").asInt(-1), lint.both());
    assertTrue(lint.ok(), lint.both());
  }

  @Test
  void dockerfilelintReallyLints() throws IOException {
    ChartTools.require("dockerfilelint", "--version");
    Path bad = dev.oomwatch.testing.ProjectFiles.agentFixture("chart/Dockerfile.bad");
    ChartTools.Result lint = ChartTools.run(List.of("dockerfilelint", "-o", "json", bad.toString()),
        ChartTools.projectDir());

    assertFalse(lint.ok(), lint.both());
    assertTrue(new ObjectMapper().readTree(lint.stdout()).path("files").path(0).path("issues_count").asInt() >= 2,
        lint.both());
  }

  @Test
  void aMavenStageBuildsTheJarAndASlimJreRunsItAsNobody() throws IOException {
    String dockerfile = Files.readString(DOCKERFILE);

    assertTrue(dockerfile.contains("FROM maven:3-eclipse-temurin-17 AS build"), dockerfile);
    assertTrue(dockerfile.contains("RUN mvn -B -pl agent -am -DskipTests package"), dockerfile);
    assertTrue(dockerfile.contains("FROM eclipse-temurin:17-jre\n"), dockerfile);
    assertTrue(dockerfile.contains("COPY --from=build /src/target/gvisor-oom-watcher.jar /app/gvisor-oom-watcher.jar"));
    assertTrue(dockerfile.contains("USER 65532:65532"), "a numeric non-root user (kubelet checks runAsNonRoot on it)");
    assertTrue(dockerfile.contains("ENTRYPOINT [\"java\", \"-jar\", \"/app/gvisor-oom-watcher.jar\"]"));
    assertTrue(dockerfile.contains("CMD [\"agent\"]"));
    String ignore = Files.readString(ChartTools.projectDir().resolve(".dockerignore"));
    assertTrue(ignore.lines().anyMatch("*"::equals) && ignore.contains("!pom.xml") && ignore.contains("!agent/src/")
        && ignore.lines().noneMatch(l -> l.startsWith("!tools/src")),
        "the build context is the poms and the sources of model, test-support and agent only (no target*/"
            + " folders, no tools): " + ignore);
    assertTrue(dockerfile.lines().filter(l -> l.startsWith("COPY --from=build")).allMatch(l -> l.contains(" /src/target/gvisor-oom-watcher.jar ")),
        "the image copies nothing but the agent's jar from the build stage");
  }

  @Test
  void theImageAndTheChartSetTheSameJvmFlags() throws IOException {
    Matcher env = Pattern.compile("(?m)^ENV JDK_JAVA_OPTIONS=\"([^\"]*)\"$").matcher(Files.readString(DOCKERFILE));
    assertTrue(env.find(), "the Dockerfile sets no JDK_JAVA_OPTIONS");
    String chart = new ObjectMapper(new YAMLFactory())
        .readTree(ChartTools.chartDir().resolve("values.yaml").toFile()).path("jvmOptions").asText();

    assertEquals(normalized(env.group(1)), normalized(chart), "Dockerfile and values.yaml jvmOptions differ");
    assertTrue(chart.contains("-XX:+UseSerialGC") && chart.contains("-Xmx"), chart);
  }

  private static String normalized(String flags) {
    return String.join(" ", flags.trim().split("\\s+"));
  }
}
