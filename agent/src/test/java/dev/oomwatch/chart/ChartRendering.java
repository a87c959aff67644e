package dev.oomwatch.chart;

import io.fabric8.kubernetes.api.model.HasMetadata;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The chart checks' helm runner and strict parser ({@link ChartTools}, {@link StrictModel}) for tests in
 * other packages, e.g. the end-to-end test that runs the agent the way the rendered DaemonSet says
 * ({@code dev.oomwatch.e2e.deployed}). Same behaviour: a missing helm fails under {@code CI=true} and
 * skips elsewhere; a rendering with a field its schema does not know fails. Stateless; thread-safe.
 */
public final class ChartRendering {
  private ChartRendering() {}

  /** {@code charts/gvisor-oom-watcher}. */
  public static Path chartDir() {
    return ChartTools.chartDir();
  }

  /** The chart's {@code ci/*-values.yaml} files, sorted. */
  public static List<Path> ciValuesFiles() throws IOException {
    return ChartTools.ciValuesFiles();
  }

  /**
   * {@code helm template} of release {@code oomwatch} in namespace {@code oomwatch-system} with
   * {@code helmArgs} ({@code -f file}, {@code --set k=v}), parsed strictly into typed objects.
   */
  public static List<HasMetadata> render(List<String> helmArgs) {
    return RenderedChart.render(helmArgs.toArray(String[]::new)).objects();
  }
}
