package dev.oomwatch.testing;

import dev.oomwatch.app.Agent;
import dev.oomwatch.app.AgentConfig;
import dev.oomwatch.app.ConfigLoader;
import dev.oomwatch.lab.LabScenario;
import dev.oomwatch.lab.PodQosClass;
import dev.oomwatch.lab.SandboxWorkload;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.source.Source;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything the demo and the end-to-end tests stand up, in one handle: the embedded Kubernetes API,
 * a gVisor RuntimeClass, the agent (started exactly as {@code agent} starts it, pointed at the API by a
 * kubeconfig file), and real runsc sandboxes in kubelet-like pod cgroups. {@link #close} tears all of it
 * down in reverse order; it is idempotent and safe from a shutdown hook (Ctrl-C). Thread-safe
 * (synchronized).
 */
public final class DemoEnvironment implements AutoCloseable {
  public static final String RUNTIME_CLASS = "gvisor";
  public static final String HANDLER = "runsc";
  private static final Logger LOG = LoggerFactory.getLogger(DemoEnvironment.class);

  private final String nodeName;
  private final EmbeddedCluster cluster;
  private final Path runscRoot;
  private final Deque<AutoCloseable> toClose = new ArrayDeque<>();
  private final Map<String, String> settings = new HashMap<>();
  private Agent agent;
  private boolean closed;

  private DemoEnvironment(String nodeName) {
    this.nodeName = nodeName;
    this.cluster = new EmbeddedCluster();
    toClose.push(cluster);
    try {
      this.runscRoot = Files.createTempDirectory("oomwatch-runsc-root");
    } catch (IOException e) {
      close();
      throw new UncheckedIOException(e);
    }
    toClose.push(() -> FileTrees.delete(runscRoot));
  }

  /**
   * Starts the API stand-in and the agent for {@code nodeName}, reading the kernel log at {@code kmsg}
   * (empty: off), and waits until the agent is ready.
   */
  public static DemoEnvironment start(String nodeName, Optional<Path> kmsg) throws InterruptedException {
    DemoEnvironment env = withoutAgent(nodeName);
    env.startAgent(kmsg);
    return env;
  }

  /** Starts the API stand-in with the gVisor RuntimeClass only; see {@link #startAgent}. */
  public static DemoEnvironment withoutAgent(String nodeName) {
    DemoEnvironment env = new DemoEnvironment(nodeName);
    try {
      env.cluster.createRuntimeClass(RUNTIME_CLASS, HANDLER);
      return env;
    } catch (RuntimeException e) {
      env.close();
      throw e;
    }
  }

  /** Starts the agent (once), reading the kernel log at {@code kmsg} (empty: off); waits until ready. */
  public synchronized void startAgent(Optional<Path> kmsg) throws InterruptedException {
    startAgent(kmsg, List.of());
  }

  /** As {@link #startAgent(Optional)}, with further sources beside the configured ones. */
  public synchronized void startAgent(Optional<Path> kmsg, List<Source> extraSources) throws InterruptedException {
    startAgentWithoutWaiting(kmsg, extraSources);
    try {
      if (!Await.until(() -> agent.readiness().ready(), Duration.ofSeconds(60), Duration.ofMillis(50))) {
        throw new IllegalStateException("the agent did not become ready within 60 s:\n" + agent.readiness().body());
      }
    } catch (RuntimeException | InterruptedException e) {
      close();
      throw e;
    }
  }

  /** Starts the agent (once), reading the kernel log at {@code kmsg} (empty: off); returns at once. */
  public synchronized void startAgentWithoutWaiting(Optional<Path> kmsg) {
    startAgentWithoutWaiting(kmsg, List.of());
  }

  private void startAgentWithoutWaiting(Optional<Path> kmsg, List<Source> extraSources) {
    if (agent != null) {
      throw new IllegalStateException("the agent is started already");
    }
    Map<String, String> flags = new HashMap<>(Map.of(
        "nodeName", nodeName,
        "kubeconfig", cluster.kubeconfig().toString(),
        "runscRoot", runscRoot.toString(),
        "runtimeHandler", HANDLER,
        "httpPort", "0",
        "kmsg", kmsg.map(Path::toString).orElse("off")));
    flags.putAll(settings);
    AgentConfig config = ConfigLoader.load(Optional.empty(), Map.of(), flags);
    agent = Agent.start(config, Clock.systemUTC(), extraSources);
    toClose.push(agent);
  }

  /** Sets an agent setting (a {@link ConfigLoader#KEYS} key) for the agent started next. */
  public synchronized DemoEnvironment withSetting(String key, String value) {
    settings.put(key, value);
    return this;
  }

  /** The runsc root the agent is pointed at (sandboxes of {@link #runSandbox} keep their state here). */
  public Path runscRoot() {
    return runscRoot;
  }

  public EmbeddedCluster cluster() {
    return cluster;
  }

  public Agent agent() {
    return agent;
  }

  public String nodeName() {
    return nodeName;
  }

  /** Creates a running gVisor pod on this node with one container limited to {@code limitMib} MiB. */
  public PodRef createGvisorPod(String name, long limitMib) {
    return cluster.createRunningPod("default", name, nodeName, RUNTIME_CLASS, "app", limitMib + "Mi");
  }

  /** Runs a real runsc sandbox for {@code pod} in its burstable pod cgroup limited to {@code limitMib}. */
  public synchronized LabScenario runSandbox(PodRef pod, long limitMib, SandboxWorkload workload) throws IOException {
    return runSandbox(pod, PodQosClass.BURSTABLE, limitMib, workload);
  }

  /** Runs a real runsc sandbox for {@code pod} in its pod cgroup of the QoS class's layout. */
  public synchronized LabScenario runSandbox(PodRef pod, PodQosClass qos, long limitMib, SandboxWorkload workload)
      throws IOException {
    LabScenario scenario = LabScenario.builder()
        .pod(pod)
        .qos(qos)
        .memoryLimitMib(limitMib)
        .workload(workload)
        .runscRoot(runscRoot)
        .start();
    toClose.push(scenario);
    return scenario;
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    while (!toClose.isEmpty()) {
      try {
        toClose.pop().close();
      } catch (Exception e) {
        LOG.warn("cleanup step failed: {}", e.toString());
      }
    }
  }


}
