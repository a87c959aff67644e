package dev.oomwatch.source.cgroup;

import static java.nio.charset.StandardCharsets.ISO_8859_1;

import dev.oomwatch.model.PodRef;
import dev.oomwatch.model.WatchedPod;
import dev.oomwatch.testing.FileTrees;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.OptionalLong;
import java.util.stream.Stream;

/**
 * The real cgroup captures in {@code src/test/resources/cgroup/} (copied byte for byte from the
 * project's shared fixtures; see the README there), and helpers that lay them out in a temporary
 * directory exactly as the node mounts them: a cgroup root with the v2 unified tree, or the v1
 * {@code memory} hierarchy beside a controller-less cgroup2 mount (this machine's hybrid layout).
 */
final class CgroupFixtures {

  /** The pod of every capture; the v1 one takes it over from the kernel log fixture. */
  static final String V2_POD_UID = "c9611c80-7e7e-4c28-a30f-6ca723600e4a";
  /** The v1 capture's pod and sandbox, as the v1 kernel log fixture names them. */
  static final String V1_POD_UID = "1b2c3d4e-0000-4000-8000-00000000beef";
  static final String V1_SANDBOX_ID = "9f8e7d6c5b4a";
  static final String V1_POD_CGROUP = "/kubepods/burstable/pod" + V1_POD_UID;

  /** This machine's own v1 capture with the sandbox cgroup after the kill (see the README). */
  static final String V1_LIFECYCLE = "cgroupv1-linux6.18-lifecycle";
  static final String V1_LIFECYCLE_POD_UID = "30dbbc00-a951-4118-aca6-f13c655091ea";
  static final String V1_LIFECYCLE_SANDBOX_ID =
      "ac7db26d411afc3a918811dafa6906ea333fc6621f7f6ea0f772502d2d553d6a";

  static final String V1 = "gvisor-20221219-cgroupv1";
  static final String V2 = "gvisor-20221219-cgroupv2-kernel6.1";

  /** What a v2 root's {@code cgroup.controllers} says (Debian 12's kernel in the capture VM). */
  static final String V2_ROOT_CONTROLLERS = "cpuset cpu io memory hugetlb pids rdma misc\n";
  /** What v1 prints for "no limit" with 4 KiB pages. */
  static final String V1_NO_LIMIT = "9223372036854771712\n";

  /** One of the four v2 layouts captured, with where its pod and sandbox cgroups are. */
  enum V2Layout {
    CGROUPFS_BURSTABLE("cgroupfs-burstable", "/kubepods/burstable/pod" + V2_POD_UID, "aaaa1111bbbb2222",
        "aaaa1111bbbb2222"),
    CGROUPFS_GUARANTEED("cgroupfs-guaranteed", "/kubepods/pod" + V2_POD_UID, "cccc3333dddd4444",
        "cccc3333dddd4444"),
    CGROUPFS_PARENT_ANNOTATION("cgroupfs-parent-annotation", "/kubepods/besteffort/pod" + V2_POD_UID,
        "abab1212cdcd3434", "abab1212cdcd3434"),
    SYSTEMD_BURSTABLE("systemd-burstable", "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
        + V2_POD_UID.replace('-', '_') + ".slice", "cri-containerd-eeee5555ffff6666.scope",
        "eeee5555ffff6666");

    final String directory;
    final String podCgroup;
    final String sandboxChild;
    final String sandboxId;

    V2Layout(String directory, String podCgroup, String sandboxChild, String sandboxId) {
      this.directory = directory;
      this.podCgroup = podCgroup;
      this.sandboxChild = sandboxChild;
      this.sandboxId = sandboxId;
    }

    String sandboxCgroup() {
      return podCgroup + "/" + sandboxChild;
    }
  }

  /** The three captures of each v2 layout. */
  enum Phase {
    RUNNING("running"), AFTER_KILL("after-kill"), AFTER_DELETE("after-delete");

    final String directory;

    Phase(String directory) {
      this.directory = directory;
    }
  }

  private CgroupFixtures() {}

  static Path resource(String relative) {
    URL url = CgroupFixtures.class.getResource("/cgroup/" + relative);
    if (url == null) {
      throw new IllegalArgumentException("no test resource cgroup/" + relative);
    }
    try {
      return Path.of(url.toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  static String text(String relative) {
    try {
      return new String(Files.readAllBytes(resource(relative)), ISO_8859_1);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static WatchedPod watched(String uid) {
    return new WatchedPod(new PodRef("default", "oom-lab", uid), "gvisor", OptionalLong.of(64L << 20));
  }

  /** A cgroup v2 root ({@code cgroup.controllers} with memory) holding {@code layout}'s tree at {@code phase}. */
  static void layV2(Path root, V2Layout layout, Phase phase) {
    write(root.resolve("cgroup.controllers"), V2_ROOT_CONTROLLERS);
    replaceKubepods(root, resource(V2 + "/" + layout.directory + "/" + phase.directory));
  }

  /**
   * This machine's hybrid layout: a v1 {@code memory} hierarchy and a cgroup2 mount without the memory
   * controller at {@code unified/}. The pod cgroup holds the capture's {@code pod} files; the sandbox
   * cgroup, when {@code sandbox} is not null, the capture's {@code sandbox} files.
   *
   * @param podCapture {@code cgroup-running} or {@code cgroup-after-oom}
   */
  static Path layV1(Path root, String podCapture, String sandboxCapture) {
    Path memory = root.resolve("memory");
    write(memory.resolve("memory.limit_in_bytes"), V1_NO_LIMIT);
    write(root.resolve("unified/cgroup.controllers"), "");
    Path pod = memory.resolve(V1_POD_CGROUP.substring(1));
    deleteTree(pod);
    copyTree(resource(V1 + "/" + podCapture + "/pod"), pod);
    if (sandboxCapture != null) {
      copyTree(resource(V1 + "/" + sandboxCapture + "/sandbox"), pod.resolve(V1_SANDBOX_ID));
    }
    return pod;
  }

  /** This machine's hybrid layout holding the v1 lifecycle capture at {@code phase}. */
  static void layV1Lifecycle(Path root, Phase phase) {
    Path memory = root.resolve("memory");
    write(memory.resolve("memory.limit_in_bytes"), V1_NO_LIMIT);
    write(root.resolve("unified/cgroup.controllers"), "");
    replaceKubepods(memory, resource(V1_LIFECYCLE + "/" + phase.directory));
  }

  /**
   * Moves a v2 tree laid out by {@link #layV2} to another phase the way the kernel would, for tests
   * where a poller runs meanwhile: every file is replaced atomically (a rename), and only the cgroups
   * missing from the new phase are removed. Replacing the whole tree instead would let a poll see the
   * pod cgroup vanish, which the kernel never does while the pod exists.
   */
  static void moveV2(Path root, V2Layout layout, Phase phase) {
    Path capture = resource(V2 + "/" + layout.directory + "/" + phase.directory);
    try (Stream<Path> paths = Files.walk(capture)) {
      for (Path source : paths.toList()) {
        Path target = root.resolve(capture.relativize(source).toString());
        if (Files.isDirectory(source)) {
          Files.createDirectories(target);
        } else {
          Path next = target.resolveSibling(target.getFileName() + ".next");
          Files.copy(source, next, StandardCopyOption.REPLACE_EXISTING);
          Files.move(next, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
      }
      Path pod = root.resolve(layout.podCgroup.substring(1));
      try (Stream<Path> children = Files.list(pod)) {
        for (Path child : children.filter(Files::isDirectory).toList()) {
          if (!Files.exists(capture.resolve(layout.podCgroup.substring(1)).resolve(child.getFileName().toString()))) {
            deleteTree(child);
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Replaces every {@code kubepods*} tree under {@code root} with the ones in {@code capture}. */
  static void replaceKubepods(Path root, Path capture) {
    for (String top : List.of("kubepods", "kubepods.slice")) {
      deleteTree(root.resolve(top));
    }
    copyTree(capture, root);
  }

  static void write(Path file, String text) {
    try {
      Files.createDirectories(file.getParent());
      Files.writeString(file, text, ISO_8859_1);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static void copyTree(Path from, Path to) {
    try (Stream<Path> paths = Files.walk(from)) {
      for (Path source : paths.toList()) {
        Path target = to.resolve(from.relativize(source).toString());
        if (Files.isDirectory(source)) {
          Files.createDirectories(target);
        } else {
          Files.copy(source, target, StandardCopyOption.REPLACE_EXISTING);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static void deleteTree(Path dir) {
    try {
      FileTrees.delete(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
