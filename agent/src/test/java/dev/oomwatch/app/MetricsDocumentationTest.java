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
    Set<String> documented = documented();
    env = DemoEnvironment.withoutAgent("node-a");
    PodRef victim = env.createGvisorPod("victim", 64);
    PodRef warned = env.createGvisorPod("warned", 64);
    PodRef refused = env.createGvisorPod("refused", 64);
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
          || !Pattern.compile("^# TYPE " + name + " (counter|gauge)$", Pattern.MULTILINE).matcher(exposition).find()) {
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
