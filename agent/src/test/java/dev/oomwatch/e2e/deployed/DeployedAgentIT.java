package dev.oomwatch.e2e.deployed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.oomwatch.chart.ChartRendering;
import dev.oomwatch.crd.EvidenceItem;
import dev.oomwatch.crd.OOMIncident;
import dev.oomwatch.crd.OOMIncidentStatus;
import dev.oomwatch.e2e.deployed.ChartContainer.ConfigMapFiles;
import dev.oomwatch.e2e.deployed.ChartContainer.HostPath;
import dev.oomwatch.e2e.deployed.ChartContainer.Mount;
import dev.oomwatch.lab.LabPrerequisites;
import dev.oomwatch.lab.LabScenario;
import dev.oomwatch.lab.PodQosClass;
import dev.oomwatch.lab.SandboxWorkload;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.operator.OomIncidentReconciler;
import dev.oomwatch.testing.Await;
import dev.oomwatch.testing.DemoEnvironment;
import dev.oomwatch.testing.FileTrees;
import dev.oomwatch.testing.LoopbackPorts;
import dev.oomwatch.testing.ProjectFiles;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.HasMetadata;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The packaged agent run as the Helm chart deploys it, in each chart mode ({@code ci/*-values.yaml}):
 * the chart is rendered with {@code helm template}, and the DaemonSet's container — the image's
 * entrypoint and jar path from the Dockerfile, the chart's args, env ({@code JDK_JAVA_OPTIONS}, the node
 * name from the downward API), volume mounts at the chart's paths, uid, gid, capabilities, read-only and
 * recursively read-only mounts — runs in new pid and mount namespaces whose root holds only the host's
 * {@code /usr} and {@code /etc} and what the chart mounts ({@link NamespacedAgent}, which also lists the
 * deviations from a real container: the host's network, a kubeconfig instead of in-cluster credentials,
 * no seccomp). The only {@code --set}s are the chart's own values the test must set: the runsc root the
 * test's sandboxes use ({@code hostPaths.runscRoot}) and a free port ({@code config.httpPort}).
 *
 * <p>In each mode, with real runsc sandboxes in kubelet-like cgroup v1 pod cgroups and the API stand-in:
 * a pod held at its memory limit for {@code oomwatch.holdSeconds} (default 120) by a page-cache writer,
 * with two agent restarts (the whole namespace stopped and started again) in between, gets no incident;
 * meanwhile a real sandbox OOM is reported with the verdict the README's table "What each deployment
 * mode sees" promises for the mode, once, and a {@code runsc kill KILL} gives no incident. The host's
 * cgroup files and the runsc state cannot be written from the container. A variant takes the chart's
 * host {@code /proc} mount away: the agent must say in {@code /readyz} that it cannot see host pids,
 * guess no death for the held pod, and still report a real kill from the cgroup counters.
 *
 * <p>About 2.5 minutes per mode. The namespaces' output (setup, then the agent's log) is kept under
 * {@code <build dir>/deployed-it/<mode>/} and printed on failure with {@code /readyz}.
 */
@Tag("sandbox")
class DeployedAgentIT {
  private static final String NODE = "deployed-node";
  private static final long LIMIT_MIB = 64;
  private static final Duration HOLD = Duration.ofSeconds(Long.getLong("oomwatch.holdSeconds", 120));
  private static final Duration DEADLINE = Duration.ofSeconds(90);
  private static final String HOST_PROC = "/proc";
  private static final String UID0_RUNSC_STATE_VALUES = "unprivileged-runsc-state-values.yaml";
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private final Path buildDir = Path.of(System.getProperty("oomwatch.buildDir", "target")).toAbsolutePath();
  private final Path projectDir = ProjectFiles.root();
  private final Path agentJar = ProjectFiles.agentJar();
  private final Map<String, Duration> timings = new LinkedHashMap<>();
  private final long startedNanos = System.nanoTime();

  private DemoEnvironment env;
  private NamespacedAgent agent;
  private HeldPod held;
  private String mode = "?";

  static Stream<String> chartModes() throws IOException {
    return ChartRendering.ciValuesFiles().stream().map(p -> p.getFileName().toString());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("chartModes")
  void eachKillIsReportedAsTheModePromisesAndAPodHeldAtItsLimitIsNot(String valuesFile) throws Exception {
    Mode deployed = deploy(valuesFile, "", List.of(), UnaryOperator.identity());
    onFailurePrintTheAgent(() -> {
      assertTrue(readyzLine("host pids:").startsWith("host pids: visible"),
          "the chart mounts the host's /proc, so the agent must see host pids:\n" + agent.readiness());
      assertTheHostCannotBeWrittenFromTheContainer(deployed.container());

      held = holdAtLimit();
      long heldFailCountAtStart = held.failCount();
      long holdStarted = System.nanoTime();

      PodRef oomPod = env.createGvisorPod("oom", LIMIT_MIB);
      oomAndTerminateLikeKubelet(oomPod);
      OOMIncident incident = awaitIncident(oomPod, deployed.verdicts());
      mark("OOM reported " + incident.getSpec().getVerdict());
      PodRef decoy = killDecoy();

      for (int restart = 1; restart <= 2; restart++) {
        assertNoIncidentFor(held.pod(), until(holdStarted, HOLD.multipliedBy(restart).dividedBy(3)));
        agent.restart();
        mark("restart " + restart + " ready");
      }
      assertNoIncidentFor(held.pod(), until(holdStarted, HOLD));
      awaitFreshPolls();
      mark("held " + HOLD.toSeconds() + " s");

      assertHeldAtItsLimitAndAlive(heldFailCountAtStart);
      assertEquals(List.of(), incidentsOf(held.pod()), "the held pod did not die");
      assertEquals(List.of(), oomEvents(held.pod()));
      assertEquals(List.of(), incidentsOf(decoy), "runsc kill KILL is no OOM");
      assertEquals(List.of(), oomEvents(decoy));
      assertReportedOnce(oomPod, deployed.verdicts());
    });
  }

  @Test
  void withoutTheHostProcTheAgentSaysSoGuessesNoDeathAndStillReportsKillsFromTheCgroupCounters() throws Exception {
    // without the mount the agent refuses to start, as its config names the missing /host/proc ...
    assertTheAgentRefusesToStartWithoutTheHostProc();
    // ... so, as a chart that mounts no host /proc would, point it at its own /proc (the chart's extraEnv)
    Mode deployed = deploy(UID0_RUNSC_STATE_VALUES, "-without-host-proc",
        List.of("--set", "extraEnv[0].name=OOMWATCH_PROC_ROOT", "--set", "extraEnv[0].value=/proc"),
        c -> c.withoutHostPath(HOST_PROC));
    onFailurePrintTheAgent(() -> {
      String line = readyzLine("host pids:");
      assertTrue(line.startsWith("host pids: not visible"), "/readyz:\n" + agent.readiness());

      held = holdAtLimit();
      long heldFailCountAtStart = held.failCount();
      long holdStarted = System.nanoTime();
      PodRef oomPod = env.createGvisorPod("oom", LIMIT_MIB);
      oomAndTerminateLikeKubelet(oomPod);
      OOMIncident incident = awaitIncident(oomPod, Set.of("Confirmed"));
      assertTrue(incident.getSpec().getEvidence().stream().anyMatch(e -> "cgroup".equals(e.getSource())),
          "no cgroup evidence: " + describe(incident.getSpec().getEvidence()));
      mark("OOM reported from the cgroup counters");

      assertNoIncidentFor(held.pod(), until(holdStarted, HOLD.dividedBy(4)));
      agent.restart();
      assertTrue(readyzLine("host pids:").startsWith("host pids: not visible"), agent.readiness());
      assertNoIncidentFor(held.pod(), until(holdStarted, HOLD.dividedBy(2)));
      awaitFreshPolls();
      mark("held " + HOLD.dividedBy(2).toSeconds() + " s");

      assertHeldAtItsLimitAndAlive(heldFailCountAtStart);
      assertEquals(List.of(), incidentsOf(held.pod()), "no death can be seen, so none may be guessed");
      assertEquals(List.of(), oomEvents(held.pod()));
      assertReportedOnce(oomPod, Set.of("Confirmed"));
    });
  }

  @AfterEach
  void tearDown() {
    List<String> problems = new ArrayList<>();
    if (held != null) {
      cleanup(problems, "the held pod's writer", held::close);
    }
    if (agent != null) {
      cleanup(problems, "the namespace", agent::close);
      cleanup(problems, "the host's mount table", () -> {
        List<String> left = agent.hostMountsUnderWorkDir();
        if (!left.isEmpty()) {
          throw new IllegalStateException("mounts left on the host: " + left);
        }
      });
    }
    if (env != null) {
      cleanup(problems, "sandboxes, pod cgroups and the API stand-in", env::close);
    }
    System.out.println("DeployedAgentIT " + mode + " timings: " + timings.entrySet().stream()
        .map(e -> e.getKey() + " at " + e.getValue().toMillis() / 1000.0 + " s").collect(Collectors.joining(", ")));
    assertEquals(List.of(), problems, "cleanup");
  }

  private static void cleanup(List<String> problems, String what, ThrowingRunnable step) {
    try {
      step.run();
    } catch (Exception | AssertionError e) {
      problems.add(what + ": " + e);
    }
  }

  /** A mode of the chart as deployed here, and the verdicts its README row promises for a real kill. */
  /**
   * The default mode with {@code hostPaths.cgroupWritable}: the cgroup tree mounted read-write so that the
   * agent (uid 65532, no capability) registers cgroup v1 OOM notifications through {@code cgroup.event_control},
   * the one cgroup file it can write where the kernel makes it world-writable (mode 0222); the real kill is
   * then read at the kernel's notification. Where the kernel makes it root's only (0200: Linux 6.18 here),
   * nothing at all is writable, and the agent says notifications are off ({@code permission-denied}) and
   * still reports the kill from the poll.
   */
  @Test
  void withAWritableCgroupMountTheKillComesThroughANotificationAndOnlyEventControlIsWritable() throws Exception {
    Mode deployed = deploy("default-values.yaml", "-cgroup-writable", List.of("--set", "hostPaths.cgroupWritable=true"),
        UnaryOperator.identity());
    onFailurePrintTheAgent(() -> {
      assertTheHostCannotBeWrittenFromTheContainer(deployed.container());
      PodRef oomPod = env.createGvisorPod("oom", LIMIT_MIB);
      oomAndTerminateLikeKubelet(oomPod);
      OOMIncident incident = awaitIncident(oomPod, deployed.verdicts());
      mark("OOM reported " + incident.getSpec().getVerdict());
      if (eventControlIsWorldWritable()) {
        assertTrue(agent.metric("oomwatch_cgroup_notifications_total") >= 1, "no kernel notification made the agent"
            + " read the cgroups: " + agent.metric("oomwatch_cgroup_notifications_total"));
        assertEquals(1.0, agent.metric("oomwatch_cgroup_notifications_active"), "notifications not registered");
      } else {
        assertEquals(0.0, agent.metric("oomwatch_cgroup_notifications_active"), "notifications said to be on");
        assertTrue(agent.metric("oomwatch_cgroup_notification_failures_total") >= 1, "no failure counted");
        assertTrue(agent.log().contains("cgroup notifications unavailable (permission-denied)"), "no log line says why");
      }
      assertReportedOnce(oomPod, deployed.verdicts());
    });
  }

  record Mode(ChartContainer container, Set<String> verdicts) {}

  /** Whether this kernel makes cgroup v1's {@code cgroup.event_control} world-writable (0222; newer ones: 0200). */
  private static boolean eventControlIsWorldWritable() throws IOException {
    return Files.getPosixFilePermissions(Path.of("/sys/fs/cgroup/memory/cgroup.event_control"))
        .contains(java.nio.file.attribute.PosixFilePermission.OTHERS_WRITE);
  }

  /**
   * Renders the chart with {@code valuesFile}, starts the API stand-in and the namespaced agent (the
   * container changed by {@code change}, named with {@code suffix}), and waits until it is ready.
   */
  private Mode deploy(String valuesFile, String suffix, List<String> extraHelmArgs, UnaryOperator<ChartContainer> change)
      throws Exception {
    mode = valuesFile.replace("-values.yaml", "") + suffix;
    requirePrerequisites();
    env = DemoEnvironment.withoutAgent(NODE);
    int port = LoopbackPorts.free();
    List<String> helmArgs = new ArrayList<>(List.of(
        "-f", ChartRendering.chartDir().resolve("ci").resolve(valuesFile).toString(),
        "--set", "hostPaths.runscRoot=" + env.runscRoot(),
        "--set", "config.httpPort=" + port));
    helmArgs.addAll(extraHelmArgs);
    List<HasMetadata> rendered = ChartRendering.render(helmArgs);
    DockerImage image = DockerImage.read(projectDir.resolve("Dockerfile"), agentJar.getFileName().toString());
    ChartContainer container = change.apply(ChartContainer.of(rendered, image, NODE));
    Mode deployed = new Mode(container, promisedVerdicts(container));
    if (deployed.verdicts().equals(Set.of("Confirmed"))) {
      requireLab(true); // the kernel-log mode reads /dev/kmsg
    }

    Path workDir = buildDir.resolve("deployed-it").resolve(mode);
    FileTrees.delete(workDir);
    String kubeconfig = Files.readString(env.cluster().kubeconfig());
    agent = new NamespacedAgent(container, image, agentJar, kubeconfig, workDir);
    agent.start();
    onFailurePrintTheAgent(agent::awaitReady);
    mark("agent ready (" + String.join(" ", container.command()) + ", uid " + container.security().uid() + ")");
    return deployed;
  }

  /**
   * The README table's promise for the mode the rendered container is in: the kernel-log mode
   * {@code Confirmed}; a uid-0 mode, which reads runsc's state, {@code Confirmed} or {@code Likely}; the
   * default uid 65532, which cannot, {@code Confirmed} from the sandbox cgroup's {@code oom_kill}, else
   * {@code Possible}.
   */
  private static Set<String> promisedVerdicts(ChartContainer container) throws IOException {
    JsonNode config = agentConfig(container);
    // "off" quoted, or a bare off that YAML 1.1 reads as false
    if (!Set.of("off", "false").contains(config.path("kmsg").asText("off"))) {
      return Set.of("Confirmed");
    }
    return container.security().uid() == 0 ? Set.of("Confirmed", "Likely") : Set.of("Confirmed", "Possible");
  }

  /** The agent's config file as the chart mounts it (the {@code --config} argument's file). */
  private static JsonNode agentConfig(ChartContainer container) throws IOException {
    List<String> command = container.command();
    int flag = command.indexOf("--config");
    assertTrue(flag >= 0 && flag + 1 < command.size(), "the chart passes no --config: " + command);
    Path file = Path.of(command.get(flag + 1));
    Mount mount = container.mounts().stream().filter(m -> m.source() instanceof ConfigMapFiles)
        .filter(m -> Path.of(m.containerPath()).equals(file.getParent())).findFirst()
        .orElseThrow(() -> new AssertionError("no ConfigMap is mounted where --config " + file + " points"));
    String text = ((ConfigMapFiles) mount.source()).files().get(file.getFileName().toString());
    assertTrue(text != null, "the ConfigMap mounted at " + mount.containerPath() + " has no " + file.getFileName());
    return YAML.readTree(text);
  }

  /**
   * Neither the host's cgroup files nor runsc's state can be opened for writing from the container; with
   * {@code hostPaths.cgroupWritable} (uid 65532 only), {@code cgroup.event_control} alone can.
   */
  private void assertTheHostCannotBeWrittenFromTheContainer(ChartContainer container) throws Exception {
    for (Mount mount : container.mounts()) {
      if (!(mount.source() instanceof HostPath host) || !Files.isDirectory(Path.of(host.path()))) {
        continue;
      }
      if (host.path().equals("/sys/fs/cgroup") && !mount.readOnly()) {
        assertNotEquals(0, container.security().uid(), "the cgroup tree is mounted writable for uid 0");
        String memory = mount.containerPath() + "/memory";
        NamespacedAgent.ChartContainerProbe eventControl = agent.probeWrite(memory + "/cgroup.event_control");
        if (eventControlIsWorldWritable()) {
          assertEquals(0, eventControl.exitCode(), "cgroup.event_control not writable: " + eventControl.output());
        } else {
          assertNotEquals(0, eventControl.exitCode(), "cgroup.event_control (0200, root's) writable");
        }
        for (String target : List.of(memory + "/memory.limit_in_bytes", memory + "/memory.oom_control",
            memory + "/kubepods/cgroup.procs", memory + "/kubepods/memory.limit_in_bytes",
            memory + "/oomwatch-it-write-probe", mount.containerPath() + "/cpu/notify_on_release")) {
          NamespacedAgent.ChartContainerProbe probe = agent.probeWrite(target);
          assertNotEquals(0, probe.exitCode(), "the container could open " + target + " for writing");
        }
        continue;
      }
      assertTrue(mount.readOnly(), "hostPath " + host.path() + " is mounted writable at " + mount.containerPath());
      // opened for appending, nothing written: harmless even where the open would succeed
      List<String> targets = switch (host.path()) {
        // files of controllers: submounts, read-only only with recursiveReadOnly
        case "/sys/fs/cgroup" -> List.of(mount.containerPath() + "/memory/memory.limit_in_bytes",
            mount.containerPath() + "/cpu/notify_on_release");
        // procfs creates no files: an existing writable one
        case "/proc" -> List.of(mount.containerPath() + "/sys/kernel/domainname");
        default -> List.of(mount.containerPath() + "/oomwatch-it-write-probe");
      };
      for (String target : targets) {
        NamespacedAgent.ChartContainerProbe probe = agent.probeWrite(target);
        assertNotEquals(0, probe.exitCode(), "the container could open " + target + " for writing");
        if (container.security().uid() == 0) {
          // file permissions do not stop uid 0 (the owner): only the read-only mount does
          assertTrue(probe.output().contains("Read-only file system"), target + ": " + probe.output());
        }
      }
    }
  }

  /**
   * The uid-0 mode's container without its host {@code /proc} mount, config unchanged: the agent must
   * stop at start saying the proc root is missing (a mount the chart lacks fails here, not later).
   */
  private void assertTheAgentRefusesToStartWithoutTheHostProc() throws Exception {
    requirePrerequisites();
    String valuesFile = ChartRendering.chartDir().resolve("ci").resolve(UID0_RUNSC_STATE_VALUES).toString();
    List<HasMetadata> rendered = ChartRendering.render(List.of("-f", valuesFile, "--set",
        "config.httpPort=" + LoopbackPorts.free()));
    DockerImage image = DockerImage.read(projectDir.resolve("Dockerfile"), agentJar.getFileName().toString());
    ChartContainer container = ChartContainer.of(rendered, image, NODE).withoutHostPath(HOST_PROC);
    String procRoot = agentConfig(container).path("procRoot").asText("");
    assertTrue(procRoot.startsWith("/"), "the chart's config names no procRoot: " + agentConfig(container));
    Path workDir = buildDir.resolve("deployed-it").resolve("unprivileged-runsc-state-no-proc-mount");
    FileTrees.delete(workDir);
    try (NamespacedAgent refused = new NamespacedAgent(container, image, agentJar, "apiVersion: v1\nkind: Config\n",
        workDir)) {
      refused.start();
      assertTrue(Await.until(() -> !refused.isRunning(), DEADLINE, Duration.ofMillis(200)),
          "the agent runs without " + procRoot + ":\n" + refused.log());
      assertNotEquals(0, refused.exitCode(), refused.log());
      String agentOutput = refused.log().substring(refused.log().indexOf("oomwatch-it setup: exec"));
      assertTrue(agentOutput.lines().skip(1).anyMatch(l -> l.contains(procRoot)), "the agent did not say what is"
          + " missing:\n" + refused.log());
      assertEquals(List.of(), refused.hostMountsUnderWorkDir());
    }
    mark("agent refused to start without " + procRoot);
  }

  private HeldPod holdAtLimit() throws Exception {
    HeldPod pod = HeldPod.start(env, "held", LIMIT_MIB, buildDir.resolve("deployed-it").resolve(mode).resolve("disk"));
    assertTrue(Await.until(pod.scenario().sandbox()::isRunning, DEADLINE, Duration.ofMillis(200)),
        "the held pod's sandbox did not start: " + pod.scenario().sandbox().log());
    assertTrue(Await.until(() -> {
      try {
        return pod.failCount() > 0 && pod.usageBytes() >= pod.limitBytes() * 9 / 10;
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }, DEADLINE, Duration.ofMillis(200)), "the held pod did not reach its limit (writer alive: " + pod.writerAlive() + ")");
    mark("held pod at its limit");
    return pod;
  }

  private void assertHeldAtItsLimitAndAlive(long failCountAtStart) throws IOException {
    long failCount = held.failCount();
    assertTrue(failCount > failCountAtStart, "memory.failcnt did not rise while held: " + failCountAtStart + " → "
        + failCount);
    assertTrue(held.writerAlive(), "the page-cache writer died");
    assertEquals(0, held.oomKills(), "something was OOM-killed in the held pod");
    assertTrue(held.scenario().sandbox().isRunning(), "the held pod's sandbox died: " + held.scenario().sandbox().log());
    System.out.println("DeployedAgentIT " + mode + ": held pod memory.failcnt " + failCountAtStart + " → " + failCount);
  }

  /** A real sandbox OOM in {@code pod}, then the container terminated as kubelet reports it (exit 128). */
  private void oomAndTerminateLikeKubelet(PodRef pod) throws Exception {
    LabScenario oom = env.runSandbox(pod, PodQosClass.BURSTABLE, LIMIT_MIB, SandboxWorkload.allocatePastLimit(512));
    assertTrue(oom.sandbox().awaitStopped(DEADLINE), "the sandbox did not die: " + oom.sandbox().log());
    env.cluster().terminateContainersLikeKubelet(pod, 128);
  }

  /** A sleeping sandbox killed with {@code runsc kill KILL}, its container terminated as kubelet says. */
  private PodRef killDecoy() throws Exception {
    PodRef pod = env.createGvisorPod("kill-decoy", LIMIT_MIB);
    LabScenario decoy = env.runSandbox(pod, PodQosClass.BURSTABLE, LIMIT_MIB, SandboxWorkload.sleepForever());
    assertTrue(Await.until(decoy.sandbox()::isRunning, DEADLINE, Duration.ofMillis(100)), decoy.sandbox().log());
    decoy.sandbox().kill();
    assertTrue(decoy.sandbox().awaitStopped(DEADLINE), "runsc kill KILL did not stop the sandbox");
    env.cluster().terminateContainersLikeKubelet(pod, 128);
    mark("decoy killed");
    return pod;
  }

  /** The pod's incident, once written and reconciled; its verdict must be one of {@code verdicts}. */
  private OOMIncident awaitIncident(PodRef pod, Set<String> verdicts) throws InterruptedException {
    OOMIncident incident = Await.value(() -> incidentsOf(pod).stream()
            .filter(i -> i.getStatus() != null && Set.of(OOMIncidentStatus.REPORTED, OOMIncidentStatus.RECORDED)
                .contains(i.getStatus().getPhase()))
            .findFirst(), DEADLINE, Duration.ofMillis(200))
        .orElseThrow(() -> new AssertionError("no OOMIncident for " + pod + " within " + DEADLINE.toSeconds() + " s: "
            + incidentsOf(pod).stream().map(this::yaml).toList()));
    assertTrue(verdicts.contains(incident.getSpec().getVerdict()), "verdict " + incident.getSpec().getVerdict()
        + ", the mode promises " + verdicts + ":\n" + yaml(incident));
    return incident;
  }

  /**
   * The kill was reported once, across the restarts, with a promised verdict: an Event and a condition
   * unless the verdict is {@code Possible} (recorded only).
   */
  private void assertReportedOnce(PodRef pod, Set<String> verdicts) {
    List<OOMIncident> incidents = incidentsOf(pod);
    assertEquals(1, incidents.size(), "incidents of the OOM pod: " + incidents.stream().map(this::yaml).toList());
    OOMIncident incident = incidents.get(0);
    assertTrue(verdicts.contains(incident.getSpec().getVerdict()), yaml(incident));
    if ("Possible".equals(incident.getSpec().getVerdict())) {
      assertEquals(OOMIncidentStatus.RECORDED, incident.getStatus().getPhase());
      assertEquals(List.of(), oomEvents(pod), "no Event for a Possible OOM");
    } else {
      assertEquals(OOMIncidentStatus.REPORTED, incident.getStatus().getPhase(), yaml(incident));
      List<Event> events = oomEvents(pod);
      assertEquals(1, events.size(), "OOMKilled Events: " + events);
      assertEquals(1, events.get(0).getCount(), "the restarts counted the kill again: " + events.get(0));
    }
    // every incident in the namespace is this kill's: nothing for the held pod, the decoy, anyone
    assertEquals(List.of(pod.uid()), env.cluster().incidents(pod.namespace()).stream()
        .map(i -> i.getSpec().getPodUid()).toList());
  }

  /** Watches the API until {@code deadlineNanos} and fails as soon as {@code pod} gets an incident or Event. */
  private void assertNoIncidentFor(PodRef pod, long deadlineNanos) throws InterruptedException {
    Duration left = Duration.ofNanos(Math.max(0, deadlineNanos - System.nanoTime()));
    boolean appeared = Await.until(() -> !incidentsOf(pod).isEmpty() || !oomEvents(pod).isEmpty(), left,
        Duration.ofMillis(500));
    assertTrue(!appeared, "a pod that did not die got an incident: " + incidentsOf(pod).stream().map(this::yaml).toList()
        + "\nEvents: " + oomEvents(pod));
  }

  /** Lets the running agent make several more cgroup polls, so a late false alarm would have happened. */
  private void awaitFreshPolls() throws InterruptedException {
    double polls = agent.metric("oomwatch_cgroup_polls_total");
    assertTrue(Await.until(() -> agent.metric("oomwatch_cgroup_polls_total") >= polls + 8, DEADLINE,
        Duration.ofMillis(250)), "the cgroup source stopped polling");
  }

  private String readyzLine(String prefix) {
    String readiness = agent.readiness();
    return readiness.lines().map(String::strip).filter(l -> l.startsWith(prefix)).findFirst()
        .orElseThrow(() -> new AssertionError("/readyz has no line starting '" + prefix + "':\n" + readiness));
  }

  private List<OOMIncident> incidentsOf(PodRef pod) {
    return env.cluster().incidents(pod.namespace()).stream().filter(i -> pod.uid().equals(i.getSpec().getPodUid()))
        .toList();
  }

  private List<Event> oomEvents(PodRef pod) {
    return env.cluster().events(pod).stream().filter(e -> OomIncidentReconciler.REASON.equals(e.getReason())).toList();
  }

  private String yaml(OOMIncident incident) {
    return env.cluster().client().getKubernetesSerialization().asYaml(incident);
  }

  private static String describe(List<EvidenceItem> evidence) {
    return evidence.stream().map(e -> e.getSource() + ": " + e.getDetail()).toList().toString();
  }

  private static long until(long startedNanos, Duration after) {
    return startedNanos + after.toNanos();
  }

  private void mark(String what) {
    timings.put(what, Duration.ofNanos(System.nanoTime() - startedNanos));
  }

  /** Runs {@code body}; if it fails, prints the agent's output and {@code /readyz}, then rethrows. */
  private void onFailurePrintTheAgent(ThrowingRunnable body) throws Exception {
    try {
      body.run();
    } catch (Exception | AssertionError e) {
      if (agent != null) {
        System.err.println("DeployedAgentIT " + mode + " failed; /readyz: " + agent.readiness() + "\n" + agent.log());
      }
      throw e;
    }
  }

  @FunctionalInterface
  private interface ThrowingRunnable {
    void run() throws Exception;
  }

  /**
   * Skips the test when this machine cannot run it, with the list of what is missing; under
   * {@code CI=true} fails it instead.
   */
  private void requirePrerequisites() {
    List<String> missing = new ArrayList<>(LabPrerequisites.onThisMachine().missing(false));
    for (String tool : List.of("unshare", "setpriv", "nsenter", "chroot", "mount", "awk")) {
      if (onPath(tool).isEmpty()) {
        missing.add(tool + " is not on the PATH (util-linux, coreutils)");
      }
    }
    String helm = Optional.ofNullable(System.getenv("HELM")).filter(h -> !h.isBlank()).orElse("helm");
    if (!Files.isExecutable(Path.of(helm)) && onPath(helm).isEmpty()) {
      missing.add("helm is not installed: `sudo bash scripts/install-chart-tools.sh` installs it");
    }
    if (!Files.isRegularFile(agentJar)) {
      missing.add("no agent jar at " + agentJar + ": run this test with `mvn verify` (a Failsafe integration test of"
          + " the packaged jar)");
    }
    require(missing);
  }

  private static void requireLab(boolean kmsg) {
    require(LabPrerequisites.onThisMachine().missing(kmsg));
  }

  private static void require(List<String> missing) {
    if (missing.isEmpty()) {
      return;
    }
    String message = "running the agent as the chart deploys it needs, and this machine lacks:\n- "
        + String.join("\n- ", missing);
    if ("true".equals(System.getenv("CI"))) {
      Assertions.fail(message);
    }
    Assumptions.abort(message);
  }

  private static Optional<Path> onPath(String name) {
    String path = System.getenv("PATH");
    for (String dir : path == null ? new String[0] : path.split(File.pathSeparator)) {
      Path candidate = Path.of(dir.isEmpty() ? "." : dir, name);
      if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }



}
