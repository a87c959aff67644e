package dev.oomwatch.chart;

import io.fabric8.kubernetes.api.model.Capabilities;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.SeccompProfile;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Volume;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The Kubernetes Pod Security Standards' controls (kubernetes.io/docs/concepts/security/pod-security-standards,
 * the "Baseline" and "Restricted" tables), evaluated on a PodSpec the way the PodSecurity admission
 * controller evaluates them, for the pod's containers and init containers. Windows-only and
 * annotation-only details are left out (the chart sets neither). Stateless; thread-safe.
 */
final class PodSecurityStandards {
  enum Level { PRIVILEGED, BASELINE, RESTRICTED }

  /** A control of {@code level} (baseline controls bind restricted too) that the pod does not meet. */
  record Violation(Level level, String control) {}

  private static final Set<String> BASELINE_CAPABILITIES = Set.of("AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER",
      "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT");
  private static final Set<String> SELINUX_TYPES = Set.of("", "container_t", "container_init_t", "container_kvm_t",
      "container_engine_t");
  private static final Set<String> SAFE_SYSCTLS = Set.of("kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range",
      "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range",
      "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
      "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes");

  private PodSecurityStandards() {}

  /** The controls the pod does not meet, baseline ones first, each once, in the tables' order. */
  static List<Violation> violations(PodSpec pod) {
    Set<Violation> found = new LinkedHashSet<>();
    PodSecurityContext podContext = pod.getSecurityContext() == null ? new PodSecurityContext() : pod.getSecurityContext();
    List<Container> containers = Stream.concat(pod.getContainers().stream(),
        pod.getInitContainers() == null ? Stream.empty() : pod.getInitContainers().stream()).toList();

    // Baseline
    if (isTrue(pod.getHostNetwork()) || isTrue(pod.getHostPID()) || isTrue(pod.getHostIPC())) {
      found.add(new Violation(Level.BASELINE, "Host Namespaces"));
    }
    if (containers.stream().anyMatch(c -> isTrue(context(c).getPrivileged()))) {
      found.add(new Violation(Level.BASELINE, "Privileged Containers"));
    }
    if (containers.stream().flatMap(c -> added(context(c)).stream()).anyMatch(cap -> !BASELINE_CAPABILITIES.contains(cap))) {
      found.add(new Violation(Level.BASELINE, "Capabilities"));
    }
    if (volumes(pod).stream().anyMatch(v -> v.getHostPath() != null)) {
      found.add(new Violation(Level.BASELINE, "HostPath Volumes"));
    }
    if (containers.stream().flatMap(c -> c.getPorts() == null ? Stream.empty() : c.getPorts().stream())
        .anyMatch(p -> p.getHostPort() != null && p.getHostPort() != 0)) {
      found.add(new Violation(Level.BASELINE, "Host Ports"));
    }
    boolean unconfinedAppArmor = (podContext.getAppArmorProfile() != null
        && "Unconfined".equals(podContext.getAppArmorProfile().getType()))
        || containers.stream().anyMatch(c -> context(c).getAppArmorProfile() != null
            && "Unconfined".equals(context(c).getAppArmorProfile().getType()));
    if (unconfinedAppArmor) {
      found.add(new Violation(Level.BASELINE, "AppArmor"));
    }
    boolean badSelinux = Stream.concat(Stream.of(podContext.getSeLinuxOptions()),
            containers.stream().map(c -> context(c).getSeLinuxOptions()))
        .filter(Objects::nonNull)
        .anyMatch(o -> !SELINUX_TYPES.contains(o.getType() == null ? "" : o.getType())
            || o.getUser() != null || o.getRole() != null);
    if (badSelinux) {
      found.add(new Violation(Level.BASELINE, "SELinux"));
    }
    if (containers.stream().anyMatch(c -> context(c).getProcMount() != null && !"Default".equals(context(c).getProcMount()))) {
      found.add(new Violation(Level.BASELINE, "/proc Mount Type"));
    }
    if (isType(podContext.getSeccompProfile(), "Unconfined")
        || containers.stream().anyMatch(c -> isType(context(c).getSeccompProfile(), "Unconfined"))) {
      found.add(new Violation(Level.BASELINE, "Seccomp"));
    }
    if (podContext.getSysctls() != null && podContext.getSysctls().stream().anyMatch(s -> !SAFE_SYSCTLS.contains(s.getName()))) {
      found.add(new Violation(Level.BASELINE, "Sysctls"));
    }

    // Restricted
    Set<String> allowedVolumes = Set.of("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
        "persistentVolumeClaim", "projected", "secret");
    if (volumes(pod).stream().anyMatch(v -> !allowedVolumes.contains(volumeType(v)))) {
      found.add(new Violation(Level.RESTRICTED, "Volume Types"));
    }
    if (containers.stream().anyMatch(c -> !Boolean.FALSE.equals(context(c).getAllowPrivilegeEscalation()))) {
      found.add(new Violation(Level.RESTRICTED, "Privilege Escalation"));
    }
    boolean nonRoot = containers.stream().allMatch(c -> context(c).getRunAsNonRoot() != null
        ? context(c).getRunAsNonRoot() : isTrue(podContext.getRunAsNonRoot()));
    if (!nonRoot) {
      found.add(new Violation(Level.RESTRICTED, "Running as Non-root"));
    }
    boolean rootUser = Long.valueOf(0).equals(podContext.getRunAsUser())
        || containers.stream().anyMatch(c -> Long.valueOf(0).equals(context(c).getRunAsUser()));
    if (rootUser) {
      found.add(new Violation(Level.RESTRICTED, "Running as Non-root user"));
    }
    boolean seccompSet = containers.stream().allMatch(c -> {
      SeccompProfile profile = context(c).getSeccompProfile() != null ? context(c).getSeccompProfile()
          : podContext.getSeccompProfile();
      return isType(profile, "RuntimeDefault") || isType(profile, "Localhost");
    });
    if (!seccompSet) {
      found.add(new Violation(Level.RESTRICTED, "Seccomp"));
    }
    boolean capabilitiesOk = containers.stream().allMatch(c -> {
      Capabilities caps = context(c).getCapabilities();
      return caps != null && caps.getDrop() != null && caps.getDrop().contains("ALL")
          && added(context(c)).stream().allMatch("NET_BIND_SERVICE"::equals);
    });
    if (!capabilitiesOk) {
      found.add(new Violation(Level.RESTRICTED, "Capabilities"));
    }
    return new ArrayList<>(found);
  }

  /** The strictest level whose every control the pod meets. */
  static Level level(PodSpec pod) {
    List<Violation> violations = violations(pod);
    if (violations.stream().anyMatch(v -> v.level() == Level.BASELINE)) {
      return Level.PRIVILEGED;
    }
    return violations.isEmpty() ? Level.RESTRICTED : Level.BASELINE;
  }

  /** "baseline: A, B; restricted: C" — the README's wording of the controls not met. */
  static String describe(List<Violation> violations) {
    List<String> parts = new ArrayList<>();
    for (Level level : List.of(Level.BASELINE, Level.RESTRICTED)) {
      String controls = violations.stream().filter(v -> v.level() == level).map(Violation::control)
          .collect(Collectors.joining(", "));
      if (!controls.isEmpty()) {
        parts.add(level.name().toLowerCase(java.util.Locale.ROOT) + ": " + controls);
      }
    }
    return parts.isEmpty() ? "none" : String.join("; ", parts);
  }

  private static SecurityContext context(Container c) {
    return c.getSecurityContext() == null ? new SecurityContext() : c.getSecurityContext();
  }

  private static List<String> added(SecurityContext context) {
    return context.getCapabilities() == null || context.getCapabilities().getAdd() == null ? List.of()
        : context.getCapabilities().getAdd();
  }

  private static List<Volume> volumes(PodSpec pod) {
    return pod.getVolumes() == null ? List.of() : pod.getVolumes();
  }

  private static String volumeType(Volume v) {
    if (v.getConfigMap() != null) {
      return "configMap";
    } else if (v.getCsi() != null) {
      return "csi";
    } else if (v.getDownwardAPI() != null) {
      return "downwardAPI";
    } else if (v.getEmptyDir() != null) {
      return "emptyDir";
    } else if (v.getEphemeral() != null) {
      return "ephemeral";
    } else if (v.getPersistentVolumeClaim() != null) {
      return "persistentVolumeClaim";
    } else if (v.getProjected() != null) {
      return "projected";
    } else if (v.getSecret() != null) {
      return "secret";
    }
    return v.getHostPath() != null ? "hostPath" : "other";
  }

  private static boolean isType(SeccompProfile profile, String type) {
    return profile != null && type.equals(profile.getType());
  }

  private static boolean isTrue(Boolean value) {
    return Boolean.TRUE.equals(value);
  }
}
