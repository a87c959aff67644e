package dev.oomwatch.bench;

import dev.oomwatch.model.PodRef;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;

/**
 * Writes runsc state files for sandboxes that are not real: the shape of the one captured from
 * runsc 20221219 on cgroup v1 ({@code src/test/resources/runsc/cgroupv1/runsc-root-state-file.json},
 * byte for byte but for the values below; a test keeps the two alike), with this pod's CRI annotations,
 * sandbox id, sentry and gofer pids, cgroup and runsc root. Beside each {@code .state} file runsc keeps
 * an empty {@code .lock}; so does this. Stateless; thread-safe.
 */
final class RunscStateFiles {
  static final String TEMPLATE = """
      {"id":"{{ID}}","spec":{"ociVersion":"1.0.0","process":{"user":{"uid":0,"gid":0},"args":["/bin/busybox",\
      "sh","-c","/bin/hog 24; sleep 6; /bin/hog 512"],"env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:\
      /usr/bin:/sbin:/bin","TERM=xterm"],"cwd":"/","capabilities":{"bounding":["CAP_AUDIT_WRITE","CAP_KILL",\
      "CAP_NET_BIND_SERVICE"],"effective":["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"],"inheritable":\
      ["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"],"permitted":["CAP_AUDIT_WRITE","CAP_KILL",\
      "CAP_NET_BIND_SERVICE"]},"rlimits":[{"type":"RLIMIT_NOFILE","hard":1024,"soft":1024}]},"root":{"path":\
      "rootfs"},"hostname":"runsc","mounts":[{"destination":"/proc","type":"proc","source":"proc"},\
      {"destination":"/dev","type":"tmpfs","source":"tmpfs"},{"destination":"/sys","type":"sysfs","source":\
      "sysfs","options":["nosuid","noexec","nodev","ro"]}],"annotations":{"io.kubernetes.cri.container-type":\
      "sandbox","io.kubernetes.cri.sandbox-id":"{{ID}}","io.kubernetes.cri.sandbox-name":"{{POD_NAME}}",\
      "io.kubernetes.cri.sandbox-namespace":"{{POD_NAMESPACE}}","io.kubernetes.cri.sandbox-uid":"{{POD_UID}}"},\
      "linux":{"resources":{},"cgroupsPath":"{{CGROUP}}","namespaces":[{"type":"pid"},{"type":"network"},\
      {"type":"ipc"},{"type":"uts"},{"type":"mount"}]}},"bundleDir":".","createdAt":"{{CREATED_AT}}","owner":"",\
      "consoleSocket":"","status":"running","goferPid":{{GOFER_PID}},"sandbox":{"id":"{{ID}}","pid":{{PID}},\
      "uid":65534,"gid":65534,"cgroup":{"cgroupv1":{"name":"{{CGROUP}}","parents":null,"own":{"blkio":true,\
      "cpu":true,"cpuacct":true,"cpuset":true,"devices":true,"freezer":true,"memory":true,"pids":true,\
      "systemd":true}}},"originalOomScoreAdj":0},"compatCgroup":{"cgroupunknown":null},"saver":{"rootDir":\
      "{{ROOT_DIR}}","id":{"sandboxId":"{{ID}}","containerId":"{{ID}}"}}}""";

  private RunscStateFiles() {}

  /** The state file's content for sandbox {@code sandboxId} of {@code pod}. */
  static String render(String sandboxId, PodRef pod, long sentryPid, long goferPid, String cgroupPath,
      Path runscRoot, Instant createdAt) {
    String json = TEMPLATE;
    for (Map.Entry<String, String> value : Map.of(
        "{{ID}}", escape(sandboxId),
        "{{POD_NAME}}", escape(pod.name()),
        "{{POD_NAMESPACE}}", escape(pod.namespace()),
        "{{POD_UID}}", escape(pod.uid()),
        "{{CGROUP}}", escape(cgroupPath),
        "{{CREATED_AT}}", escape(createdAt.toString()),
        "{{GOFER_PID}}", Long.toString(goferPid),
        "{{PID}}", Long.toString(sentryPid),
        "{{ROOT_DIR}}", escape(runscRoot.toString())).entrySet()) {
      json = json.replace(value.getKey(), value.getValue());
    }
    return json;
  }

  /**
   * Writes {@code <root>/<id>_sandbox:<id>.state} (and its {@code .lock}) as runsc does for a pod
   * sandbox; returns the state file.
   */
  static Path write(Path runscRoot, String sandboxId, PodRef pod, long sentryPid, long goferPid,
      String cgroupPath) throws IOException {
    String base = sandboxId + "_sandbox:" + sandboxId;
    Files.writeString(runscRoot.resolve(base + ".lock"), "");
    return Files.writeString(runscRoot.resolve(base + ".state"),
        render(sandboxId, pod, sentryPid, goferPid, cgroupPath, runscRoot, Instant.now()), StandardCharsets.UTF_8);
  }

  private static String escape(String value) {
    StringBuilder out = new StringBuilder(value.length());
    for (char c : value.toCharArray()) {
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    return out.toString();
  }
}
