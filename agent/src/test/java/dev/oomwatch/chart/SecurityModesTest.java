package dev.oomwatch.chart;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.chart.PodSecurityStandards.Level;
import dev.oomwatch.chart.PodSecurityStandards.Violation;
import io.fabric8.kubernetes.api.model.HostPathVolumeSourceBuilder;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodSpecBuilder;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.SecurityContextBuilder;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Each mode's privileges are what the chart README says they are: the container securityContext
 * rendered in the unprivileged and kernel-log modes equals the one the README shows, and the Pod
 * Security Standards level each mode meets — with the controls it does not meet — is the README's.
 */
class SecurityModesTest {
  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

  @Test
  void theUnprivilegedModeRunsAsNobodyWithNoCapabilityOnAReadOnlyRoot() throws IOException {
    RenderedChart chart = RenderedChart.render();
    SecurityContext context = chart.agent().getSecurityContext();

    assertEquals(Boolean.FALSE, context.getPrivileged());
    assertEquals(Boolean.FALSE, context.getAllowPrivilegeEscalation());
    assertEquals(Boolean.TRUE, context.getReadOnlyRootFilesystem());
    assertEquals(Boolean.TRUE, context.getRunAsNonRoot());
    assertEquals(65532L, context.getRunAsUser());
    assertEquals(List.of("ALL"), context.getCapabilities().getDrop());
    assertTrue(context.getCapabilities().getAdd() == null || context.getCapabilities().getAdd().isEmpty());
    assertEquals("RuntimeDefault", context.getSeccompProfile().getType());
    assertEquals("RuntimeDefault", chart.podSpec().getSecurityContext().getSeccompProfile().getType());
    assertFalse(Boolean.TRUE.equals(chart.podSpec().getHostNetwork()) || Boolean.TRUE.equals(chart.podSpec().getHostPID()));
    assertEquals(readmeSecurityContext("unprivileged mode"), context, "README.md shows another securityContext");
  }

  @Test
  void theKernelLogModeIsPrivilegedAsUidZeroAndNothingMore() throws IOException {
    RenderedChart chart = RenderedChart.kernelLogMode();
    SecurityContext context = chart.agent().getSecurityContext();

    assertEquals(Boolean.TRUE, context.getPrivileged());
    assertEquals(0L, context.getRunAsUser());
    assertEquals(Boolean.TRUE, context.getReadOnlyRootFilesystem());
    assertFalse(Boolean.TRUE.equals(chart.podSpec().getHostNetwork()) || Boolean.TRUE.equals(chart.podSpec().getHostPID())
        || Boolean.TRUE.equals(chart.podSpec().getHostIPC()), "the kernel log needs no host namespace");
    assertEquals(readmeSecurityContext("kernel-log mode"), context, "README.md shows another securityContext");
  }

  /**
   * Issue 12: runsc's state files name each sentry by its host pid, which the container's own /proc does
   * not show. Every mode mounts the host's /proc read-only and hands its path to the agent, without
   * hostPID.
   */
  @Test
  void everyModeMountsTheHostsProcReadOnlyAndPointsTheAgentAtIt() throws IOException {
    for (RenderedChart chart : everyMode()) {
      VolumeMount proc = chart.agent().getVolumeMounts().stream().filter(m -> m.getName().equals("host-proc"))
          .findFirst().orElseThrow(() -> new AssertionError("no host /proc mount"));
      assertEquals("/host/proc", proc.getMountPath());
      assertEquals(Boolean.TRUE, proc.getReadOnly());
      Volume volume = chart.podSpec().getVolumes().stream().filter(v -> v.getName().equals("host-proc")).findFirst()
          .orElseThrow();
      assertEquals("/proc", volume.getHostPath().getPath());
      assertTrue(chart.agentConfig().contains("procRoot: " + proc.getMountPath() + "\n"), chart.agentConfig());
      assertFalse(Boolean.TRUE.equals(chart.podSpec().getHostPID()), "no hostPID: a read-only /proc is enough");
    }
  }

  /** Issue 12: as uid 0, no host cgroup or proc file below a read-only mount may stay writable. */
  @Test
  void everyModeThatRunsAsRootMountsTheHostRecursivelyReadOnly() throws IOException {
    for (RenderedChart chart : everyMode()) {
      boolean root = Long.valueOf(0).equals(chart.agent().getSecurityContext().getRunAsUser());
      for (VolumeMount mount : chart.agent().getVolumeMounts()) {
        Volume volume = chart.podSpec().getVolumes().stream().filter(v -> v.getName().equals(mount.getName()))
            .findFirst().orElseThrow();
        if (volume.getHostPath() != null && root && !"CharDevice".equals(volume.getHostPath().getType())) {
          assertEquals("Enabled", mount.getRecursiveReadOnly(), mount.getName() + " as uid 0");
        }
      }
    }
    ChartTools.Result refused = ChartTools.templateResult(List.of("-f",
        ChartTools.chartDir().resolve("ci/kmsg-values.yaml").toString(), "--set", "hostPaths.recursiveReadOnly=IfPossible"));
    assertFalse(refused.ok());
    assertTrue(refused.both().contains("must be Enabled"), refused.both());
  }

  private static List<RenderedChart> everyMode() throws IOException {
    List<RenderedChart> modes = new java.util.ArrayList<>();
    for (java.nio.file.Path values : ChartTools.ciValuesFiles()) {
      modes.add(RenderedChart.render("-f", values.toString()));
    }
    return modes;
  }

  @Test
  void eachModeMeetsThePodSecurityLevelTheReadmeStates() throws IOException {
    String readme = Files.readString(ChartTools.chartDir().resolve("README.md"));
    assertReadmeRow(readme, "unprivileged (default)", RenderedChart.render());
    assertReadmeRow(readme, "unprivileged, uid 0", RenderedChart.render("-f",
        ChartTools.chartDir().resolve("ci/unprivileged-runsc-state-values.yaml").toString()));
    assertReadmeRow(readme, "kernel log", RenderedChart.kernelLogMode());
    assertReadmeRow(readme, "any mode + hostNetwork", RenderedChart.render("--set", "hostNetwork=true"));
  }

  @Test
  void theUnprivilegedModeMissesRestrictedOnlyByItsHostPathMounts() {
    List<Violation> violations = PodSecurityStandards.violations(RenderedChart.render().podSpec());

    assertEquals(List.of(new Violation(Level.BASELINE, "HostPath Volumes"), new Violation(Level.RESTRICTED, "Volume Types")),
        violations);
  }

  @Test
  void theEvaluatorTellsTheLevelsApart() {
    PodSpec restricted = new PodSpecBuilder()
        .withNewSecurityContext().withRunAsNonRoot(true).withNewSeccompProfile().withType("RuntimeDefault")
          .endSeccompProfile().endSecurityContext()
        .addNewContainer().withName("c").withImage("i")
          .withSecurityContext(new SecurityContextBuilder().withAllowPrivilegeEscalation(false)
              .withNewCapabilities().withDrop("ALL").endCapabilities().build())
        .endContainer()
        .addNewVolume().withName("v").withNewEmptyDir().endEmptyDir().endVolume()
        .build();
    PodSpec baseline = new PodSpecBuilder(restricted).editFirstContainer()
        .editSecurityContext().withAllowPrivilegeEscalation(true).endSecurityContext().endContainer().build();
    PodSpec hostPath = new PodSpecBuilder(restricted).addNewVolume().withName("h")
        .withHostPath(new HostPathVolumeSourceBuilder().withPath("/").build()).endVolume().build();

    assertEquals(Level.RESTRICTED, PodSecurityStandards.level(restricted));
    assertEquals(Level.BASELINE, PodSecurityStandards.level(baseline));
    assertEquals(Level.PRIVILEGED, PodSecurityStandards.level(hostPath));
  }

  private static void assertReadmeRow(String readme, String mode, RenderedChart chart) {
    List<Violation> violations = PodSecurityStandards.violations(chart.podSpec());
    String expected = "| " + PodSecurityStandards.level(chart.podSpec()).name().toLowerCase(java.util.Locale.ROOT)
        + " | " + PodSecurityStandards.describe(violations) + " |";
    String row = readme.lines().filter(l -> l.startsWith("| " + mode + " |")).findFirst()
        .orElseThrow(() -> new AssertionError("README.md has no row for " + mode + "; expected it to end with " + expected));
    assertTrue(row.endsWith(expected), "README.md's row for " + mode + ":\n" + row + "\nshould end with\n" + expected);
  }

  /** The YAML block in the README whose first line is {@code # <mode>: ...securityContext...}. */
  private static SecurityContext readmeSecurityContext(String mode) throws IOException {
    String readme = Files.readString(ChartTools.chartDir().resolve("README.md"));
    Matcher block = Pattern.compile("```yaml\\n# " + Pattern.quote(mode) + "[^\\n]*securityContext[^\\n]*\\n(.*?)```",
        Pattern.DOTALL).matcher(readme);
    assertTrue(block.find(), "README.md has no ```yaml block starting with \"# " + mode + " ... securityContext\"");
    return SERIALIZATION.unmarshal(block.group(1), SecurityContext.class);
  }
}
