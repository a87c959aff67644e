package dev.oomwatch.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.crd.OOMIncident;
import dev.oomwatch.crd.OOMIncidentStatus;
import dev.oomwatch.model.CgroupMemorySnapshot;
import dev.oomwatch.model.CgroupOomSignal;
import dev.oomwatch.model.Evidence;
import dev.oomwatch.model.MemorySample;
import dev.oomwatch.model.MemoryScope;
import dev.oomwatch.model.OomIncident;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.model.SandboxRef;
import dev.oomwatch.model.SandboxUnlimited;
import dev.oomwatch.model.Verdict;
import dev.oomwatch.podreport.PodConditionWriter;
import dev.oomwatch.publish.IncidentResources;
import dev.oomwatch.testing.Await;
import dev.oomwatch.testing.DemoEnvironment;
import dev.oomwatch.testing.KernelLogs;
import dev.oomwatch.testing.ScriptedSource;
import io.fabric8.kubernetes.api.model.Event;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole agent, as {@code agent} wires it, against the API stand-in, fed the real cgroup v1 kernel
 * log fixture rewritten to name a pod of the test (no root, no sandbox needed): detection, reporting
 * and the HTTP endpoints.
 */
class AgentIntegrationTest {
  private static final Duration DEADLINE = Duration.ofSeconds(30);
  @TempDir Path dir;
  private DemoEnvironment env;

  @AfterEach
  void tearDown() {
    if (env != null) {
      env.close();
    }
  }

  @Test
  void kernelLogOomOfAGvisorPodIsReportedAndCounted() throws Exception {
    env = DemoEnvironment.withoutAgent("node-a");
    PodRef pod = env.createGvisorPod("victim", 64);
    env.startAgent(Optional.of(KernelLogs.sandboxOomOf(pod, dir)));

    OOMIncident incident = Await.value(() -> env.cluster().incidents("default").stream()
            .filter(i -> i.getStatus() != null && OOMIncidentStatus.REPORTED.equals(i.getStatus().getPhase()))
            .findFirst(), DEADLINE, Duration.ofMillis(50))
        .orElseThrow(() -> new AssertionError("not reported; readiness:\n" + env.agent().readiness().body()));

    assertEquals(pod.uid(), incident.getSpec().getPodUid());
    assertEquals("exe (pid 7932, uid 65534, gVisor sandbox)", incident.getSpec().getVictim());
    assertEquals("/kubepods/burstable/pod" + pod.uid(), incident.getSpec().getMemcg());
    assertEquals(1, env.cluster().events(pod).size());
    String metrics = get("/metrics").body();
    assertTrue(metrics.contains("oomwatch_incidents_detected_total{verdict=\"Confirmed\"} 1.0"), metrics);
    assertTrue(metrics.contains("oomwatch_incidents_reported_total{outcome=\"Reported\"} 1.0"), metrics);
    // the labels the reconciler and the publisher know exist at 0 before their first increment
    assertTrue(metrics.contains("oomwatch_incidents_reported_total{outcome=\"Failed\"} 0.0"), metrics);
    assertTrue(metrics.contains("oomwatch_warnings_total{reason=\"NearOOM\"} 0.0"), metrics);
    assertTrue(metrics.contains("oomwatch_source_up{source=\"kmsg\",state=\"LIVE\"} 1.0"), metrics);
    assertTrue(metrics.contains("oomwatch_kmsg_records_total " + KernelLogs.FIXTURE_RECORDS + ".0"), metrics);
    assertEquals(200, get("/healthz").statusCode());
    HttpResponse<String> ready = get("/readyz");
    assertEquals(200, ready.statusCode(), ready.body());
    assertTrue(ready.body().contains("source kmsg: LIVE"), ready.body());
  }

  @Test
  void anOomOfAPodThatIsNotGvisorIsNotOurs() throws Exception {
    env = DemoEnvironment.withoutAgent("node-a");
    env.cluster().createRuntimeClass("runc", "runc");
    PodRef pod = env.cluster().createRunningPod("default", "runc-pod", "node-a", "runc", "app", "64Mi");
    env.startAgent(Optional.of(KernelLogs.sandboxOomOf(pod, dir)));

    assertTrue(Await.until(() -> get("/metrics").body().contains("oomwatch_kernel_oom_kills_ignored_total 1.0"),
        DEADLINE, Duration.ofMillis(100)), get("/metrics").body());
    assertEquals(0, env.cluster().incidents("default").size());
  }

  @Test
  void unreadableKernelLogIsReportedAndTheCgroupSourceKeepsTheAgentReady() throws Exception {
    env = DemoEnvironment.withoutAgent("node-a");
    env.startAgentWithoutWaiting(Optional.of(dir.resolve("no-kmsg")));

    assertTrue(Await.until(() -> get("/readyz").body().contains("source kmsg: FAILED"), DEADLINE,
        Duration.ofMillis(50)), get("/readyz").body());
    assertTrue(Await.until(() -> get("/readyz").statusCode() == 200, DEADLINE, Duration.ofMillis(50)),
        get("/readyz").body());
    assertTrue(get("/readyz").body().contains("--kmsg=off"), get("/readyz").body());
    assertTrue(get("/readyz").body().contains("source cgroup: LIVE"), get("/readyz").body());
    assertTrue(get("/metrics").body().contains("oomwatch_source_up{source=\"kmsg\",state=\"FAILED\"} 0.0"));
  }

  @Test
  void withNoSourceThatCanSeeOomKillsTheAgentIsNotReadyAndSaysWhy() throws Exception {
    env = DemoEnvironment.withoutAgent("node-a").withSetting("cgroupRoot", dir.toString());
    env.startAgentWithoutWaiting(Optional.of(dir.resolve("no-kmsg")));

    assertTrue(Await.until(() -> get("/readyz").body().contains("source cgroup: FAILED"), DEADLINE,
        Duration.ofMillis(50)), get("/readyz").body());
    HttpResponse<String> ready = get("/readyz");
    assertEquals(503, ready.statusCode());
    assertTrue(ready.body().contains("no source that can see OOM kills is live"), ready.body());
    assertTrue(ready.body().contains("mount the host's /sys/fs/cgroup"), ready.body());
  }

  @Test
  void nearOomAndAnUnenforcedLimitAreWarnedOnThePod() throws Exception {
    env = DemoEnvironment.withoutAgent("node-a").withSetting("nearOomFor", "2s");
    PodRef pod = env.createGvisorPod("warned", 64);
    ScriptedSource scripted = new ScriptedSource();
    env.startAgent(Optional.empty(), List.of(scripted));

    Instant start = Instant.now();
    for (int s = 0; s <= 3; s++) {
      scripted.emit(new MemorySample(pod.uid(), new CgroupMemorySnapshot("/kubepods/burstable/pod" + pod.uid(), 1,
          start.plusSeconds(s), OptionalLong.of(64L << 20), 62L << 20, OptionalLong.empty(), OptionalLong.of(0),
          OptionalLong.of(0), OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(), OptionalDouble.empty())));
    }
    SandboxRef sandbox = new SandboxRef("sb-1", pod.uid(), pod.namespace(), pod.name(), OptionalLong.of(4242),
        OptionalLong.of(4241), Optional.of("/system.slice/containerd.service"));
    scripted.emit(new SandboxUnlimited(sandbox, "/system.slice/containerd.service", "/kubepods/burstable/pod" + pod.uid()));

    assertTrue(Await.until(() -> env.cluster().events(pod).size() == 2, DEADLINE, Duration.ofMillis(50)),
        env.cluster().events(pod).toString());
    Event near = env.cluster().events(pod).stream().filter(e -> "NearOOM".equals(e.getReason())).findFirst().orElseThrow();
    assertTrue(near.getMessage().contains("97% of the pod's limit of 64Mi"), near.getMessage());
    Event unlimited = env.cluster().events(pod).stream().filter(e -> "MemoryLimitNotEnforced".equals(e.getReason()))
        .findFirst().orElseThrow();
    assertTrue(unlimited.getMessage().contains("/system.slice/containerd.service"), unlimited.getMessage());
    assertTrue(Await.until(() -> env.cluster().pod(pod).getStatus().getConditions().stream()
        .anyMatch(c -> PodConditionWriter.LIMIT_NOT_ENFORCED_TYPE.equals(c.getType())), DEADLINE,
        Duration.ofMillis(50)));
    assertEquals(0, env.cluster().incidents("default").size(), "warnings are not incidents");
    assertTrue(get("/metrics").body().contains("oomwatch_warnings_total{reason=\"NearOOM\"} 1.0"));
  }

  /**
   * A kill reported before an agent restart, seen again under another name: the publisher finds it in the
   * OOMIncident controller's cache (no list request of the pod's incidents) and merges into it.
   */
  @Test
  void aKillReportedBeforeARestartIsFoundInTheControllersCacheWithoutAList() throws Exception {
    env = DemoEnvironment.withoutAgent("node-a");
    PodRef pod = env.createGvisorPod("victim", 64);
    Instant killed = Instant.now().minusSeconds(2);
    env.cluster().client().resources(OOMIncident.class).inNamespace("default")
        .resource(IncidentResources.toResource(new OomIncident("victim-oom-before", pod, "node-a", Optional.empty(),
            Verdict.CONFIRMED, Optional.empty(), MemoryScope.UNKNOWN, OptionalLong.of(64L << 20), killed, killed,
            OomIncident.WHOLE_POD, OptionalDouble.empty(), List.of(new Evidence("pods", "kubelet: OOMKilled", killed)))))
        .create();
    List<String> lists = new CopyOnWriteArrayList<>();
    env.cluster().failRequests((method, path) -> {
      if (method.equals("GET") && path.contains("/oomincidents?") && path.contains(pod.uid())) {
        lists.add(path);
      }
      return false;
    });
    ScriptedSource scripted = new ScriptedSource();
    env.startAgent(Optional.empty(), List.of(scripted));
    assertTrue(Await.until(() -> get("/readyz").statusCode() == 200, DEADLINE, Duration.ofMillis(50)),
        get("/readyz").body());

    CgroupMemorySnapshot after = new CgroupMemorySnapshot("/kubepods/burstable/pod" + pod.uid() + "/sb-1", 1,
        killed.plusMillis(500), OptionalLong.of(64L << 20), 1L << 20, OptionalLong.of(64L << 20), OptionalLong.of(1),
        OptionalLong.of(1), OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(), OptionalDouble.empty());
    scripted.emit(new CgroupOomSignal(pod.uid(), Optional.of("sb-1"), CgroupOomSignal.Kind.OOM_KILL, "oom_kill", 0, 1,
        after));

    assertTrue(Await.until(() -> env.cluster().incidents("default").get(0).getSpec().getEvidence().size() == 2,
        DEADLINE, Duration.ofMillis(50)), env.cluster().incidents("default").toString());
    assertEquals(List.of("victim-oom-before"), env.cluster().incidents("default").stream()
        .map(i -> i.getMetadata().getName()).toList());
    assertEquals(List.of(), lists, "the pod's incidents were listed instead of read from the cache");
  }

  private HttpResponse<String> get(String path) {
    try {
      return HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + env.agent().httpPort() + path)).build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (IOException | InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }
}
