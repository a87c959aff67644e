package dev.oomwatch.chart;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.oomwatch.app.AgentConfig;
import dev.oomwatch.app.ConfigLoader;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The chart, checked without a cluster: {@code helm lint}, {@code helm template} with the default values
 * and every {@code ci/*-values.yaml}, each rendered object parsed strictly into fabric8's typed model,
 * the CRDs identical to the project's, the agent's config accepted by the agent's own loader, the
 * values schema enforced, and the DaemonSet's contract (downward API, probes, read-only host mounts).
 */
class HelmChartTest {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  @TempDir Path dir;

  static Stream<Arguments> everyMode() throws IOException {
    List<Arguments> modes = new ArrayList<>();
    modes.add(Arguments.of("chart defaults", List.of()));
    for (Path file : ChartTools.ciValuesFiles()) {
      modes.add(Arguments.of(file.getFileName().toString(), List.of("-f", file.toString())));
    }
    return modes.stream();
  }

  @ParameterizedTest(name = "helm lint --strict, {0}")
  @MethodSource("everyMode")
  void lintIsClean(String mode, List<String> valuesArgs) {
    ChartTools.require("helm", "version");
    List<String> args = new ArrayList<>(List.of("lint", "--strict", ChartTools.chartDir().toString()));
    args.addAll(valuesArgs);
    ChartTools.Result lint = ChartTools.helm(args);

    assertTrue(lint.ok(), lint.both());
    assertFalse(lint.stdout().contains("[WARNING]") || lint.stdout().contains("[ERROR]"), lint.both());
  }

  @ParameterizedTest(name = "helm template, {0}")
  @MethodSource("everyMode")
  void everyRenderedObjectParsesStrictlyIntoTheTypedModel(String mode, List<String> valuesArgs) {
    RenderedChart chart = RenderedChart.render(valuesArgs.toArray(String[]::new));

    Set<String> kinds = chart.objects().stream().map(HasMetadata::getKind).collect(Collectors.toCollection(TreeSet::new));
    assertTrue(kinds.containsAll(Set.of("DaemonSet", "ConfigMap", "ServiceAccount", "ClusterRole",
        "ClusterRoleBinding")), "rendered kinds: " + kinds);
    for (HasMetadata object : chart.objects()) {
      assertTrue(object.getMetadata().getName().length() <= 63, object.getMetadata().getName());
      assertEquals("gvisor-oom-watcher", object.getMetadata().getLabels().get("app.kubernetes.io/name"));
    }
  }

  @Test
  void theChartsCrdsAreTheProjectsCrdsByteForByte() throws IOException {
    Path projectCrds = ChartTools.projectDir().resolve("crds");
    Path chartCrds = ChartTools.chartDir().resolve("crds");
    List<String> names = fileNames(projectCrds);

    assertFalse(names.isEmpty(), "no CRD in " + projectCrds);
    assertEquals(names, fileNames(chartCrds), "copy crds/ into the chart: cp crds/* " + chartCrds);
    for (String name : names) {
      assertArrayEquals(Files.readAllBytes(projectCrds.resolve(name)), Files.readAllBytes(chartCrds.resolve(name)),
          "the chart's " + name + " differs from crds/" + name + ": cp crds/" + name + " " + chartCrds);
    }
  }

  @Test
  void theCrdsInstalledByHelmParseStrictly() {
    List<HasMetadata> objects = StrictModel.parseAll(ChartTools.template(List.of("--include-crds")));

    assertTrue(objects.stream().anyMatch(o -> o.getKind().equals("CustomResourceDefinition")
        && o.getMetadata().getName().equals("oomincidents.oomwatch.dev")));
  }

  @ParameterizedTest(name = "the agent accepts its config, {0}")
  @MethodSource("everyMode")
  void theAgentsOwnConfigLoaderAcceptsTheRenderedConfig(String mode, List<String> valuesArgs) throws IOException {
    RenderedChart chart = RenderedChart.render(valuesArgs.toArray(String[]::new));
    Path file = Files.writeString(dir.resolve("config.yaml"), chart.agentConfig());
    Map<String, Object> keys = YAML.readValue(file.toFile(), new TypeReference<>() {});

    assertTrue(ConfigLoader.KEYS.containsAll(keys.keySet()), keys.keySet() + " not all in " + ConfigLoader.KEYS);
    // the container's paths exist only in the pod; here the loader checks every other key
    AgentConfig config = ConfigLoader.load(Optional.of(file), Map.of("NODE_NAME", "node-a"),
        Map.of("cgroupRoot", dir.toString(), "procRoot", dir.toString()));
    Container agent = chart.agent();
    assertEquals(config.httpPort(), agent.getPorts().get(0).getContainerPort());
    assertEquals(mountPath(agent, "cgroup"), keys.get("cgroupRoot"));
    assertEquals(mountPath(agent, "runsc-root"), keys.get("runscRoot"));
    assertEquals(mountPath(agent, "host-proc"), keys.get("procRoot"));
    boolean kmsgMounted = agent.getVolumeMounts().stream().anyMatch(m -> m.getName().equals("kmsg"));
    assertEquals(kmsgMounted ? Optional.of(Path.of("/dev/kmsg")) : Optional.empty(), config.kmsg());
    assertEquals(List.of("agent", "--config", "/etc/gvisor-oom-watcher/config.yaml"), agent.getArgs());
  }

  @Test
  void aSettingTheAgentGainsLaterNeedsNoTemplateChange() {
    String config = RenderedChart.render("--set", "config.someFutureSetting=42").agentConfig();

    assertTrue(config.contains("someFutureSetting: 42"), config);
  }

  @Test
  void keysTheChartOwnsCannotBeSetInConfig() {
    for (String key : List.of("nodeName", "kubeconfig", "cgroupRoot", "runscRoot", "kmsg")) {
      ChartTools.Result result = ChartTools.templateResult(List.of("--set", "config." + key + "=/x"));

      assertFalse(result.ok(), key + " was accepted");
      assertTrue(result.stderr().contains("config." + key + " is set by the chart"), result.both());
    }
  }

  @Test
  void theValuesSchemaRejectsWrongTypesAndUnknownValues() {
    assertSchemaRejects(List.of("--set", "config.httpPort=metrics"), "config.httpPort: Invalid type");
    assertSchemaRejects(List.of("--set", "kernelLog.enabled=yes"), "kernelLog.enabled: Invalid type");
    assertSchemaRejects(List.of("--set", "image.digest=latest"), "image.digest");
    assertSchemaRejects(List.of("--set", "kernelLg.enabled=true"), "Additional property kernelLg is not allowed");
    assertSchemaRejects(List.of("--set", "logFormat=xml"), "logFormat");
  }

  @Test
  void logLinesAreTextUnlessJsonIsAskedFor() {
    assertEquals("text", env(RenderedChart.render().agent(), "OOMWATCH_LOG_FORMAT"));
    assertEquals("json", env(RenderedChart.render("--set", "logFormat=json").agent(), "OOMWATCH_LOG_FORMAT"));
  }

  private static String env(Container container, String name) {
    return container.getEnv().stream().filter(e -> e.getName().equals(name)).findFirst().orElseThrow().getValue();
  }

  @Test
  void aConfigChangeRollsThePodsButAChartBumpDoesNot() {
    Map<String, String> defaults = podLabelsAndChecksum(RenderedChart.render());
    Map<String, String> changed = podLabelsAndChecksum(RenderedChart.render("--set", "config.pendingCapacity=7"));

    assertNotEquals(defaults.get("checksum/config"), changed.get("checksum/config"));
    assertFalse(defaults.keySet().stream().anyMatch(k -> k.equals("helm.sh/chart") || k.endsWith("/version")),
        "the pod template carries a version label, so a chart bump would restart every agent: " + defaults);
  }

  @Test
  void theDaemonSetRunsOneAgentPerNodeAsTheAgentExpects() {
    RenderedChart chart = RenderedChart.render();
    DaemonSet daemonSet = chart.daemonSet();
    PodSpec pod = chart.podSpec();
    Container agent = chart.agent();

    assertEquals("RollingUpdate", daemonSet.getSpec().getUpdateStrategy().getType());
    assertEquals(1, daemonSet.getSpec().getUpdateStrategy().getRollingUpdate().getMaxUnavailable().getIntVal());
    EnvVar nodeName = agent.getEnv().stream().filter(e -> e.getName().equals("NODE_NAME")).findFirst().orElseThrow();
    assertEquals("spec.nodeName", nodeName.getValueFrom().getFieldRef().getFieldPath());
    assertEquals("metrics", agent.getPorts().get(0).getName());
    assertEquals("/healthz", agent.getLivenessProbe().getHttpGet().getPath());
    assertEquals("metrics", agent.getLivenessProbe().getHttpGet().getPort().getStrVal());
    assertEquals("/readyz", agent.getReadinessProbe().getHttpGet().getPath());
    assertEquals("system-node-critical", pod.getPriorityClassName());
    assertEquals(chart.one(ServiceAccount.class).getMetadata().getName(), pod.getServiceAccountName());
    assertTrue(agent.getEnv().stream().anyMatch(e -> e.getName().equals("JDK_JAVA_OPTIONS")
        && e.getValue().contains("-XX:+UseSerialGC") && e.getValue().contains("-Xmx")));
    for (VolumeMount mount : agent.getVolumeMounts()) {
      Volume volume = volume(pod, mount.getName());
      if (volume.getHostPath() != null) {
        assertTrue(Boolean.TRUE.equals(mount.getReadOnly()), "host mount " + mount.getName() + " is writable");
        assertTrue(mount.getMountPath().startsWith("/host/") || mount.getMountPath().equals("/dev/kmsg"),
            mount.getMountPath());
      }
    }
    assertEquals("/sys/fs/cgroup", volume(pod, "cgroup").getHostPath().getPath());
    assertEquals("Directory", volume(pod, "cgroup").getHostPath().getType());
    assertEquals("/run/containerd/runsc/k8s.io", volume(pod, "runsc-root").getHostPath().getPath());
    assertEquals("DirectoryOrCreate", volume(pod, "runsc-root").getHostPath().getType());
    assertTrue(pod.getVolumes().stream().noneMatch(v -> v.getName().equals("kmsg")));
    assertTrue(chart.all(Service.class).isEmpty() && chart.all(ServiceMonitor.class).isEmpty(),
        "Service and ServiceMonitor are opt-in");
    ClusterRoleBinding binding = chart.one(ClusterRoleBinding.class);
    assertEquals(chart.one(ClusterRole.class).getMetadata().getName(), binding.getRoleRef().getName());
    assertEquals(pod.getServiceAccountName(), binding.getSubjects().get(0).getName());
    assertEquals("oomwatch-system", binding.getSubjects().get(0).getNamespace());
  }

  @Test
  void theKernelLogModeMountsTheDeviceAndTurnsKmsgOn() {
    RenderedChart chart = RenderedChart.kernelLogMode();

    assertEquals("CharDevice", volume(chart.podSpec(), "kmsg").getHostPath().getType());
    assertEquals("/dev/kmsg", volume(chart.podSpec(), "kmsg").getHostPath().getPath());
    assertEquals("/dev/kmsg", mountPath(chart.agent(), "kmsg"));
    assertTrue(chart.agentConfig().contains("kmsg: /dev/kmsg"), chart.agentConfig());
    assertTrue(RenderedChart.render().agentConfig().contains("kmsg: \"off\""));
    assertEquals("gvisor", chart.podSpec().getNodeSelector().get("runtime"));
  }

  @Test
  void theMonitoringModeScrapesEveryAgentThroughAHeadlessService() throws IOException {
    RenderedChart chart = RenderedChart.render("-f",
        ChartTools.chartDir().resolve("ci/monitoring-values.yaml").toString());
    Service service = chart.one(Service.class);
    ServiceMonitor monitor = chart.one(ServiceMonitor.class);

    assertEquals("None", service.getSpec().getClusterIP());
    assertTrue(service.getSpec().getPublishNotReadyAddresses());
    assertEquals(chart.daemonSet().getSpec().getSelector().getMatchLabels(), service.getSpec().getSelector());
    assertEquals("metrics", service.getSpec().getPorts().get(0).getTargetPort().getStrVal());
    assertEquals(service.getSpec().getSelector(), monitor.getSpec().getSelector().getMatchLabels());
    assertEquals("metrics", monitor.getSpec().getEndpoints().get(0).getPort());
    assertEquals("kube-prometheus-stack", monitor.getMetadata().getLabels().get("release"));
    assertEquals(9500, chart.agent().getPorts().get(0).getContainerPort());
    assertEquals("registry.example.com/oomwatch/gvisor-oom-watcher:0.1.0@sha256:" + "0".repeat(64),
        chart.agent().getImage());
    assertEquals("ClusterFirstWithHostNet", chart.podSpec().getDnsPolicy());
    assertEquals("IfPossible", chart.agent().getVolumeMounts().stream()
        .filter(m -> m.getName().equals("cgroup")).findFirst().orElseThrow().getRecursiveReadOnly());
  }

  @Test
  void aServiceMonitorWithoutItsServiceIsRefused() {
    ChartTools.Result result = ChartTools.templateResult(List.of("--set", "serviceMonitor.enabled=true"));

    assertFalse(result.ok());
    assertTrue(result.stderr().contains("serviceMonitor.enabled needs service.enabled=true"), result.both());
  }

  @Test
  void longNamesAreCutTo63Characters() {
    // helm's longest release name (53) plus "-gvisor-oom-watcher" is 72 characters
    String release = "a-release-name-as-long-as-helm-allows-53-characters-x";
    ChartTools.require("helm", "version");
    ChartTools.Result result = ChartTools.helm(List.of("template", release, ChartTools.chartDir().toString()));

    assertTrue(result.ok(), result.both());
    for (HasMetadata object : StrictModel.parseAll(result.stdout())) {
      String name = object.getMetadata().getName();
      assertTrue(name.length() <= 63 && !name.endsWith("-"), name);
    }
  }

  @Test
  void noPublishedImageIsAssumedAndTheTagDefaultsToTheAppVersion() throws IOException {
    String chartYaml = Files.readString(ChartTools.chartDir().resolve("Chart.yaml"));
    String appVersion = chartYaml.lines().filter(l -> l.startsWith("appVersion:")).findFirst().orElseThrow()
        .replaceAll("appVersion:\\s*\"?([^\"]*)\"?", "$1");

    assertEquals("gvisor-oom-watcher:" + appVersion, RenderedChart.render().agent().getImage());
  }

  private static void assertSchemaRejects(List<String> args, String expected) {
    ChartTools.Result result = ChartTools.templateResult(args);

    assertFalse(result.ok(), args + " was accepted");
    assertTrue(result.stderr().contains("values don't meet the specifications of the schema"), result.both());
    assertTrue(result.stderr().contains(expected), result.both());
  }

  private static Map<String, String> podLabelsAndChecksum(RenderedChart chart) {
    var metadata = chart.daemonSet().getSpec().getTemplate().getMetadata();
    Map<String, String> all = new java.util.HashMap<>(metadata.getLabels());
    all.putAll(metadata.getAnnotations());
    return all;
  }

  private static Volume volume(PodSpec pod, String name) {
    return pod.getVolumes().stream().filter(v -> v.getName().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no volume " + name));
  }

  private static String mountPath(Container container, String volume) {
    return container.getVolumeMounts().stream().filter(m -> m.getName().equals(volume)).findFirst()
        .orElseThrow(() -> new AssertionError("no mount of " + volume)).getMountPath();
  }

  private static List<String> fileNames(Path dir) throws IOException {
    try (var files = Files.list(dir)) {
      return files.map(f -> f.getFileName().toString()).sorted().toList();
    }
  }
}
