package dev.oomwatch.app;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** The agent's version as the build wrote it into {@code dev/oomwatch/build.properties}. Stateless. */
final class BuildInfo {
  private BuildInfo() {}

  /** The version, or {@code unknown} when the resource is missing or unfilled (a build outside Maven). */
  static String version() {
    try (InputStream in = BuildInfo.class.getResourceAsStream("/dev/oomwatch/build.properties")) {
      if (in == null) {
        return "unknown";
      }
      Properties properties = new Properties();
      properties.load(in);
      String version = properties.getProperty("version", "unknown");
      return version.startsWith("${") ? "unknown" : version;
    } catch (IOException e) {
      return "unknown";
    }
  }
}
