package dev.oomwatch.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.crd.OOMIncident;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.model.SandboxRef;
import dev.oomwatch.model.SandboxUnlimited;
import dev.oomwatch.testing.Await;
import dev.oomwatch.testing.DemoEnvironment;
import dev.oomwatch.testing.KernelLogs;
import dev.oomwatch.testing.ProjectFiles;
import dev.oomwatch.testing.ScriptedSource;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's metrics table is what {@code /metrics} exports: every metric it lists is there with its
 * {@code # HELP} and {@code # TYPE}, and no other {@code oomwatch_} metric is. The agent runs as
 * {@code agent} wires it with every source on (the kernel log from the fixture), and is driven until
 * each labelled metric has a sample, since one is written only from its first: a gVisor kill reported,
 * a MemoryLimitNotEnforced warning written and one the API refuses (403), an incident without a spec
 * refused. A source that forgets to register its metrics fails here.
 */
class MetricsDocumentationTest {
  private static final Duration DEADLINE = Duration.ofSeconds(30);
  private static final Pattern DOCUMENTED = Pattern.compile("`(oomwatch_[a-z_]+)");
  /**
   * Documented but written only where runsc's own accounting is sampled (a runsc binary and a sandbox
   * of two containers, which this test has not): {@code RunscStatsSamplerTest} checks its series.
   */
  private static final Set<String> ONLY_WITH_RUNSC_STATS = Set.of("oomwatch_container_memory_usage_bytes");
  private static final Pattern EXPORTED = Pattern.compile("^# TYPE (oomwatch_[a-z_]+) ", Pattern.MULTILINE);
  @TempDir Path dir;
  private DemoEnvironment env;

  @AfterEach
  void tearDown() {
    if (env != null) {
      env.close();
    }
  }

  @Test
  void everyMetricOfTheReadmeIsExportedWithHelpAndTypeAndNoOther() throws Exception {
    Set<String> documented = new TreeSet<>(documented());
    documented.removeAll(ONLY_WITH_RUNSC_STATS);
    env = DemoEnvironment.withoutAgent("node-a");
    PodRef victim = env.createGvisorPod("victim", 64);
    PodRef warned = env.createGvisorPod("warned", 64);
    PodRef refused = env.createGvisorPod("refused", 64);
    // a cgroup v1 tree holding the warned pod's cgroup as captured from a running gVisor pod: the
    // per-pod memory series
    env.withSetting("cgroupRoot", v1CgroupRootWith(warned).toString());
    env.cluster().failRequests((method, path) -> method.equals("PATCH") && path.contains("/pods/refused/"), 403,
        Map.of());
    ScriptedSource scripted = new ScriptedSource();
    env.startAgent(Optional.of(KernelLogs.sandboxOomOf(victim, dir)), List.of(scripted));
    scripted.emit(unlimited(warned));
    scripted.emit(unlimited(refused));
    OOMIncident withoutSpec = new OOMIncident();
    withoutSpec.setMetadata(new ObjectMetaBuilder().withName("without-spec").withNamespace("default")
        .withLabels(Map.of(OOMIncident.NODE_LABEL, OOMIncident.nodeLabelValue("node-a"))).build());
    env.cluster().client().resources(OOMIncident.class).inNamespace("default").resource(withoutSpec).create();

    assertTrue(Await.until(() -> undescribed(documented, metrics()).isEmpty(), DEADLINE, Duration.ofMillis(100)),
        () -> "listed in the README, not in /metrics with # HELP and # TYPE: " + undescribed(documented, metrics())
            + "\n" + metrics());
    assertEquals(documented, exported(metrics()), "the README's metrics table and /metrics differ");
    assertTrue(metrics().contains("oomwatch_pod_memory_usage_bytes{namespace=\"default\",pod=\"warned\"} 1.3463552E7"),
        metrics());
    assertPromtoolAccepts(metrics());
  }

  /**
   * Prometheus's own parser and naming lint ({@code promtool check metrics}, Debian's {@code prometheus}
   * package): required under {@code CI=true}, skipped elsewhere when missing.
   */
  private void assertPromtoolAccepts(String exposition) throws IOException, InterruptedException {
    Process check;
    try {
      check = new ProcessBuilder("promtool", "check", "metrics").redirectErrorStream(true).start();
    } catch (IOException e) {
      String message = "promtool is missing (apt-get install prometheus): " + e.getMessage();
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        throw new AssertionError(message + " — CI=true, so this fails rather than skips", e);
      }
      Assumptions.abort(message);
      return;
    }
    try (var in = check.getOutputStream()) {
      in.write(exposition.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
    String said = new String(check.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertTrue(check.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "promtool did not finish");
    assertEquals(0, check.exitValue(), "promtool check metrics: " + said);
  }

  /** A v1 root ({@code memory/} beside a memory-less {@code unified/}) with {@code pod}'s burstable cgroup. */
  private Path v1CgroupRootWith(PodRef pod) throws Exception {
    Path root = dir.resolve("cgroup");
    Files.createDirectories(root.resolve("unified"));
    Files.writeString(root.resolve("unified/cgroup.controllers"), "");
    Files.createDirectories(root.resolve("memory"));
    Files.writeString(root.resolve("memory/memory.limit_in_bytes"), "9223372036854771712\n");
    Path podCgroup = Files.createDirectories(root.resolve("memory/kubepods/burstable/pod" + pod.uid()));
    Path capture = Path.of(getClass().getResource("/cgroup/gvisor-20221219-cgroupv1/cgroup-running/pod").toURI());
    try (var files = Files.list(capture)) {
      for (Path file : files.toList()) {
        Files.copy(file, podCgroup.resolve(file.getFileName().toString()));
      }
    }
    return root;
  }

  /** The metric names of the first column of the README's metrics table, without their labels. */
  private static Set<String> documented() throws IOException {
    String readme = Files.readString(ProjectFiles.resolve("README.md"));
    String table = readme.substring(readme.indexOf("\n## Metrics\n"));
    table = table.substring(0, table.indexOf("\n## ", 1));
    Set<String> names = new TreeSet<>();
    table.lines().filter(l -> l.startsWith("| `oomwatch_")).forEach(row -> {
      Matcher m = DOCUMENTED.matcher(row.substring(1, row.indexOf('|', 1)));
      while (m.find()) {
        names.add(m.group(1));
      }
    });
    assertTrue(names.size() > 20, "no metrics table in the README: " + names);
    return names;
  }

  private static Set<String> undescribed(Set<String> names, String exposition) {
    Set<String> missing = new TreeSet<>();
    for (String name : names) {
      if (!Pattern.compile("^# HELP " + name + " \\S", Pattern.MULTILINE).matcher(exposition).find()
          || !Pattern.compile("^# TYPE " + name + " (counter|gauge|histogram)$", Pattern.MULTILINE).matcher(exposition).find()) {
        missing.add(name);
      }
    }
    return missing;
  }

  private static Set<String> exported(String exposition) {
    Set<String> names = new TreeSet<>();
    Matcher m = EXPORTED.matcher(exposition);
    while (m.find()) {
      names.add(m.group(1));
    }
    return names;
  }

  /** runsc saw {@code pod}'s sentry in a memory cgroup with no limit while the pod declares one. */
  private static SandboxUnlimited unlimited(PodRef pod) {
    String sentryCgroup = "/system.slice/containerd.service";
    SandboxRef sandbox = new SandboxRef("sb-" + pod.name(), pod.uid(), pod.namespace(), pod.name(),
        OptionalLong.of(4242), OptionalLong.of(4241), Optional.of(sentryCgroup));
    return new SandboxUnlimited(sandbox, sentryCgroup, "/kubepods/burstable/pod" + pod.uid());
  }

  private String metrics() {
    try {
      HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + env.agent().httpPort() + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, response.statusCode(), response.body());
      return response.body();
    } catch (IOException | InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }
}
