package dev.oomwatch.e2e.deployed;

import io.fabric8.kubernetes.api.model.Capabilities;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KeyToPath;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The agent's container as the rendered chart describes it, resolved as kubelet and the container
 * runtime would resolve it on one node: the command (the image's entrypoint unless the chart sets one)
 * and args, the environment (the image's, then the chart's; {@code fieldRef spec.nodeName} is the
 * node's name), every volume mount with its volume, and the security settings that decide the process's
 * uid, gid, capabilities and read-only mounts. A field this test cannot honour (a {@code subPath}, a
 * {@code secret} volume, {@code envFrom}...) fails it rather than being skipped silently. Immutable.
 */
record ChartContainer(List<String> command, Map<String, String> env, List<Mount> mounts, Security security,
    int metricsPort, Duration terminationGracePeriod) {

  /** Capabilities containerd gives a non-privileged container by default (its OCI spec defaults). */
  static final Set<String> RUNTIME_DEFAULT_CAPABILITIES = Set.of("CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER",
      "MKNOD", "NET_RAW", "SETGID", "SETUID", "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL",
      "AUDIT_WRITE");

  /** Where a mount's content comes from. */
  sealed interface Source permits HostPath, ConfigMapFiles, EmptyDir {}

  /** A hostPath volume: {@code type} as the chart gives it ("" for none). */
  record HostPath(String path, String type) implements Source {}

  /** A configMap volume: file name to content. */
  record ConfigMapFiles(String configMap, Map<String, String> files) implements Source {}

  /** An emptyDir volume, with its size limit if any (e.g. {@code 16Mi}). */
  record EmptyDir(Optional<String> sizeLimit) implements Source {}

  /** One volume mount: where in the container, from what, and how read-only. */
  record Mount(String volume, String containerPath, Source source, boolean readOnly, boolean recursiveReadOnly) {}

  /**
   * The process's identity: {@code capabilities} is what it keeps (upper case, without {@code CAP_});
   * a privileged one keeps them all.
   */
  record Security(long uid, long gid, boolean privileged, Set<String> capabilities, boolean noNewPrivileges,
      boolean readOnlyRootFilesystem) {}

  /** The container named {@code agent} of the one DaemonSet in {@code objects}, for node {@code nodeName}. */
  static ChartContainer of(List<HasMetadata> objects, DockerImage image, String nodeName) {
    List<DaemonSet> daemonSets = objects.stream().filter(DaemonSet.class::isInstance).map(DaemonSet.class::cast).toList();
    if (daemonSets.size() != 1) {
      throw new AssertionError("expected one DaemonSet in the rendered chart, found " + daemonSets.size());
    }
    PodSpec pod = daemonSets.get(0).getSpec().getTemplate().getSpec();
    Container container = pod.getContainers().stream().filter(c -> "agent".equals(c.getName())).findFirst()
        .orElseThrow(() -> new AssertionError("the DaemonSet has no container named agent"));
    if (!pod.getInitContainers().isEmpty()) {
      throw new AssertionError("init containers are not run by this test: " + pod.getInitContainers());
    }
    if (!container.getEnvFrom().isEmpty()) {
      throw new AssertionError("envFrom is not resolved by this test: " + container.getEnvFrom());
    }

    List<String> command = new ArrayList<>(container.getCommand().isEmpty() ? image.entrypoint() : container.getCommand());
    command.addAll(container.getArgs().isEmpty() && container.getCommand().isEmpty() ? image.cmd() : container.getArgs());

    Map<String, String> env = new LinkedHashMap<>(image.env());
    for (EnvVar var : container.getEnv()) {
      env.put(var.getName(), envValue(var, nodeName));
    }

    List<Mount> mounts = new ArrayList<>();
    for (VolumeMount mount : container.getVolumeMounts()) {
      if (mount.getSubPath() != null && !mount.getSubPath().isEmpty()
          || mount.getSubPathExpr() != null && !mount.getSubPathExpr().isEmpty()) {
        throw new AssertionError("subPath mounts are not supported by this test: " + mount);
      }
      Volume volume = pod.getVolumes().stream().filter(v -> v.getName().equals(mount.getName())).findFirst()
          .orElseThrow(() -> new AssertionError("volumeMount " + mount.getName() + " names no volume"));
      String rro = mount.getRecursiveReadOnly() == null ? "Disabled" : mount.getRecursiveReadOnly();
      boolean readOnly = Boolean.TRUE.equals(mount.getReadOnly());
      if (!List.of("Disabled", "Enabled", "IfPossible").contains(rro) || !"Disabled".equals(rro) && !readOnly) {
        throw new AssertionError("recursiveReadOnly " + rro + " on " + mount.getMountPath()
            + " (the API server refuses it without readOnly, and knows only Disabled, Enabled, IfPossible)");
      }
      // this kernel (>= 5.12, mount_setattr) can: IfPossible is Enabled here
      mounts.add(new Mount(mount.getName(), mount.getMountPath(), source(volume, objects), readOnly,
          !"Disabled".equals(rro)));
    }
    mounts.sort(Comparator.comparing(Mount::containerPath)); // parents before what is mounted inside them

    return new ChartContainer(List.copyOf(command), env, List.copyOf(mounts), security(container, pod, image),
        metricsPort(container), Duration.ofSeconds(Optional.ofNullable(pod.getTerminationGracePeriodSeconds()).orElse(30L)));
  }

  /** The same container without the mounts of the hostPath {@code hostPath} (what a test takes away). */
  ChartContainer withoutHostPath(String hostPath) {
    List<Mount> kept = mounts.stream()
        .filter(m -> !(m.source() instanceof HostPath h && h.path().equals(hostPath))).toList();
    if (kept.size() == mounts.size()) {
      throw new AssertionError("the chart mounts no hostPath " + hostPath + "; its mounts: " + mounts);
    }
    return new ChartContainer(command, env, kept, security, metricsPort, terminationGracePeriod);
  }

  /** Whether a hostPath {@code hostPath} is mounted, and where. */
  Optional<Mount> hostPathMount(String hostPath) {
    return mounts.stream().filter(m -> m.source() instanceof HostPath h && h.path().equals(hostPath)).findFirst();
  }

  private static String envValue(EnvVar var, String nodeName) {
    if (var.getValueFrom() == null) {
      return var.getValue() == null ? "" : var.getValue();
    }
    if (var.getValueFrom().getFieldRef() != null) {
      String field = var.getValueFrom().getFieldRef().getFieldPath();
      if ("spec.nodeName".equals(field)) {
        return nodeName;
      }
      throw new AssertionError("env " + var.getName() + ": fieldRef " + field + " is not resolved by this test");
    }
    throw new AssertionError("env " + var.getName() + ": valueFrom " + var.getValueFrom() + " is not resolved by this test");
  }

  private static Source source(Volume volume, List<HasMetadata> objects) {
    if (volume.getHostPath() != null) {
      String type = volume.getHostPath().getType() == null ? "" : volume.getHostPath().getType();
      return new HostPath(volume.getHostPath().getPath(), type);
    }
    if (volume.getEmptyDir() != null) {
      String medium = volume.getEmptyDir().getMedium();
      if (medium != null && !medium.isEmpty() && !"Memory".equals(medium)) {
        throw new AssertionError("emptyDir medium " + medium + " is not supported by this test");
      }
      return new EmptyDir(Optional.ofNullable(volume.getEmptyDir().getSizeLimit()).map(q -> q.toString()));
    }
    if (volume.getConfigMap() != null) {
      String name = volume.getConfigMap().getName();
      ConfigMap configMap = objects.stream().filter(ConfigMap.class::isInstance).map(ConfigMap.class::cast)
          .filter(c -> c.getMetadata().getName().equals(name)).findFirst()
          .orElseThrow(() -> new AssertionError("volume " + volume.getName() + " names ConfigMap " + name
              + ", which the chart does not render"));
      Map<String, String> data = configMap.getData() == null ? Map.of() : configMap.getData();
      Map<String, String> files = new TreeMap<>();
      if (volume.getConfigMap().getItems().isEmpty()) {
        files.putAll(data);
      } else {
        for (KeyToPath item : volume.getConfigMap().getItems()) {
          if (!data.containsKey(item.getKey())) {
            throw new AssertionError("ConfigMap " + name + " has no key " + item.getKey());
          }
          files.put(item.getPath(), data.get(item.getKey()));
        }
      }
      if (files.keySet().stream().anyMatch(f -> f.contains("/"))) {
        throw new AssertionError("ConfigMap files in subdirectories are not supported by this test: " + files.keySet());
      }
      return new ConfigMapFiles(name, Map.copyOf(files));
    }
    throw new AssertionError("volume " + volume.getName() + " is of a kind this test does not mount: " + volume);
  }

  private static Security security(Container container, PodSpec pod, DockerImage image) {
    SecurityContext context = Optional.ofNullable(container.getSecurityContext()).orElseGet(SecurityContext::new);
    PodSecurityContext podContext = Optional.ofNullable(pod.getSecurityContext()).orElseGet(PodSecurityContext::new);
    String[] imageUser = image.user().orElse("0").split(":", 2);
    long uid = firstOf(context.getRunAsUser(), podContext.getRunAsUser(), Long.parseLong(imageUser[0]));
    long gid = firstOf(context.getRunAsGroup(), podContext.getRunAsGroup(),
        imageUser.length > 1 ? Long.parseLong(imageUser[1]) : 0L);
    boolean runAsNonRoot = Boolean.TRUE.equals(context.getRunAsNonRoot() != null ? context.getRunAsNonRoot()
        : podContext.getRunAsNonRoot());
    if (runAsNonRoot && uid == 0) {
      throw new AssertionError("runAsNonRoot with uid 0: kubelet would refuse to start the container");
    }
    boolean privileged = Boolean.TRUE.equals(context.getPrivileged());
    Set<String> capabilities = new TreeSet<>(RUNTIME_DEFAULT_CAPABILITIES);
    Capabilities changes = context.getCapabilities();
    if (changes != null) {
      List<String> drop = changes.getDrop().stream().map(ChartContainer::capabilityName).toList();
      if (drop.contains("ALL")) {
        capabilities.clear();
      } else {
        capabilities.removeAll(drop);
      }
      changes.getAdd().stream().map(ChartContainer::capabilityName).forEach(capabilities::add);
    }
    if (!privileged && capabilities.contains("ALL")) {
      throw new AssertionError("capabilities add ALL is not resolved by this test");
    }
    boolean noNewPrivileges = Boolean.FALSE.equals(context.getAllowPrivilegeEscalation());
    if (noNewPrivileges && (privileged || capabilities.contains("SYS_ADMIN"))) {
      throw new AssertionError("allowPrivilegeEscalation false with privileged or CAP_SYS_ADMIN: the API server refuses it");
    }
    return new Security(uid, gid, privileged, privileged ? Set.of() : Set.copyOf(capabilities),
        noNewPrivileges, Boolean.TRUE.equals(context.getReadOnlyRootFilesystem()));
  }

  private static String capabilityName(String name) {
    String upper = name.toUpperCase(Locale.ROOT);
    return upper.startsWith("CAP_") ? upper.substring(4) : upper;
  }

  private static long firstOf(Long container, Long pod, long image) {
    return container != null ? container : pod != null ? pod : image;
  }

  private static int metricsPort(Container container) {
    return container.getPorts().stream().filter(p -> "metrics".equals(p.getName())).map(ContainerPort::getContainerPort)
        .findFirst().orElseThrow(() -> new AssertionError("the agent container has no port named metrics"));
  }
}
