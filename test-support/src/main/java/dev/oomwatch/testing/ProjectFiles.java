package dev.oomwatch.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the repository's own files are for a test, whichever module it runs in: the chart, the committed
 * CRDs, the Dockerfile, the scripts and the fixtures. Maven passes the root as {@code oomwatch.projectDir};
 * an IDE run finds it by walking up from the working directory to the folder that holds {@code charts/}.
 * Stateless; thread-safe.
 */
public final class ProjectFiles {
  private ProjectFiles() {}

  /** The repository's root folder, absolute and normalized. */
  public static Path root() {
    String configured = System.getProperty("oomwatch.projectDir");
    if (configured != null) {
      return Path.of(configured).toAbsolutePath().normalize();
    }
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.isDirectory(dir.resolve("charts")) && Files.isRegularFile(dir.resolve("pom.xml"))) {
        return dir;
      }
    }
    throw new IllegalStateException("no repository root above " + Path.of("").toAbsolutePath()
        + " (a folder with charts/ and pom.xml); run the tests with Maven or set -Doomwatch.projectDir");
  }

  /** {@code relative} under the repository's root. */
  public static Path resolve(String relative) {
    return root().resolve(relative);
  }

  /**
   * The agent's jar as the build packages it and the image ships it: {@code oomwatch.agentJar} when Maven
   * passes it, else {@code target/gvisor-oom-watcher.jar} under the root. Absolute and normalized.
   */
  public static Path agentJar() {
    String configured = System.getProperty("oomwatch.agentJar");
    Path jar = configured != null ? Path.of(configured) : root().resolve("target/gvisor-oom-watcher.jar");
    return jar.toAbsolutePath().normalize();
  }

  /** A file of the agent's test fixtures ({@code agent/src/test/resources}), for tests of other modules. */
  public static Path agentFixture(String relative) {
    return root().resolve("agent/src/test/resources").resolve(relative);
  }
}
