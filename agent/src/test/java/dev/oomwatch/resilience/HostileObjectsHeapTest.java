package dev.oomwatch.resilience;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.oomwatch.crd.OOMIncidentStatus;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.source.pods.PodStatusSource;
import dev.oomwatch.testing.AgentProcess;
import dev.oomwatch.testing.Await;
import dev.oomwatch.testing.DemoEnvironment;
import dev.oomwatch.testing.EmbeddedCluster;
import dev.oomwatch.testing.KernelLogs;
import dev.oomwatch.testing.ProjectFiles;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Objects that others write cannot exhaust the agent's heap: the agent runs in its own JVM with the
 * chart's {@code jvmOptions} (read from values.yaml: a 64 MiB heap that exits on OutOfMemoryError), this
 * node's 64 gVisor pods carry 256 KiB of annotations each, and 1,000 SandboxChanged Events of 1 MiB each
 * are posted over several namespaces (a tenth of them naming this node's pods): 900 before the agent
 * starts, 100 while it reports a kill from the real kernel-log fixture. They are posted through the
 * stand-in's own create handler, as a POST is, without the HTTP transport (over HTTP the mock takes a
 * third of a second per MiB on this machine). Then kubelet terminates the containers of five pods that
 * forged Events name, so the agent's per-pod lookups read full pages of them.
 *
 * <p>The agent must stay alive, report the kill, look up only those pods (once, or twice when the first
 * page held no Event of that time), and keep its heap after a full GC under half the cap, while the
 * posted Events alone are 15 times the cap and the pods' annotations a quarter of it. Both halves can
 * fail: with an Event informer the agent never becomes ready (the stand-in itself runs out of memory
 * serving the list), and with whole pods cached the heap after a full GC was 34 MiB with 50 pods (20 MiB
 * trimmed).
 */
class HostileObjectsHeapTest {
  private static final Duration DEADLINE = Duration.ofSeconds(180);
  private static final String NODE = "heap-node";
  private static final int PODS = 64;
  private static final int NAMESPACES = 5;
  private static final int EVENTS = 1000;
  private static final int EVENTS_WHILE_RUNNING = 100;
  /**
   * Namespaces of the Events that name no pod of the node. (The stand-in filters a namespace's Events
   * after the mock has serialised them all, which a real API server does not: 1,000 MiB in one namespace
   * would make each lookup take the stand-in longer than the client waits.)
   */
  private static final int FLOOD_NAMESPACES = 45;
  private static final int EVENT_MESSAGE_BYTES = 1 << 20;
  /** The API server's limit on a pod's annotations, all keys and values together. */
  private static final int ANNOTATION_BYTES = 256 * 1024 - 64;
  private static final int TERMINATED = 5;
  private static final Pattern GENERATION = Pattern.compile("(?m)^\\s*(def new|tenured) generation\\s+total \\d+K, used (\\d+)K");

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
  void hugeEventsAndPodsLeaveTheAgentsHeapSmallWhileKillsAreReported() throws Exception {
    List<String> jvmOptions = chartJvmOptions();
    long capBytes = maxHeapBytes(jvmOptions);
    env = DemoEnvironment.withoutAgent(NODE);
    EmbeddedCluster cluster = env.cluster();
    List<PodRef> pods = new ArrayList<>();
    String annotation = "a".repeat(ANNOTATION_BYTES);
    for (int i = 0; i < PODS; i++) {
      PodRef pod = cluster.createRunningPod("ns-" + (i % NAMESPACES), "pod-" + i, NODE, DemoEnvironment.RUNTIME_CLASS,
          "app", "64Mi");
      cluster.client().pods().inNamespace(pod.namespace()).withName(pod.name())
          .edit(p -> new PodBuilder(p).editMetadata().addToAnnotations("tenant.example/blob", annotation).endMetadata()
              .build());
      pods.add(pod);
    }
    PodRef victim = pods.get(0);
    drain(cluster.server());

    // most of the flood is there before the agent starts (an Event informer would list it), the rest
    // comes while the agent reports the kill (an Event informer would be sent it)
    postEvents(cluster, pods, 0, EVENTS - EVENTS_WHILE_RUNNING);
    agent = AgentProcess.start(jvmOptions, List.of("--node-name", NODE,
        "--kubeconfig", cluster.kubeconfig().toString(), "--kmsg", KernelLogs.sandboxOomOf(victim, dir).toString(),
        "--runsc-root", env.runscRoot().toString(), "--runtime-handler", DemoEnvironment.HANDLER),
        dir.resolve("agent.log"));
    assertTrue(agent.awaitReady(DEADLINE), "agent not ready: " + agent.readiness() + "\n" + agent.log());
    postEvents(cluster, pods, EVENTS - EVENTS_WHILE_RUNNING, EVENTS);
    assertTrue(Await.until(() -> reported(victim), DEADLINE, Duration.ofMillis(200)),
        "the kill was not reported:\n" + agent.log());

    // kubelet terminates the containers of pods that forged Events name: each is looked up, one page each
    List<RecordedRequest> requests = new ArrayList<>();
    drain(cluster.server());
    for (PodRef pod : pods.subList(1, 1 + TERMINATED)) {
      cluster.terminateContainersLikeKubelet(pod, 128);
    }
    assertTrue(Await.until(() -> lookups(cluster.server(), requests) >= TERMINATED, DEADLINE, Duration.ofMillis(200)),
        "the agent did not look up the terminated pods' Events:\n" + agent.log());

    assertTrue(agent.isAlive(), "the agent died:\n" + agent.log());
    assertTrue(reported(victim));
    assertEquals(1, cluster.events(victim).stream().filter(e -> "OOMKilled".equals(e.getReason())).count());
    long used = heapUsedAfterFullGc(agent.pid());
    if (used >= capBytes / 2) {
      String histogram = jcmd(agent.pid(), "GC.class_histogram").lines().limit(30)
          .collect(java.util.stream.Collectors.joining("\n"));
      throw new AssertionError("heap used after a full GC: " + used / 1024 + " KiB of a cap of " + capBytes / 1024
          + " KiB; what it holds:\n" + histogram);
    }
    // each terminated pod is asked about once, or twice when the first page held no Event of that time,
    // and no other pod is
    List<String> asked = requests.stream().map(r -> URLDecoder.decode(r.getPath(), StandardCharsets.UTF_8))
        .filter(p -> p.contains("/events?")).toList();
    for (PodRef pod : pods) {
      long times = asked.stream().filter(p -> p.contains("involvedObject.uid=" + pod.uid() + ",")).count();
      boolean terminated = pods.indexOf(pod) >= 1 && pods.indexOf(pod) <= TERMINATED;
      assertTrue(terminated ? times >= 1 && times <= 2 : times == 0, pod + " asked about " + times + " times: " + asked);
    }
    assertTrue(asked.stream().allMatch(p -> p.contains("limit=" + PodStatusSource.EVENTS_PER_LOOKUP)), asked.toString());
  }

  /**
   * SandboxChanged Events {@code from} to {@code to} (of 1,000) of 1 MiB each; every tenth names one of the
   * pods about to be terminated (in its namespace, as the API server requires), the others pods that do
   * not exist, in 45 other namespaces.
   */
  private void postEvents(EmbeddedCluster cluster, List<PodRef> pods, int from, int to) {
    String message = "m".repeat(EVENT_MESSAGE_BYTES);
    String now = Instant.now().toString();
    for (int i = from; i < to; i++) {
      boolean naming = i % 10 == 0;
      PodRef named = pods.get(1 + (i / 10) % TERMINATED);
      String namespace = naming ? named.namespace() : "flood-" + (i % FLOOD_NAMESPACES);
      String name = naming ? named.name() : "ghost-" + i;
      String uid = naming ? named.uid() : "00000000-0000-4000-8000-" + String.format("%012d", i);
      int code = cluster.createWithoutHttp(namespace, new EventBuilder()
          .withNewMetadata().withNamespace(namespace).withName(String.format("flood-%04d", i)).endMetadata()
          .withNewInvolvedObject().withKind("Pod").withApiVersion("v1").withNamespace(namespace).withName(name)
            .withUid(uid).endInvolvedObject()
          .withReason("SandboxChanged").withType("Normal").withMessage(message)
          .withNewSource().withComponent("kubelet").withHost(NODE).endSource()
          .withFirstTimestamp(now).withLastTimestamp(now).withCount(1)
          .build());
      assertEquals(201, code, "Event " + i + " not created");
    }
  }

  private boolean reported(PodRef pod) {
    return env.cluster().incidents(pod.namespace()).stream()
        .anyMatch(i -> pod.uid().equals(i.getSpec().getPodUid()) && i.getStatus() != null
            && OOMIncidentStatus.REPORTED.equals(i.getStatus().getPhase()));
  }

  /** The agent's per-pod Event lookups among the requests received so far. */
  private static long lookups(KubernetesMockServer server, List<RecordedRequest> seen) {
    try {
      for (RecordedRequest r = server.takeRequest(10, TimeUnit.MILLISECONDS); r != null;
          r = server.takeRequest(10, TimeUnit.MILLISECONDS)) {
        seen.add(r);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return seen.stream().filter(r -> r.getMethod().equals("GET"))
        .map(r -> URLDecoder.decode(r.getPath(), StandardCharsets.UTF_8))
        .filter(p -> p.contains("/events?") && p.contains("involvedObject.uid=")).count();
  }

  private static void drain(KubernetesMockServer server) throws InterruptedException {
    while (server.takeRequest(1, TimeUnit.MILLISECONDS) != null) {
      // dropped
    }
  }

  private static List<String> chartJvmOptions() throws IOException {
    String options = new ObjectMapper(new YAMLFactory())
        .readTree(ProjectFiles.resolve("charts/gvisor-oom-watcher/values.yaml").toFile()).path("jvmOptions").asText();
    List<String> list = Arrays.stream(options.strip().split("\\s+")).toList();
    assertTrue(list.contains("-XX:+ExitOnOutOfMemoryError"), "the chart's JVM no longer exits on OOM: " + list);
    return list;
  }

  private static long maxHeapBytes(List<String> jvmOptions) {
    String xmx = jvmOptions.stream().filter(o -> o.startsWith("-Xmx")).reduce((a, b) -> b)
        .orElseThrow(() -> new AssertionError("no -Xmx in the chart's jvmOptions: " + jvmOptions));
    String size = xmx.substring(4).toLowerCase();
    long unit = switch (size.charAt(size.length() - 1)) {
      case 'k' -> 1L << 10;
      case 'm' -> 1L << 20;
      case 'g' -> 1L << 30;
      default -> 1;
    };
    return Long.parseLong(size.replaceAll("[kmg]$", "")) * unit;
  }

  /** Runs a full GC in the agent's JVM ({@code jcmd GC.run}), then sums its generations' use. */
  private static long heapUsedAfterFullGc(long pid) throws IOException, InterruptedException {
    jcmd(pid, "GC.run");
    String info = jcmd(pid, "GC.heap_info");
    Matcher m = GENERATION.matcher(info);
    long usedKib = 0;
    int generations = 0;
    while (m.find()) {
      usedKib += Long.parseLong(m.group(2));
      generations++;
    }
    assertEquals(2, generations, "unexpected GC.heap_info (the chart's flags choose the serial GC):\n" + info);
    return usedKib * 1024;
  }

  private static String jcmd(long pid, String command) throws IOException, InterruptedException {
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    Process process = new ProcessBuilder(jcmd.toString(), Long.toString(pid), command).redirectErrorStream(true)
        .start();
    String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(process.waitFor(60, TimeUnit.SECONDS) && process.exitValue() == 0, "jcmd " + command + ": " + out);
    return out;
  }
}
