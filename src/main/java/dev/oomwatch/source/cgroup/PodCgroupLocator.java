package dev.oomwatch.source.cgroup;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Maps a memory cgroup path, as the kernel names it in an OOM report ({@code oom_memcg=},
 * {@code task_memcg=}), back to the uid of the pod it belongs to. Knows kubelet's layouts:
 *
 * <ul>
 *   <li>cgroupfs driver, v1 and v2: {@code /kubepods[/burstable|/besteffort]/pod<uid>[/<container>]}
 *   <li>systemd driver: {@code /kubepods.slice[/kubepods-<qos>.slice]/kubepods[-<qos>]-pod<uid with _>.slice/...}
 * </ul>
 *
 * A path outside {@code kubepods} (a system service, a runc container's own parent, a sandbox placed in
 * an unlimited cgroup) gives empty. Stateless and thread-safe.
 */
public final class PodCgroupLocator {
  // Pod uids are UUIDs for API pods and 32 hex digits (a config hash) for static pods.
  private static final Pattern CGROUPFS_POD = Pattern.compile("^pod([0-9a-fA-F][0-9a-fA-F-]{15,63})$");
  private static final Pattern SYSTEMD_POD =
      Pattern.compile("^kubepods(?:-[a-z]+)?-pod([0-9a-fA-F][0-9a-fA-F_]{15,63})\\.slice$");

  /** The pod uid the cgroup belongs to, when it is a kubelet pod cgroup or lies below one. */
  public Optional<String> podUid(String memcgPath) {
    if (memcgPath == null || memcgPath.isEmpty()) {
      return Optional.empty();
    }
    String[] segments = memcgPath.split("/");
    boolean underKubepods = false;
    for (String segment : segments) {
      if (segment.equals("kubepods") || segment.equals("kubepods.slice")) {
        underKubepods = true;
        continue;
      }
      if (!underKubepods) {
        continue;
      }
      Matcher cgroupfs = CGROUPFS_POD.matcher(segment);
      if (cgroupfs.matches()) {
        return Optional.of(cgroupfs.group(1));
      }
      Matcher systemd = SYSTEMD_POD.matcher(segment);
      if (systemd.matches()) {
        return Optional.of(systemd.group(1).replace('_', '-'));
      }
    }
    return Optional.empty();
  }
}
