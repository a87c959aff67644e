package dev.oomwatch.model;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Maps a memory cgroup path, as the kernel names it in an OOM report ({@code oom_memcg=},
 * {@code task_memcg=}), back to the uid of the pod it belongs to, and to the sandbox whose cgroup it
 * is. Knows kubelet's layouts:
 *
 * <ul>
 *   <li>cgroupfs driver, v1 and v2: {@code /kubepods[/burstable|/besteffort]/pod<uid>[/<container>]}
 *   <li>systemd driver: {@code /kubepods.slice[/kubepods-<qos>.slice]/kubepods[-<qos>]-pod<uid with _>.slice/...}
 * </ul>
 *
 * and the names of a pod cgroup's children: {@code <id>} (cgroupfs), {@code cri-containerd-<id>.scope}
 * (systemd; also {@code crio-<id>.scope}, {@code docker-<id>.scope}).
 *
 * A path outside {@code kubepods} (a system service, a runc container's own parent, a sandbox placed in
 * an unlimited cgroup) gives empty. Stateless and thread-safe.
 */
public final class PodCgroupLocator {
  // Pod uids are UUIDs for API pods and 32 hex digits (a config hash) for static pods.
  private static final Pattern CGROUPFS_POD = Pattern.compile("^pod([0-9a-fA-F][0-9a-fA-F-]{15,63})$");
  private static final Pattern SYSTEMD_POD =
      Pattern.compile("^kubepods(?:-[a-z]+)?-pod([0-9a-fA-F][0-9a-fA-F_]{15,63})\\.slice$");
  private static final String SLICE = ".slice";
  private static final String SCOPE = ".scope";
  private static final String CRIO_CONMON = "crio-conmon-";
  private static final String[] SCOPE_PREFIXES = {"cri-containerd-", "crio-", "docker-"};

  /** The pod uid the cgroup belongs to, when it is a kubelet pod cgroup or lies below one. */
  public Optional<String> podUid(String memcgPath) {
    String[] segments = segments(memcgPath);
    int pod = podSegment(segments);
    return pod < 0 ? Optional.empty() : podUidOfSegment(segments[pod]);
  }

  /**
   * The sandbox (container) id of a cgroup below a pod cgroup, taken from the pod cgroup's child on
   * the way: {@code /kubepods/burstable/pod<uid>/<id>} and
   * {@code .../kubepods-burstable-pod<uid_>.slice/cri-containerd-<id>.scope} give {@code <id>}. The pod
   * cgroup itself, and a path that is not below a pod cgroup, give empty.
   */
  public Optional<String> sandboxId(String memcgPath) {
    String[] segments = segments(memcgPath);
    int pod = podSegment(segments);
    for (int i = pod < 0 ? segments.length : pod + 1; i < segments.length; i++) {
      if (!segments[i].isEmpty()) {
        return sandboxIdOfChild(segments[i]);
      }
    }
    return Optional.empty();
  }

  /**
   * The container id a child cgroup of a pod cgroup is named after: {@code <id>} on cgroupfs,
   * {@code cri-containerd-<id>.scope} (or {@code crio-}, {@code docker-}) with the systemd driver.
   * Names that cannot be a container's (a nested {@code .slice}, CRI-O's {@code crio-conmon-} scope,
   * names with characters runsc does not allow in ids) give empty.
   */
  public static Optional<String> sandboxIdOfChild(String childName) {
    if (childName == null || childName.isEmpty() || childName.endsWith(SLICE)) {
      return Optional.empty();
    }
    String id = childName;
    if (id.endsWith(SCOPE)) {
      id = id.substring(0, id.length() - SCOPE.length());
      if (id.startsWith(CRIO_CONMON)) {
        return Optional.empty();
      }
      for (String prefix : SCOPE_PREFIXES) {
        if (id.startsWith(prefix)) {
          id = id.substring(prefix.length());
          break;
        }
      }
    }
    return isContainerId(id) ? Optional.of(id) : Optional.empty();
  }

  /** The name of a pod's cgroup with the cgroupfs driver: {@code pod<uid>}. */
  public static String cgroupfsPodCgroupName(String podUid) {
    return "pod" + podUid;
  }

  /**
   * The name of a pod's slice with the systemd driver: {@code kubepods-pod<uid_>.slice} for a
   * Guaranteed pod ({@code qos} empty), {@code kubepods-<qos>-pod<uid_>.slice} otherwise.
   */
  public static String systemdPodSliceName(String qos, String podUid) {
    return "kubepods" + (qos.isEmpty() ? "" : "-" + qos) + "-pod" + podUid.replace('-', '_') + SLICE;
  }

  private static String[] segments(String memcgPath) {
    return memcgPath == null || memcgPath.isEmpty() ? new String[0] : memcgPath.split("/");
  }

  /** The index of the pod cgroup's segment, or -1. */
  private static int podSegment(String[] segments) {
    boolean underKubepods = false;
    for (int i = 0; i < segments.length; i++) {
      String segment = segments[i];
      if (segment.equals("kubepods") || segment.equals("kubepods.slice")) {
        underKubepods = true;
        continue;
      }
      if (underKubepods && podUidOfSegment(segment).isPresent()) {
        return i;
      }
    }
    return -1;
  }

  private static Optional<String> podUidOfSegment(String segment) {
    Matcher cgroupfs = CGROUPFS_POD.matcher(segment);
    if (cgroupfs.matches()) {
      return Optional.of(cgroupfs.group(1));
    }
    Matcher systemd = SYSTEMD_POD.matcher(segment);
    if (systemd.matches()) {
      return Optional.of(systemd.group(1).replace('_', '-'));
    }
    return Optional.empty();
  }

  /** runsc's rule for container ids, {@code [\w+.-]+}, checked without a regular expression. */
  private static boolean isContainerId(String id) {
    if (id.isEmpty() || id.equals(".") || id.equals("..")) {
      return false;
    }
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      boolean allowed = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
          || c == '_' || c == '+' || c == '.' || c == '-';
      if (!allowed) {
        return false;
      }
    }
    return true;
  }
}
