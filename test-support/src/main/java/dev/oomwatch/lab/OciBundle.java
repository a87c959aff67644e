package dev.oomwatch.lab;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.oomwatch.model.PodRef;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;

/**
 * Writes an OCI bundle for a lab sandbox: {@code rootfs/bin/busybox} (a static busybox is the whole
 * root filesystem) and {@code config.json}. The spec is what {@code runsc spec -- /bin/busybox sh -c CMD}
 * prints, with the edits containerd makes for a pod sandbox: no terminal, a writable root, empty
 * resources (the limit is the pod cgroup's), the cgroups path, and the CRI annotations naming the pod.
 * Stateless and thread-safe.
 */
final class OciBundle {
  static final String CONFIG_FILE = "config.json";
  static final String ROOTFS = "rootfs";

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<String> CAPABILITIES =
      List.of("CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE");

  private OciBundle() {}

  /** Fills {@code bundleDir} (which must exist) with the rootfs and config.json. */
  static void write(Path bundleDir, Path busybox, String sandboxId, PodRef pod, String cgroupsPath,
      String shellCommand) throws IOException {
    Path bin = Files.createDirectories(bundleDir.resolve(ROOTFS).resolve("bin"));
    Files.copy(busybox, bin.resolve("busybox"), StandardCopyOption.COPY_ATTRIBUTES);
    ObjectNode spec = spec(sandboxId, pod, cgroupsPath, shellCommand);
    JSON.writerWithDefaultPrettyPrinter().writeValue(bundleDir.resolve(CONFIG_FILE).toFile(), spec);
  }

  static ObjectNode spec(String sandboxId, PodRef pod, String cgroupsPath, String shellCommand) {
    ObjectNode spec = JSON.createObjectNode();
    spec.put("ociVersion", "1.0.0");
    spec.set("process", process(shellCommand));
    spec.putObject("root").put("path", ROOTFS).put("readonly", false);
    spec.put("hostname", "runsc");
    ArrayNode mounts = spec.putArray("mounts");
    mounts.addObject().put("destination", "/proc").put("type", "proc").put("source", "proc");
    // The /dev tmpfs is where the allocating workload writes: tmpfs pages are sentry memory.
    mounts.addObject().put("destination", "/dev").put("type", "tmpfs").put("source", "tmpfs");
    ObjectNode sys = mounts.addObject().put("destination", "/sys").put("type", "sysfs")
        .put("source", "sysfs");
    strings(sys.putArray("options"), List.of("nosuid", "noexec", "nodev", "ro"));
    ObjectNode annotations = spec.putObject("annotations");
    criAnnotations(sandboxId, pod).forEach(annotations::put);
    ObjectNode linux = spec.putObject("linux");
    linux.putObject("resources");
    linux.put("cgroupsPath", cgroupsPath);
    ArrayNode namespaces = linux.putArray("namespaces");
    for (String type : List.of("pid", "network", "ipc", "uts", "mount")) {
      namespaces.addObject().put("type", type);
    }
    return spec;
  }

  /** The annotations containerd's CRI plugin puts on a pod sandbox, which runsc keeps in its state. */
  static Map<String, String> criAnnotations(String sandboxId, PodRef pod) {
    return Map.of(
        "io.kubernetes.cri.container-type", "sandbox",
        "io.kubernetes.cri.sandbox-id", sandboxId,
        "io.kubernetes.cri.sandbox-name", pod.name(),
        "io.kubernetes.cri.sandbox-namespace", pod.namespace(),
        "io.kubernetes.cri.sandbox-uid", pod.uid());
  }

  private static ObjectNode process(String shellCommand) {
    ObjectNode process = JSON.createObjectNode();
    process.putObject("user").put("uid", 0).put("gid", 0);
    strings(process.putArray("args"), List.of("/bin/busybox", "sh", "-c", shellCommand));
    strings(process.putArray("env"),
        List.of("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"));
    process.put("cwd", "/");
    ObjectNode capabilities = process.putObject("capabilities");
    for (String set : List.of("bounding", "effective", "inheritable", "permitted")) {
      strings(capabilities.putArray(set), CAPABILITIES);
    }
    process.putArray("rlimits").addObject()
        .put("type", "RLIMIT_NOFILE").put("hard", 1024).put("soft", 1024);
    // runsc run --detach has no terminal to give; a terminal: true spec would need a console socket.
    process.put("terminal", false);
    return process;
  }

  private static void strings(ArrayNode array, List<String> values) {
    values.forEach(array::add);
  }
}
