package dev.oomwatch.bench;

import java.util.List;

/**
 * Which JVM and which jar run the agent in a steady-state row: the image's (JDK 17, the agent's jar) or a
 * candidate for it. Rows with an archive ({@link #archiveOptions}) are preceded by a training run of the
 * same agent on the same node that writes it at exit. Immutable.
 */
public enum AgentRuntime {
  JDK17_AGENT_JAR("JDK 17, agent jar", false, false, List.of(), List.of()),
  JDK17_SINGLE_JAR("JDK 17, the single jar of before the split (stand-in server, every fabric8 model)", false, true,
      List.of(), List.of()),
  JDK17_AGENT_JAR_APPCDS("JDK 17, agent jar, AppCDS archive", false, false, List.of(),
      List.of("-XX:ArchiveClassesAtExit=%s", "-XX:SharedArchiveFile=%s")),
  JDK25_AGENT_JAR("JDK 25, agent jar", true, false, List.of(), List.of()),
  JDK25_COMPACT_HEADERS("JDK 25, agent jar, compact object headers", true, false,
      List.of("-XX:+UseCompactObjectHeaders"), List.of()),
  JDK25_COMPACT_HEADERS_AOT("JDK 25, agent jar, compact object headers, AOT cache", true, false,
      List.of("-XX:+UseCompactObjectHeaders"), List.of("-XX:AOTCacheOutput=%s", "-XX:AOTCache=%s"));

  private final String label;
  private final boolean jdk25;
  private final boolean singleJar;
  private final List<String> extraOptions;
  private final List<String> archiveOptions;

  AgentRuntime(String label, boolean jdk25, boolean singleJar, List<String> extraOptions, List<String> archiveOptions) {
    this.label = label;
    this.jdk25 = jdk25;
    this.singleJar = singleJar;
    this.extraOptions = extraOptions;
    this.archiveOptions = archiveOptions;
  }

  public String label() {
    return label;
  }

  boolean needsJdk25() {
    return jdk25;
  }

  boolean needsSingleJar() {
    return singleJar;
  }

  /** Options beyond the row's JVM flags, in every run of this runtime (training and measured). */
  List<String> extraOptions() {
    return extraOptions;
  }

  boolean trains() {
    return !archiveOptions.isEmpty();
  }

  /** The training run's option that writes the archive at {@code archive}. */
  String trainingOption(String archive) {
    return String.format(archiveOptions.get(0), archive);
  }

  /** The measured run's option that maps the archive. */
  String archiveOption(String archive) {
    return String.format(archiveOptions.get(1), archive);
  }
}
