package dev.oomwatch.e2e.v2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.oomwatch.crd.EvidenceItem;
import dev.oomwatch.crd.OOMIncident;
import dev.oomwatch.crd.OOMIncidentStatus;
import dev.oomwatch.lab.SandboxWorkload;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.operator.OomIncidentReconciler;
import dev.oomwatch.podreport.PodConditionWriter;
import dev.oomwatch.testing.Await;
import dev.oomwatch.testing.DemoEnvironment;
import dev.oomwatch.testing.FileTrees;
import dev.oomwatch.testing.ProjectFiles;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The agent end to end on real cgroup v2, which this machine's kernel cannot give (its memory
 * controller is bound to v1): Debian's kernel boots under qemu with an initramfs holding busybox, runsc,
 * a jlink'ed Java runtime and the packaged agent ({@code src/test/resources/vm/init2} is what runs
 * there). The API stand-in runs here, on 127.0.0.1, and the agent inside reaches it as 10.0.2.2 through
 * qemu's user network, exactly as it would reach a real API server.
 *
 * <p>Round 1, the agent with {@code --kmsg off} (the cgroup-only path) and a 30 s cgroup poll: two gVisor pods, one in
 * kubelet's cgroupfs layout ({@code /kubepods/burstable/pod<uid>/<sandbox-id>}), one in the systemd
 * driver's names ({@code kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_>.slice/
 * cri-containerd-<id>.scope}), each with {@code memory.max} 64 MiB at the pod level and a runsc sandbox
 * that allocates past it; the kernel OOM-kills the sentry, and the only thing that can tell the agent is
 * the pod cgroup's hierarchical {@code memory.events} ({@code oom_kill}), read at once at the kernel's
 * inotify notification of that file (the metric of notifications says so; the next poll is 30 s away). Round 2, the agent restarted
 * with {@code --kmsg /dev/kmsg}: a third pod's kill is reported with the kernel's record and the cgroup
 * counter as evidence, and the restart (which replays the kernel log) reports round 1's kills no second
 * time. Takes about a minute and a half on a 2-core machine; the serial console is printed on failure.
 */
@Tag("sandbox")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CgroupV2VmIT {
  private static final String NODE = "vm-node";
  private static final long LIMIT_MIB = 64;
  /** Allocation past the limit: 512 MiB written into the sandbox's /dev tmpfs (sentry memory). */
  private static final int ALLOCATE_MIB = 512;
  /** Boot, and the agent's JVM starting and syncing with the API under emulation (about 30 s here). */
  private static final Duration AGENT_READY_TIMEOUT = Duration.ofSeconds(180);
  /** From the agent ready to each pod's incident reported (about 10 s here). */
  private static final Duration INCIDENT_TIMEOUT = Duration.ofSeconds(90);
  private static final String JAVA_OPTS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData -Xmx256m";
  private static final int VM_MEMORY_MIB = 2048;
  private static final ObjectMapper JSON = new ObjectMapper();

  /** A pod of the test and where the guest puts its cgroups. */
  record VmPod(int round, String name, PodRef ref, String podCgroup, String leaf, String sandboxId) {
    String sandboxCgroup() {
      return podCgroup + "/" + leaf;
    }
  }

  private static DemoEnvironment env;
  private static QemuVm vm;
  private static Path work;
  private static final List<VmPod> pods = new ArrayList<>();
  private static final Map<String, Duration> timings = new LinkedHashMap<>();

  @BeforeAll
  static void bootVm() throws Exception {
    long started = System.nanoTime();
    Path buildDir = Path.of(System.getProperty("oomwatch.buildDir", "target"));
    Path projectDir = ProjectFiles.root();
    Path agentJar = ProjectFiles.agentJar();
    VmPrerequisites.require(agentJar);

    env = DemoEnvironment.withoutAgent(NODE);
    pods.add(cgroupfsPod(1, env.createGvisorPod("v2-cgroupfs", LIMIT_MIB)));
    pods.add(systemdPod(1, env.createGvisorPod("v2-systemd", LIMIT_MIB)));
    pods.add(cgroupfsPod(2, env.createGvisorPod("v2-kmsg", LIMIT_MIB)));

    work = buildDir.resolve("vm-it").toAbsolutePath();
    FileTrees.delete(work);
    Path stage = Files.createDirectories(work.resolve("stage"));
    writeStage(stage, agentJar);
    Path initramfs = work.resolve("initramfs.cpio");
    buildInitramfs(projectDir.resolve("scripts/vm/build-initramfs.sh"), initramfs, stage, work);
    timings.put("initramfs built", elapsed(started));

    vm = QemuVm.boot(VmPrerequisites.kernel(), initramfs, work, VM_MEMORY_MIB);
    inVm(() -> {
      Optional<String> ready = vm.awaitMarker("AGENT READY", AGENT_READY_TIMEOUT);
      assertTrue(ready.isPresent(), "the agent in the VM did not become ready " + progress());
      timings.put("VM booted and agent ready", vm.uptime());
    });
  }

  @AfterAll
  static void tearDown() {
    if (vm != null) {
      vm.close();
    }
    if (env != null) {
      env.close();
    }
    if (work != null) {
      // 170 MB rebuilt at every run; the serial console stays (work/serial.log)
      try {
        Files.deleteIfExists(work.resolve("initramfs.cpio"));
        FileTrees.delete(work.resolve("stage"));
      } catch (IOException e) {
        System.err.println("CgroupV2VmIT: cannot clean " + work + ": " + e);
      }
    }
    if (!timings.isEmpty()) {
      System.out.println("CgroupV2VmIT timings: " + timings.entrySet().stream()
          .map(e -> e.getKey() + " " + e.getValue().toMillis() / 1000.0 + " s").collect(Collectors.joining(", ")));
    }
  }

  @Test
  @Order(1)
  void cgroupOnlyAgentReportsV2SandboxOomsFromMemoryEvents() throws Exception {
    inVm(() -> {
      for (VmPod pod : round(1)) {
        Pod before = env.cluster().pod(pod.ref());
        OOMIncident incident = awaitReported(pod, i -> true);
        timings.put("round 1 " + pod.name() + " reported", vm.uptime());
        System.out.println("CgroupV2VmIT: " + pod.name() + " (kmsg off) reported:\n" + yaml(incident));

        assertIncident(pod, incident);
        List<EvidenceItem> evidence = incident.getStatus().getEvidence();
        assertTrue(evidence.stream().noneMatch(e -> "kmsg".equals(e.getSource())),
            "the kernel log is off: " + describe(evidence));
        assertTrue(evidence.stream().anyMatch(e -> e.getDetail().startsWith(
                "cgroup v2 " + pod.podCgroup() + ": oom_kill 0 → 1")),
            "no evidence of the pod cgroup's memory.events oom_kill rising: " + describe(evidence));
        assertReportedOnPod(pod, incident, before);
      }
      // two kills, each detected once, and Confirmed from the first report: a sentry death noticed
      // between two polls waits for the poll that reads oom_kill instead of being called Likely first
      String metrics = get("/metrics");
      Map<String, Double> detected = metrics.lines()
          .filter(l -> l.startsWith("oomwatch_incidents_detected_total{"))
          .collect(Collectors.toMap(l -> l.substring(0, l.lastIndexOf(' ')),
              l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))));
      detected.values().removeIf(count -> count == 0);
      assertEquals(Map.of("oomwatch_incidents_detected_total{verdict=\"Confirmed\"}", 2.0), detected, metrics);
      // round 1 polls every 30 s (init2): each kill was read at the kernel's inotify notification of the pod
      // cgroup's memory.events, not at a poll
      double notifications = metricValue(metrics, "oomwatch_cgroup_notifications_total");
      System.out.println("CgroupV2VmIT: round 1 (30 s poll): " + notifications + " notification(s), "
          + metricValue(metrics, "oomwatch_cgroup_polls_total") + " polls; kill to incident "
          + metricValue(metrics, "oomwatch_detection_seconds_sum") / metricValue(metrics, "oomwatch_detection_seconds_count")
          + " s on average");
      assertTrue(notifications >= 2, "fewer notifications than kills: " + notifications + "\n" + metrics);
      assertEquals(1.0, metricValue(metrics, "oomwatch_cgroup_notifications_active"), metrics);
    });
  }

  private static double metricValue(String metrics, String name) {
    return metrics.lines().filter(l -> l.startsWith(name + " ")).mapToDouble(l -> Double.parseDouble(l.substring(
        name.length() + 1).strip())).findFirst().orElse(Double.NaN);
  }

  @Test
  @Order(2)
  void agentWithKernelLogAddsTheKernelRecordAndDoesNotReportOldKillsAgain() throws Exception {
    inVm(() -> {
      env.cluster().client().configMaps().inNamespace("default").resource(new ConfigMapBuilder()
          .withNewMetadata().withName("oomwatch-vm-round-2").endMetadata().build()).create();
      assertTrue(vm.awaitMarker("AGENT READY kmsg=/dev/kmsg", AGENT_READY_TIMEOUT).isPresent(),
          "the agent restarted with --kmsg /dev/kmsg did not become ready " + progress());
      timings.put("agent restarted with kmsg and ready", vm.uptime());
      for (VmPod pod : round(2)) {
        Pod before = env.cluster().pod(pod.ref());
        OOMIncident incident = awaitReported(pod, i -> sources(i).containsAll(List.of("kmsg", "cgroup")));
        timings.put("round 2 " + pod.name() + " reported", vm.uptime());
        System.out.println("CgroupV2VmIT: " + pod.name() + " (kmsg on) reported:\n" + yaml(incident));

        assertIncident(pod, incident);
        List<EvidenceItem> evidence = incident.getStatus().getEvidence();
        assertTrue(evidence.stream().anyMatch(e -> "kmsg".equals(e.getSource())
                && e.getDetail().contains("oom_memcg=" + pod.podCgroup())
                && e.getDetail().contains("task_memcg=" + pod.sandboxCgroup())
                && e.getDetail().contains("task=exe")),
            "no kernel record of the sentry's kill in " + pod.podCgroup() + ": " + describe(evidence));
        assertTrue(evidence.stream().anyMatch(e -> "cgroup".equals(e.getSource())
                && e.getDetail().startsWith("cgroup v2 " + pod.podCgroup() + ": oom_kill 0 → 1")),
            "no cgroup evidence beside the kernel's: " + describe(evidence));
        assertTrue(incident.getSpec().getVictim().startsWith("exe (pid "), incident.getSpec().getVictim());
        assertReportedOnPod(pod, incident, before);
      }
      // the restarted agent replayed the kernel log, round 1's kills included: still one of each
      for (VmPod pod : round(1)) {
        assertEquals(1, incidentsOf(pod).size(), "incidents of " + pod.name() + " after the restart: "
            + incidentsOf(pod).stream().map(CgroupV2VmIT::yaml).toList());
        assertEquals(1, oomEvents(pod).size(), "OOMKilled Events of " + pod.name() + ": " + oomEvents(pod));
        assertEquals(1, oomEvents(pod).get(0).getCount(), "Event count of " + pod.name());
      }
    });
  }

  private static void assertIncident(VmPod pod, OOMIncident incident) {
    assertEquals(NODE, incident.getMetadata().getLabels().get(OOMIncident.NODE_LABEL));
    assertEquals(pod.ref().name(), incident.getSpec().getPodName());
    assertEquals("Confirmed", incident.getSpec().getVerdict());
    assertEquals("Confirmed", incident.getStatus().getVerdict());
    assertEquals(pod.podCgroup(), incident.getSpec().getMemcg());
    assertEquals(pod.sandboxId(), incident.getSpec().getSandboxId(), "the sandbox the kill is attributed to");
    assertEquals("64Mi", incident.getStatus().getMemoryLimit());
    assertEquals(LIMIT_MIB << 20, incident.getSpec().getMemoryLimitBytes());
  }

  private static void assertReportedOnPod(VmPod pod, OOMIncident incident, Pod before) {
    List<Event> events = oomEvents(pod);
    assertEquals(1, events.size(), "OOMKilled Events: " + events);
    Event event = events.get(0);
    assertEquals("Warning", event.getType());
    assertEquals(1, event.getCount());
    assertEquals(NODE, event.getReportingInstance());
    assertTrue(event.getMessage().contains("memory limit of 64Mi"), event.getMessage());
    assertEquals(incident.getStatus().getEventName(), event.getMetadata().getName());

    List<PodCondition> conditions = env.cluster().pod(pod.ref()).getStatus().getConditions();
    PodCondition ours = conditions.stream().filter(c -> PodConditionWriter.CONDITION_TYPE.equals(c.getType()))
        .findFirst().orElseThrow(() -> new AssertionError("no pod condition: " + conditions));
    assertEquals("True", ours.getStatus());
    assertEquals(OomIncidentReconciler.REASON, ours.getReason());
    assertTrue(ours.getMessage().contains(incident.getMetadata().getName()), ours.getMessage());
    assertEquals(before.getStatus().getConditions().stream()
            .filter(c -> !PodConditionWriter.CONDITION_TYPE.equals(c.getType())).toList(),
        conditions.stream().filter(c -> !PodConditionWriter.CONDITION_TYPE.equals(c.getType())).toList(),
        "kubelet's conditions were touched");
  }

  /** Waits for the pod's incident with status Reported that also satisfies {@code also}. */
  private static OOMIncident awaitReported(VmPod pod, Predicate<OOMIncident> also) throws InterruptedException {
    return Await.value(() -> incidentsOf(pod).stream()
            .filter(i -> i.getStatus() != null && OOMIncidentStatus.REPORTED.equals(i.getStatus().getPhase()))
            .filter(also)
            .findFirst(), INCIDENT_TIMEOUT, Duration.ofMillis(250))
        .orElseThrow(() -> new AssertionError("no reported OOMIncident for " + pod + " within " + INCIDENT_TIMEOUT
            + "; its incidents: " + incidentsOf(pod).stream().map(CgroupV2VmIT::yaml).toList()
            + "\n" + progress() + "\nreadiness: " + get("/readyz")));
  }

  /** Where the guest got to: its uptime and last marker. */
  private static String progress() {
    List<String> markers = vm.markers();
    return "(VM up " + vm.uptime().toSeconds() + " s, " + (vm.isRunning() ? "running" : "stopped") + "; last marker: "
        + (markers.isEmpty() ? "none" : markers.get(markers.size() - 1)) + ")";
  }

  private static List<OOMIncident> incidentsOf(VmPod pod) {
    return env.cluster().incidents(pod.ref().namespace()).stream()
        .filter(i -> pod.ref().uid().equals(i.getSpec().getPodUid())).toList();
  }

  private static List<Event> oomEvents(VmPod pod) {
    return env.cluster().events(pod.ref()).stream()
        .filter(e -> OomIncidentReconciler.REASON.equals(e.getReason())).toList();
  }

  private static List<String> sources(OOMIncident incident) {
    return incident.getStatus().getEvidence() == null ? List.of()
        : incident.getStatus().getEvidence().stream().map(EvidenceItem::getSource).toList();
  }

  private static String describe(List<EvidenceItem> evidence) {
    return evidence.stream().map(e -> e.getSource() + ": " + e.getDetail()).toList().toString();
  }

  private static String yaml(OOMIncident incident) {
    return env.cluster().client().getKubernetesSerialization().asYaml(incident);
  }

  private static List<VmPod> round(int round) {
    return pods.stream().filter(p -> p.round() == round).toList();
  }

  /** kubelet's cgroupfs layout on v2: {@code /kubepods/burstable/pod<uid>/<sandbox-id>}. */
  private static VmPod cgroupfsPod(int round, PodRef ref) {
    String id = sandboxId();
    return new VmPod(round, ref.name(), ref, "/kubepods/burstable/pod" + ref.uid(), id, id);
  }

  /** The systemd driver's names, as runsc without systemd-cgroup support takes them: plain paths. */
  private static VmPod systemdPod(int round, PodRef ref) {
    String id = sandboxId();
    return new VmPod(round, ref.name(), ref, "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
        + ref.uid().replace('-', '_') + ".slice", "cri-containerd-" + id + ".scope", id);
  }

  /** A container id as containerd makes them: 64 hex digits. */
  private static String sandboxId() {
    byte[] bytes = new byte[32];
    ThreadLocalRandom.current().nextBytes(bytes);
    return HexFormat.of().formatHex(bytes);
  }

  /** Everything the guest needs beside what build-initramfs.sh puts in: see init2. */
  private static void writeStage(Path stage, Path agentJar) throws IOException {
    for (String script : List.of("init", "init2")) {
      Path target = stage.resolve(script);
      try (InputStream in = CgroupV2VmIT.class.getResourceAsStream("/vm/" + script)) {
        if (in == null) {
          throw new IOException("test resource vm/" + script + " is missing");
        }
        Files.copy(in, target);
      }
      Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    Path vmDir = Files.createDirectories(stage.resolve("vm"));
    Files.copy(agentJar, vmDir.resolve("agent.jar"), StandardCopyOption.REPLACE_EXISTING);
    int apiPort = env.cluster().server().getPort();
    String api = "http://10.0.2.2:" + apiPort;
    Files.writeString(vmDir.resolve("kubeconfig"),
        Files.readString(env.cluster().kubeconfig()).replaceAll("(?m)^(\\s*server:).*$", "$1 " + api));
    Files.writeString(vmDir.resolve("env"), "NODE=" + NODE + "\nAPI=" + api + "\nJAVA_OPTS=\"" + JAVA_OPTS + "\"\n");
    StringBuilder lines = new StringBuilder();
    for (VmPod pod : pods) {
      lines.append(pod.round()).append(' ').append(pod.name()).append(' ').append(pod.podCgroup()).append(' ')
          .append(pod.leaf()).append(' ').append(pod.sandboxId()).append('\n');
      Path bundle = Files.createDirectories(vmDir.resolve("bundles").resolve(pod.name()));
      JSON.writerWithDefaultPrettyPrinter().writeValue(bundle.resolve("config.json").toFile(), ociSpec(pod));
    }
    Files.writeString(vmDir.resolve("pods"), lines.toString());
  }

  /**
   * The spec {@code runsc spec} prints with the edits containerd makes for a pod sandbox: no terminal,
   * empty resources (the limit is the pod cgroup's), the cgroups path and the CRI annotations. The root
   * is the static busybox build-initramfs.sh puts at /lab/rootfs; the app writes into its /dev tmpfs.
   */
  private static ObjectNode ociSpec(VmPod pod) {
    ObjectNode spec = JSON.createObjectNode();
    spec.put("ociVersion", "1.0.0");
    ObjectNode process = spec.putObject("process");
    process.put("terminal", false);
    process.putObject("user").put("uid", 0).put("gid", 0);
    ArrayNode args = process.putArray("args");
    List.of("/bin/busybox", "sh", "-c", SandboxWorkload.allocatePastLimit(ALLOCATE_MIB).shellCommand())
        .forEach(args::add);
    process.putArray("env").add("PATH=/bin");
    process.put("cwd", "/");
    spec.putObject("root").put("path", "/lab/rootfs").put("readonly", true);
    spec.put("hostname", "runsc");
    ArrayNode mounts = spec.putArray("mounts");
    mounts.addObject().put("destination", "/proc").put("type", "proc").put("source", "proc");
    mounts.addObject().put("destination", "/dev").put("type", "tmpfs").put("source", "tmpfs");
    mounts.addObject().put("destination", "/sys").put("type", "sysfs").put("source", "sysfs")
        .putArray("options").add("nosuid").add("noexec").add("nodev").add("ro");
    ObjectNode annotations = spec.putObject("annotations");
    annotations.put("io.kubernetes.cri.container-type", "sandbox");
    annotations.put("io.kubernetes.cri.sandbox-id", pod.sandboxId());
    annotations.put("io.kubernetes.cri.sandbox-name", pod.ref().name());
    annotations.put("io.kubernetes.cri.sandbox-namespace", pod.ref().namespace());
    annotations.put("io.kubernetes.cri.sandbox-uid", pod.ref().uid());
    ObjectNode linux = spec.putObject("linux");
    linux.putObject("resources");
    linux.put("cgroupsPath", pod.sandboxCgroup());
    ArrayNode namespaces = linux.putArray("namespaces");
    for (String type : List.of("pid", "network", "ipc", "uts", "mount")) {
      namespaces.addObject().put("type", type);
    }
    return spec;
  }

  private static void buildInitramfs(Path script, Path out, Path stage, Path work)
      throws IOException, InterruptedException {
    Path log = work.resolve("build-initramfs.log");
    Process build = new ProcessBuilder("bash", script.toString(), out.toString(), stage.toString())
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .start();
    if (!build.waitFor(5, TimeUnit.MINUTES)) {
      build.destroyForcibly();
      throw new AssertionError("building the initramfs took over 5 minutes: " + Files.readString(log));
    }
    if (build.exitValue() != 0) {
      throw new AssertionError("building the initramfs failed (" + script + "): " + Files.readString(log));
    }
  }

  private static String get(String path) {
    try {
      HttpResponse<String> response = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + vm.hostHttpPort() + path))
              .timeout(Duration.ofSeconds(30)).build(),
          HttpResponse.BodyHandlers.ofString());
      return response.body();
    } catch (IOException e) {
      return "(GET " + path + " through qemu's port forward failed: " + e + ")";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "(interrupted)";
    }
  }

  /** Runs {@code body}; if it fails, prints the VM's serial console (and rethrows). */
  private static void inVm(ThrowingRunnable body) throws Exception {
    try {
      body.run();
    } catch (Exception | AssertionError e) {
      if (vm != null) {
        System.err.println("CgroupV2VmIT failed; the VM:\n" + vm.report());
      }
      throw e;
    }
  }

  @FunctionalInterface
  private interface ThrowingRunnable {
    void run() throws Exception;
  }

  private static Duration elapsed(long startedNanos) {
    return Duration.ofNanos(System.nanoTime() - startedNanos);
  }


}
