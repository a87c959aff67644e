package dev.oomwatch.source.cgroup;

import dev.oomwatch.model.PodCgroupLocator;
import dev.oomwatch.source.cgroup.CgroupLayout.Driver;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Finds a pod's cgroup directory from its uid, whatever its QoS class, in kubelet's layouts:
 *
 * <ul>
 *   <li>cgroupfs driver (v1 and v2): {@code kubepods/pod<uid>} (Guaranteed),
 *       {@code kubepods/burstable/pod<uid>}, {@code kubepods/besteffort/pod<uid>};
 *   <li>systemd driver: {@code kubepods.slice/kubepods-pod<uid_>.slice} (Guaranteed),
 *       {@code kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid_>.slice},
 * </ul>
 *
 * and its child cgroups, the sandbox's among them ({@code pod<uid>/<sandbox-id>} on cgroupfs,
 * {@code cri-containerd-<sandbox-id>.scope} with systemd), each with the container id its name carries.
 *
 * <p>A pod's cgroup never moves, so a found directory is cached until {@link #forget}; a pod not found
 * (its cgroup is not made yet) is looked up again on the next call, trying the detected driver's three
 * places first and then the other driver's. Thread-safe.
 */
final class PodCgroupFinder {

  /** A pod's cgroup: its directory and its path below the memory root, as the kernel prints it. */
  record PodCgroup(String podUid, Path directory, String cgroupPath) {}

  /**
   * A child cgroup of a pod cgroup.
   *
   * @param sandboxId the container id its name carries (see {@link PodCgroupLocator#sandboxIdOfChild})
   */
  record ChildCgroup(String name, Path directory, String cgroupPath, Optional<String> sandboxId) {}

  /** Guaranteed pods sit right under the top cgroup; the others under their QoS class's. */
  private static final String[] QOS_CLASSES = {"", "burstable", "besteffort"};
  private static final int LONGEST_POD_UID = 64;

  private final ConcurrentHashMap<String, PodCgroup> found = new ConcurrentHashMap<>();

  /** The pod's cgroup, if it exists under the layout's memory root. */
  Optional<PodCgroup> find(CgroupLayout layout, String podUid) {
    PodCgroup cached = found.get(podUid);
    if (cached != null) {
      return Optional.of(cached);
    }
    if (!isPodUid(podUid)) {
      return Optional.empty();
    }
    Driver preferred = layout.driver().orElse(Driver.CGROUPFS);
    Optional<PodCgroup> pod = lookUp(layout.memoryRoot(), preferred, podUid);
    if (pod.isEmpty()) {
      pod = lookUp(layout.memoryRoot(), preferred == Driver.CGROUPFS ? Driver.SYSTEMD : Driver.CGROUPFS,
          podUid);
    }
    pod.ifPresent(p -> found.put(podUid, p));
    return pod;
  }

  /** Drops the cached directory of a pod that is gone (or whose cgroup was removed). */
  /** The path of the pod's cgroup below the memory root, as the kernel prints it, if found already. */
  Optional<String> known(String podUid) {
    return Optional.ofNullable(found.get(podUid)).map(PodCgroup::cgroupPath);
  }

  void forget(String podUid) {
    found.remove(podUid);
  }

  /** How many pods have a cached directory. */
  int cachedPods() {
    return found.size();
  }

  /** The pod cgroup's child cgroups now; empty when the pod cgroup is gone. */
  static List<ChildCgroup> children(PodCgroup pod) throws IOException {
    List<String> names = new ArrayList<>();
    if (!listChildNames(pod.directory(), names)) {
      return List.of();
    }
    List<ChildCgroup> children = new ArrayList<>(names.size());
    for (String name : names) {
      children.add(child(pod, name));
    }
    return List.copyOf(children);
  }

  static ChildCgroup child(PodCgroup pod, String name) {
    return new ChildCgroup(name, pod.directory().resolve(name), pod.cgroupPath() + "/" + name,
        PodCgroupLocator.sandboxIdOfChild(name));
  }

  /**
   * Adds the names of the child cgroups of {@code dir} to {@code names}, in directory order. A cgroup
   * directory holds dozens of control files and few children, so only the names a child can have are
   * checked to be directories: names without a dot (a container id) other than v1's {@code tasks},
   * {@code notify_on_release} and {@code release_agent}, and systemd's {@code .scope}s and
   * {@code .slice}s. Control files all have a dot ({@code memory.max}, {@code cgroup.procs}).
   *
   * @return false when {@code dir} no longer exists
   */
  static boolean listChildNames(Path dir, List<String> names) throws IOException {
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path entry : entries) {
        String name = entry.getFileName().toString();
        if (mayBeChildCgroup(name) && Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS)) {
          names.add(name);
        }
      }
      return true;
    } catch (NoSuchFileException gone) {
      return false;
    } catch (IOException e) {
      if (CgroupFileReader.isVanished(e)) {
        return false;
      }
      throw e;
    }
  }

  static boolean mayBeChildCgroup(String name) {
    if (name.endsWith(".scope") || name.endsWith(".slice")) {
      return true;
    }
    return name.indexOf('.') < 0
        && !name.equals("tasks")
        && !name.equals("notify_on_release")
        && !name.equals("release_agent");
  }

  private static Optional<PodCgroup> lookUp(Path memoryRoot, Driver driver, String podUid) {
    Path top = memoryRoot.resolve(driver.topCgroup());
    for (String qos : QOS_CLASSES) {
      String relative = driver == Driver.CGROUPFS
          ? cgroupfsPath(qos, podUid)
          : systemdPath(qos, podUid);
      Path dir = memoryRoot.resolve(relative);
      if (Files.isDirectory(dir)) {
        return Optional.of(new PodCgroup(podUid, dir, "/" + relative));
      }
      if (qos.isEmpty() && !Files.isDirectory(top)) {
        return Optional.empty();
      }
    }
    return Optional.empty();
  }

  private static String cgroupfsPath(String qos, String podUid) {
    return "kubepods/" + (qos.isEmpty() ? "" : qos + "/") + PodCgroupLocator.cgroupfsPodCgroupName(podUid);
  }

  private static String systemdPath(String qos, String podUid) {
    return "kubepods.slice/" + (qos.isEmpty() ? "" : "kubepods-" + qos + ".slice/")
        + PodCgroupLocator.systemdPodSliceName(qos, podUid);
  }

  /** A uid that can be part of a cgroup name: letters, digits and dashes; never a path. */
  private static boolean isPodUid(String podUid) {
    if (podUid == null || podUid.isEmpty() || podUid.length() > LONGEST_POD_UID) {
      return false;
    }
    for (int i = 0; i < podUid.length(); i++) {
      char c = podUid.charAt(i);
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-')) {
        return false;
      }
    }
    return true;
  }
}
