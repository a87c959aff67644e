package dev.oomwatch.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.oomwatch.lab.RunscSandbox;
import dev.oomwatch.lab.SandboxWorkload;
import dev.oomwatch.testing.FileTrees;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An app container started in a running lab sandbox, as containerd's CRI plugin starts the containers of a
 * pod after its sandbox: {@code runsc run --detach} with a bundle whose CRI annotations say
 * {@code container-type: container}, the sandbox's id and the container's name, so that runsc runs it in
 * that sandbox and the agent's runsc source sees a pod of two or more app containers (the ones it samples
 * with {@code runsc events --stats}). Its rootfs is a static busybox; it has no cgroups path of its own
 * (its processes run in the sandbox's sentry, whose cgroup is the pod's). {@link #close} deletes it
 * ({@code runsc delete -force}) and its bundle; idempotent, thread-safe.
 */
final class AppContainer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(AppContainer.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long TIMEOUT_SECONDS = 30;

  private final String id;
  private final Path runscRoot;
  private final Path bundle;
  private boolean closed;

  private AppContainer(String id, Path runscRoot, Path bundle) {
    this.id = id;
    this.runscRoot = runscRoot;
    this.bundle = bundle;
  }

  /** Starts container {@code name} running {@code workload} in {@code sandbox}; returns once runsc did. */
  static AppContainer start(RunscSandbox sandbox, String name, SandboxWorkload workload, Path workDir)
      throws IOException, InterruptedException {
    String id = RunscSandbox.newSandboxId();
    Path bundle = Files.createTempDirectory(workDir, "app-container-");
    AppContainer container = new AppContainer(id, sandbox.runscRoot(), bundle);
    try {
      Path bin = Files.createDirectories(bundle.resolve("rootfs").resolve("bin"));
      Files.copy(Path.of("/bin/busybox"), bin.resolve("busybox"), StandardCopyOption.COPY_ATTRIBUTES);
      JSON.writerWithDefaultPrettyPrinter().writeValue(bundle.resolve("config.json").toFile(),
          spec(sandbox, name, workload));
      container.runsc("run", "--detach", "--bundle", bundle.toString(), id);
      return container;
    } catch (IOException | RuntimeException | InterruptedException e) {
      container.close();
      throw e;
    }
  }

  private static ObjectNode spec(RunscSandbox sandbox, String name, SandboxWorkload workload) {
    ObjectNode spec = JSON.createObjectNode();
    spec.put("ociVersion", "1.0.0");
    ObjectNode process = spec.putObject("process");
    process.putObject("user").put("uid", 0).put("gid", 0);
    strings(process.putArray("args"), List.of("/bin/busybox", "sh", "-c", workload.shellCommand()));
    strings(process.putArray("env"), List.of("PATH=/bin"));
    process.put("cwd", "/");
    process.put("terminal", false);
    spec.putObject("root").put("path", "rootfs").put("readonly", false);
    ArrayNode mounts = spec.putArray("mounts");
    mounts.addObject().put("destination", "/proc").put("type", "proc").put("source", "proc");
    mounts.addObject().put("destination", "/dev").put("type", "tmpfs").put("source", "tmpfs");
    ObjectNode annotations = spec.putObject("annotations");
    annotations.put("io.kubernetes.cri.container-type", "container");
    annotations.put("io.kubernetes.cri.container-name", name);
    annotations.put("io.kubernetes.cri.sandbox-id", sandbox.id());
    annotations.put("io.kubernetes.cri.sandbox-name", sandbox.pod().name());
    annotations.put("io.kubernetes.cri.sandbox-namespace", sandbox.pod().namespace());
    annotations.put("io.kubernetes.cri.sandbox-uid", sandbox.pod().uid());
    ObjectNode linux = spec.putObject("linux");
    linux.putObject("resources");
    ArrayNode namespaces = linux.putArray("namespaces");
    for (String type : List.of("pid", "network", "ipc", "uts", "mount")) {
      namespaces.addObject().put("type", type);
    }
    return spec;
  }

  private static void strings(ArrayNode array, List<String> values) {
    values.forEach(array::add);
  }

  private void runsc(String... args) throws IOException, InterruptedException {
    List<String> command = new java.util.ArrayList<>(List.of("runsc", "--root", runscRoot.toString(), "--network=none"));
    command.addAll(List.of(args));
    Path log = bundle.resolve("runsc.log");
    Process process = new ProcessBuilder(command).directory(bundle.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new IOException(String.join(" ", command) + " did not finish within " + TIMEOUT_SECONDS + " s");
    }
    if (process.exitValue() != 0) {
      throw new IOException(String.join(" ", command) + " failed (exit " + process.exitValue() + "): "
          + Files.readString(log, StandardCharsets.UTF_8).strip());
    }
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    boolean interrupted = Thread.interrupted();
    try {
      runsc("delete", "-force", id);
    } catch (IOException e) {
      // a container whose sandbox was deleted first is gone with it
      LOG.debug("runsc delete -force {}: {}", id, e.getMessage());
    } catch (InterruptedException e) {
      interrupted = true;
    } finally {
      try {
        FileTrees.delete(bundle);
      } catch (IOException | RuntimeException e) {
        LOG.warn("could not remove {}: {}", bundle, e.toString());
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
