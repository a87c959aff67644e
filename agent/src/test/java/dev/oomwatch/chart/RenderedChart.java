package dev.oomwatch.chart;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import java.util.ArrayList;
import java.util.List;

/**
 * The chart rendered with some values, parsed strictly ({@link StrictModel}), with accessors for the
 * objects the checks look at. Immutable.
 */
record RenderedChart(List<String> helmArgs, List<HasMetadata> objects) {
  /** Renders the chart with {@code helmArgs} ({@code -f file}, {@code --set k=v}). */
  static RenderedChart render(String... helmArgs) {
    List<String> args = List.of(helmArgs);
    return new RenderedChart(args, StrictModel.parseAll(ChartTools.template(args)));
  }

  /** The kernel-log mode's values file. */
  static RenderedChart kernelLogMode() {
    return render("-f", ChartTools.chartDir().resolve("ci/kmsg-values.yaml").toString());
  }

  <T extends HasMetadata> List<T> all(Class<T> type) {
    List<T> found = new ArrayList<>();
    for (HasMetadata object : objects) {
      if (type.isInstance(object)) {
        found.add(type.cast(object));
      }
    }
    return found;
  }

  <T extends HasMetadata> T one(Class<T> type) {
    List<T> found = all(type);
    assertEquals(1, found.size(), "expected one " + type.getSimpleName() + " rendered with " + helmArgs);
    return found.get(0);
  }

  DaemonSet daemonSet() {
    return one(DaemonSet.class);
  }

  PodSpec podSpec() {
    return daemonSet().getSpec().getTemplate().getSpec();
  }

  Container agent() {
    return podSpec().getContainers().stream().filter(c -> c.getName().equals("agent")).findFirst()
        .orElseThrow(() -> new AssertionError("no container named agent"));
  }

  ClusterRole clusterRole() {
    return one(ClusterRole.class);
  }

  /** The agent's config file, as its ConfigMap carries it (the dashboard's ConfigMap may be rendered too). */
  String agentConfig() {
    List<String> configs = all(ConfigMap.class).stream().filter(c -> c.getData() != null)
        .map(c -> c.getData().get("config.yaml")).filter(java.util.Objects::nonNull).toList();
    assertEquals(1, configs.size(), "expected one ConfigMap with config.yaml rendered with " + helmArgs);
    return configs.get(0);
  }
}
