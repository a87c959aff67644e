package dev.oomwatch.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.oomwatch.crd.OOMIncidentStatus;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.testing.AgentProcess;
import dev.oomwatch.testing.Await;
import dev.oomwatch.testing.DemoEnvironment;
import dev.oomwatch.testing.KernelLogs;
import dev.oomwatch.testing.ProjectFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's packaged jar, as the image ships it (Failsafe, after {@code package}): what it holds, and what
 * it loads in a real run.
 *
 * <p>Contents: none of the stand-in API server's classes (Vert.x, Netty, BouncyCastle, fabric8's mock web
 * server), none of the tools' or the test support's, and at most 15 MB.
 *
 * <p>A real run: the jar started with {@code java -jar}, the chart's {@code jvmOptions} and
 * {@code -Xlog:class+load}, against the stand-in API server, reports a kill from the real kernel-log
 * fixture on a gVisor pod (incident, reconcile, Event, condition), answers {@code /metrics},
 * {@code /healthz} and {@code /readyz}, and stops on SIGTERM. Every class it loaded from a jar came from
 * the agent's jar, no class was missing, and the loaded classes per package are written to
 * {@code target/agent-class-loads.txt} beside how many the jar holds: the list that shows what trimming the
 * classpath may still take away.
 */
class AgentJarIT {
  private static final long MAX_JAR_BYTES = 15L * 1000 * 1000;
  private static final List<String> FORBIDDEN = List.of("io/vertx/", "io/netty/", "org/bouncycastle/",
      "io/fabric8/mockwebserver/", "io/fabric8/kubernetes/client/server/mock/", "dev/oomwatch/demo/",
      "dev/oomwatch/bench/", "dev/oomwatch/lab/", "dev/oomwatch/testing/", "dev/oomwatch/tools/", "org/junit/");
  private static final Duration DEADLINE = Duration.ofSeconds(120);
  private static final String NODE = "jar-node";
  /** {@code [0.123s][info][class,load] a.b.C source: file:/x/y.jar} */
  private static final Pattern LOADED = Pattern.compile("\\[class,load\\] (\\S+) source: (.*)$");

  private final Path agentJar = ProjectFiles.agentJar();
  private final Path buildDir = Path.of(System.getProperty("oomwatch.buildDir", "target")).toAbsolutePath();

  @TempDir Path dir;
  private DemoEnvironment env;
  private AgentProcess agent;

  @AfterEach
  void tearDown() throws InterruptedException {
    if (agent != null) {
      agent.close();
    }
    if (env != null) {
      env.close();
    }
  }

  @Test
  void theJarHoldsTheAgentAndNothingOfTheStandIns() throws IOException {
    assertTrue(Files.isRegularFile(agentJar), "no agent jar at " + agentJar + ": run `mvn verify`");
    List<String> forbidden;
    try (ZipFile jar = new ZipFile(agentJar.toFile())) {
      forbidden = jar.stream().map(ZipEntry::getName)
          .filter(name -> FORBIDDEN.stream().anyMatch(name::startsWith)).limit(20).toList();
    }
    assertEquals(List.of(), forbidden, "the agent's jar holds classes that must not run on a node");
    long size = Files.size(agentJar);
    assertTrue(size <= MAX_JAR_BYTES, "the agent's jar is " + size + " bytes, more than " + MAX_JAR_BYTES);
  }

  @Test
  void aRealRunLoadsOnlyTheJarsOwnClassesAndNoneIsMissing() throws Exception {
    Path classLog = dir.resolve("class-load.log");
    List<String> jvmOptions = new java.util.ArrayList<>(chartJvmOptions());
    jvmOptions.add("-Xlog:class+load=info:file=" + classLog);
    env = DemoEnvironment.withoutAgent(NODE);
    PodRef pod = env.cluster().createRunningPod("tenant", "victim", NODE, DemoEnvironment.RUNTIME_CLASS, "app", "64Mi");
    Path log = dir.resolve("agent.log");
    agent = AgentProcess.startJar(agentJar, jvmOptions, List.of("--node-name", NODE,
        "--kubeconfig", env.cluster().kubeconfig().toString(), "--kmsg", KernelLogs.sandboxOomOf(pod, dir).toString(),
        "--runsc-root", env.runscRoot().toString(), "--runtime-handler", DemoEnvironment.HANDLER), log);
    assertTrue(agent.awaitReady(DEADLINE), "agent not ready: " + agent.readiness() + "\n" + agent.log());
    assertTrue(Await.until(() -> reported(pod), DEADLINE, Duration.ofMillis(200)), "kill not reported:\n" + agent.log());
    assertTrue(Await.until(() -> env.cluster().events(pod).stream().anyMatch(e -> "OOMKilled".equals(e.getReason())),
        DEADLINE, Duration.ofMillis(200)), "no OOMKilled Event:\n" + agent.log());
    assertTrue(agent.fetch("/metrics").startsWith("200 "), "no /metrics");
    assertTrue(agent.fetch("/healthz").startsWith("200 "), "not healthy");
    agent.close();
    String output = agent.log();
    agent = null;

    Map<String, String> loaded = loadedClasses(classLog);
    Set<String> inJar = classesIn(agentJar);
    String jarSource = "file:" + agentJar;
    List<String> fromElsewhere = loaded.entrySet().stream()
        .filter(e -> e.getValue().startsWith("file:") && !e.getValue().equals(jarSource))
        .map(e -> e.getKey() + " from " + e.getValue()).limit(20).toList();
    List<String> notInJar = loaded.entrySet().stream().filter(e -> e.getValue().equals(jarSource))
        .map(Map.Entry::getKey).filter(name -> !inJar.contains(name)).limit(20).toList();
    writeReport(loaded, inJar, jarSource);

    assertTrue(loaded.keySet().stream().anyMatch(n -> n.startsWith("dev.oomwatch.operator.")),
        "the class-load log shows no reconciler: " + classLog);
    assertEquals(List.of(), fromElsewhere, "classes loaded from outside the agent's jar");
    assertEquals(List.of(), notInJar);
    for (String missing : List.of("NoClassDefFoundError", "ClassNotFoundException")) {
      assertTrue(!output.contains(missing), "the agent's log names a " + missing + ":\n" + output);
    }
  }

  /**
   * {@code --log-format json} on the packaged jar: every line the agent writes while it reports a kill
   * and stops is one JSON object with the documented fields (the JVM launcher's own
   * {@code NOTE: Picked up JDK_JAVA_OPTIONS} line, printed before any Java code runs, is the one exception).
   */
  @Test
  void jsonLogLinesAreOneObjectEach() throws Exception {
    env = DemoEnvironment.withoutAgent(NODE);
    PodRef pod = env.cluster().createRunningPod("tenant", "victim", NODE, DemoEnvironment.RUNTIME_CLASS, "app", "64Mi");
    agent = AgentProcess.startJar(agentJar, chartJvmOptions(), List.of("--log-format", "json", "--node-name", NODE,
        "--kubeconfig", env.cluster().kubeconfig().toString(), "--kmsg", KernelLogs.sandboxOomOf(pod, dir).toString(),
        "--runsc-root", env.runscRoot().toString(), "--runtime-handler", DemoEnvironment.HANDLER), dir.resolve("json.log"));
    assertTrue(Await.until(() -> reported(pod), DEADLINE, Duration.ofMillis(200)), "kill not reported:\n" + agent.log());
    agent.close();
    String output = agent.log();
    agent = null;

    ObjectMapper json = new ObjectMapper();
    List<com.fasterxml.jackson.databind.JsonNode> lines = new java.util.ArrayList<>();
    for (String line : output.split("\n")) {
      if (line.isBlank() || line.startsWith("NOTE: Picked up ")) {
        continue;
      }
      com.fasterxml.jackson.databind.JsonNode node;
      try {
        node = json.readTree(line);
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new AssertionError("a log line that is not JSON: " + line + "\n" + output, e);
      }
      assertTrue(node.isObject() && node.hasNonNull("time") && node.hasNonNull("level") && node.hasNonNull("logger")
          && node.hasNonNull("thread") && node.hasNonNull("message"), "not a log object: " + line);
      java.time.Instant.parse(node.get("time").asText());
      lines.add(node);
    }
    assertTrue(lines.stream().anyMatch(n -> n.get("level").asText().equals("INFO")
        && n.get("message").asText().startsWith("OOM kill of gVisor pod tenant/victim")), output);
  }

  private boolean reported(PodRef pod) {
    return env.cluster().incidents(pod.namespace()).stream()
        .anyMatch(i -> pod.uid().equals(i.getSpec().getPodUid()) && i.getStatus() != null
            && OOMIncidentStatus.REPORTED.equals(i.getStatus().getPhase()));
  }

  private static List<String> chartJvmOptions() throws IOException {
    String options = new ObjectMapper(new YAMLFactory())
        .readTree(ProjectFiles.resolve("charts/gvisor-oom-watcher/values.yaml").toFile()).path("jvmOptions").asText();
    return Arrays.stream(options.strip().split("\\s+")).toList();
  }

  /** Class name to where it was loaded from ("shared objects file", "jrt:/java.base", "file:/...jar", ...). */
  private static Map<String, String> loadedClasses(Path classLog) throws IOException {
    Map<String, String> loaded = new TreeMap<>();
    for (String line : Files.readAllLines(classLog)) {
      Matcher m = LOADED.matcher(line);
      if (m.find()) {
        loaded.put(m.group(1), m.group(2).strip());
      }
    }
    assertTrue(loaded.size() > 1000, "the class-load log holds " + loaded.size() + " classes: " + classLog);
    return loaded;
  }

  private static Set<String> classesIn(Path jar) throws IOException {
    try (ZipFile zip = new ZipFile(jar.toFile())) {
      return zip.stream().map(ZipEntry::getName)
          .filter(n -> n.endsWith(".class") && !n.startsWith("META-INF/"))
          .map(n -> n.substring(0, n.length() - ".class".length()).replace('/', '.'))
          .collect(Collectors.toSet());
    }
  }

  /** Per package (three levels deep): classes the run loaded from the jar / classes the jar holds. */
  private void writeReport(Map<String, String> loaded, Set<String> inJar, String jarSource) throws IOException {
    Map<String, int[]> byPackage = new TreeMap<>();
    for (String name : inJar) {
      byPackage.computeIfAbsent(packageOf(name), k -> new int[2])[1]++;
    }
    long fromJar = 0;
    for (Map.Entry<String, String> e : loaded.entrySet()) {
      if (e.getValue().equals(jarSource)) {
        byPackage.computeIfAbsent(packageOf(e.getKey()), k -> new int[2])[0]++;
        fromJar++;
      }
    }
    StringBuilder report = new StringBuilder("# classes a real run of the agent loaded from its jar, per package\n")
        .append("# loaded ").append(loaded.size()).append(" classes in all, ").append(fromJar)
        .append(" from the jar, which holds ").append(inJar.size()).append('\n')
        .append("# loaded\tin jar\tpackage\n");
    byPackage.entrySet().stream().sorted((a, b) -> Integer.compare(b.getValue()[1], a.getValue()[1]))
        .forEach(e -> report.append(e.getValue()[0]).append('\t').append(e.getValue()[1]).append('\t')
            .append(e.getKey()).append('\n'));
    Files.createDirectories(buildDir);
    Files.writeString(buildDir.resolve("agent-class-loads.txt"), report);
    System.out.println(report.toString().lines().limit(3).collect(Collectors.joining("\n")));
  }

  private static String packageOf(String className) {
    String[] parts = className.split("\\.");
    return String.join(".", Arrays.copyOf(parts, Math.min(parts.length - 1, 4)));
  }
}
