package dev.oomwatch.e2e.deployed;

import dev.oomwatch.e2e.deployed.ChartContainer.ConfigMapFiles;
import dev.oomwatch.e2e.deployed.ChartContainer.EmptyDir;
import dev.oomwatch.e2e.deployed.ChartContainer.HostPath;
import dev.oomwatch.e2e.deployed.ChartContainer.Mount;
import dev.oomwatch.e2e.deployed.ChartContainer.Security;
import dev.oomwatch.testing.Await;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * The packaged agent run the way the chart's container runs it, without a container engine: in new pid
 * and mount namespaces ({@code unshare --mount --pid --fork --propagation private}), a generated setup
 * script builds a container-like root on a tmpfs and execs the image's entrypoint with the chart's args
 * in it, under the chart's uid, gid and capabilities ({@code chroot} + {@code setpriv}).
 *
 * <p>The root holds nothing of the host but what an image and the chart give: {@code /usr} and {@code /etc}
 * (the JRE; each an overlay on a tmpfs, so mount points can be made in them without touching the host),
 * the merged-usr links, a small {@code /dev} (null, zero, random, urandom), a {@code /proc} of the new pid
 * namespace, the jar where the Dockerfile copies it, and then only the chart's volume mounts at the
 * chart's container paths: hostPath bound ({@code --rbind}) and made read-only, every submount too when
 * the mount says {@code recursiveReadOnly} (util-linux 2.38's mount has no recursive read-only option,
 * so each submount listed in {@code /proc/self/mountinfo} is remounted); configMap as a read-only
 * directory of its files; emptyDir as a tmpfs. {@code readOnlyRootFilesystem} makes the rest read-only.
 * So a mount the chart lacks, or a path that differs between the chart and the code, fails the agent
 * here as it would in the cluster.
 *
 * <p>Deviations from a real container, each because nothing here can stand in for it: the network
 * namespace is the host's (the agent must reach the API stand-in on 127.0.0.1 and the test its HTTP
 * port); the API address reaches the agent as a kubeconfig file bound at {@link #KUBECONFIG_PATH} and
 * named by {@code KUBECONFIG}, where the chart uses the in-cluster config (a ServiceAccount token over
 * TLS, which the stand-in does not serve); no seccomp profile is applied; no cgroup of its own (the
 * chart's resources are not enforced); {@code /proc} is not masked as a runtime masks it.
 *
 * <p>{@link #stop} stops the whole namespace as kubelet stops a container: SIGTERM to its pid 1 (the
 * JVM), SIGKILL after the chart's grace period; pid 1's death kills everything in the pid namespace,
 * and the mount namespace, private, disappears with it, leaving nothing mounted on the host. Not
 * thread-safe: one test thread drives it.
 */
final class NamespacedAgent implements AutoCloseable {
  /** Where the test's kubeconfig appears in the container (a test-only path, see the class comment). */
  static final String KUBECONFIG_PATH = "/oomwatch-it/kubeconfig";
  private static final String PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(120);

  private final ChartContainer container;
  private final Path workDir;
  private final Path script;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final Thread cleanupOnExit = new Thread(this::killNow, "namespaced-agent-cleanup");
  private Process unshare;
  private long initPid = -1;
  private Path currentLog;
  private int starts;

  /**
   * Prepares (does not start) the agent: writes the setup script, the ConfigMap files and the
   * kubeconfig under {@code workDir} (which must not exist yet or be empty).
   */
  NamespacedAgent(ChartContainer container, DockerImage image, Path agentJar, String kubeconfig, Path workDir)
      throws IOException {
    this.container = container;
    this.workDir = Files.createDirectories(workDir.toAbsolutePath());
    Files.createDirectories(this.workDir.resolve("root"));
    Files.createDirectories(this.workDir.resolve("scratch"));
    Path kubeconfigFile = this.workDir.resolve("kubeconfig");
    writeReadable(kubeconfigFile, kubeconfig);
    for (Mount mount : container.mounts()) {
      if (mount.source() instanceof ConfigMapFiles files) {
        Path dir = Files.createDirectories(configMapDir(mount));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        for (Map.Entry<String, String> file : files.files().entrySet()) {
          writeReadable(dir.resolve(file.getKey()), file.getValue());
        }
      }
    }
    this.script = this.workDir.resolve("setup.sh");
    Files.writeString(script, setupScript(image, agentJar.toAbsolutePath(), kubeconfigFile));
  }

  /** Starts the namespace; returns at once. Its output goes to a new {@code agent-<n>.log}. */
  void start() throws IOException {
    if (unshare != null && unshare.isAlive()) {
      throw new IllegalStateException("already running");
    }
    starts++;
    currentLog = workDir.resolve("agent-" + starts + ".log");
    unshare = new ProcessBuilder("unshare", "--mount", "--pid", "--fork", "--propagation", "private", "--kill-child",
        "--", "/bin/sh", script.toString())
        .redirectErrorStream(true)
        .redirectOutput(currentLog.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
        .start();
    initPid = -1;
    Runtime.getRuntime().removeShutdownHook(cleanupOnExit);
    Runtime.getRuntime().addShutdownHook(cleanupOnExit);
  }

  /** Whether the namespace is up (its unshare has not exited). */
  boolean isRunning() {
    return unshare != null && unshare.isAlive();
  }

  /** The namespace's exit code (pid 1's, as unshare passes it on); -1 while it runs. */
  int exitCode() {
    return unshare == null || unshare.isAlive() ? -1 : unshare.exitValue();
  }

  /** Waits until {@code /readyz} answers 200; fails with the log and the last answer otherwise. */
  void awaitReady() throws InterruptedException {
    boolean ready = Await.until(() -> {
      if (!unshare.isAlive()) {
        throw new AssertionError("the namespace exited (" + unshare.exitValue() + ") before the agent was ready:\n"
            + log());
      }
      return get("/readyz").statusCode() == 200;
    }, STARTUP_TIMEOUT, Duration.ofMillis(250));
    if (!ready) {
      throw new AssertionError("the agent in the namespace was not ready within " + STARTUP_TIMEOUT.toSeconds()
          + " s; /readyz: " + readiness() + "\n" + log());
    }
  }

  /** As kubelet stops a container: SIGTERM to pid 1, SIGKILL after the grace period; waits for the end. */
  void stop() throws InterruptedException {
    if (unshare == null || !unshare.isAlive()) {
      return;
    }
    Optional<ProcessHandle> init = init();
    init.ifPresent(ProcessHandle::destroy);
    if (!unshare.waitFor(container.terminationGracePeriod().toSeconds(), TimeUnit.SECONDS)) {
      init.ifPresent(ProcessHandle::destroyForcibly);
      unshare.destroyForcibly();
      unshare.waitFor(30, TimeUnit.SECONDS);
    }
  }

  /** Stops and starts the namespace again, and waits until the new agent is ready. */
  void restart() throws IOException, InterruptedException {
    stop();
    start();
    awaitReady();
  }

  /** The body of {@code /readyz} (or why there is none). */
  String readiness() {
    try {
      HttpResponse<String> response = get("/readyz");
      return response.statusCode() + "\n" + response.body();
    } catch (RuntimeException e) {
      return "(no answer: " + e.getMessage() + ")";
    }
  }

  /** The value of a metric (summed over its label sets), or -1 when absent. */
  double metric(String name) {
    List<Double> values = get("/metrics").body().lines()
        .filter(l -> l.startsWith(name + " ") || l.startsWith(name + "{"))
        .map(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1).trim())).toList();
    return values.isEmpty() ? -1 : values.stream().mapToDouble(Double::doubleValue).sum();
  }

  /** The current run's output (setup lines, then the agent's log). */
  String log() {
    try {
      return currentLog == null ? "(not started)" : "--- " + currentLog + "\n" + Files.readString(currentLog);
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  /**
   * Tries, as the agent's user with its capabilities inside its namespaces and root, to open
   * {@code containerPath} for writing (writing nothing): the shell's exit code and what it said.
   */
  ChartContainerProbe probeWrite(String containerPath) throws IOException, InterruptedException {
    long pid = init().orElseThrow(() -> new AssertionError("the namespace is not running")).pid();
    List<String> command = new ArrayList<>(List.of("nsenter", "--target", Long.toString(pid), "--mount", "--pid",
        "--root", "--wd"));
    command.addAll(setprivArgs(container.security()));
    command.addAll(List.of("/bin/sh", "-c", "exec 3>>\"$1\"", "sh", containerPath));
    Process probe = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(probe.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!probe.waitFor(30, TimeUnit.SECONDS)) {
      probe.destroyForcibly();
      throw new AssertionError("the write probe did not finish: " + command);
    }
    return new ChartContainerProbe(probe.exitValue(), output.strip());
  }

  /** What a {@link #probeWrite} gave. */
  record ChartContainerProbe(int exitCode, String output) {}

  @Override
  public void close() throws InterruptedException {
    try {
      stop();
    } finally {
      killNow();
      try {
        Runtime.getRuntime().removeShutdownHook(cleanupOnExit);
      } catch (IllegalStateException shuttingDown) {
        // the hook is running or ran
      }
      deleteEmptyDir(workDir.resolve("root"));
      deleteEmptyDir(workDir.resolve("scratch"));
    }
  }

  /** Lines of the host's mount table under the work dir: none once the namespace is gone. */
  List<String> hostMountsUnderWorkDir() throws IOException {
    String prefix = workDir.toString();
    return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
        .filter(l -> l.split(" ")[4].startsWith(prefix)).toList();
  }

  /** SIGKILL to pid 1 of the namespace (kills all in it) and to unshare. */
  private void killNow() {
    if (unshare != null) {
      init().ifPresent(ProcessHandle::destroyForcibly);
      unshare.destroyForcibly();
      try {
        unshare.waitFor(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** The namespace's pid 1, seen from here: unshare's one child (it keeps its pid through the execs). */
  private Optional<ProcessHandle> init() {
    if (initPid > 0) {
      Optional<ProcessHandle> known = ProcessHandle.of(initPid).filter(ProcessHandle::isAlive);
      if (known.isPresent() || unshare == null || !unshare.isAlive()) {
        return known;
      }
    }
    if (unshare == null) {
      return Optional.empty();
    }
    Optional<ProcessHandle> child = unshare.children().findFirst();
    child.ifPresent(c -> initPid = c.pid());
    return child;
  }

  private HttpResponse<String> get(String path) {
    try {
      return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + container.metricsPort() + path))
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new IllegalStateException("the agent does not answer on port " + container.metricsPort() + ": " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private Path configMapDir(Mount mount) {
    return workDir.resolve("configmaps").resolve(mount.volume());
  }

  /** The script unshare runs as pid 1 of the new namespaces; it ends by exec'ing the agent. */
  private String setupScript(DockerImage image, Path agentJar, Path kubeconfigFile) {
    Path root = workDir.resolve("root");
    Path scratch = workDir.resolve("scratch");
    StringBuilder s = new StringBuilder();
    s.append("#!/bin/sh\n")
        .append("# Generated by ").append(NamespacedAgent.class.getName())
        .append(": a container-like root for the agent, then the agent in it.\n")
        .append("set -eu\n")
        .append("ROOT=").append(q(root.toString())).append('\n')
        .append("SCRATCH=").append(q(scratch.toString())).append('\n')
        .append("say() { echo \"oomwatch-it setup: $*\"; }\n")
        .append("die() { echo \"oomwatch-it setup FAILED: $*\" >&2; exit 97; }\n")
        .append("readonly_submounts() {\n")
        .append("  awk -v p=\"$1\" 'index($5, p \"/\") == 1 { print $5 }' /proc/self/mountinfo | while read -r m; do\n")
        .append("    mount -o remount,bind,ro \"$m\" || die \"cannot make submount $m read-only\"\n")
        .append("  done\n")
        .append("}\n")
        .append("mount -t tmpfs -o mode=0755,size=8m oomwatch-scratch \"$SCRATCH\"\n")
        .append("mount -t tmpfs -o mode=0755,size=16m oomwatch-root \"$ROOT\"\n")
        .append("# the image: the host's /usr and /etc (the JRE), each an overlay with a tmpfs upper layer, so that\n")
        .append("# mount points can be made in them without touching the host\n")
        .append("for d in usr etc; do\n")
        .append("  mkdir -p \"$SCRATCH/$d/upper\" \"$SCRATCH/$d/work\" \"$ROOT/$d\"\n")
        .append("  mount -t overlay -o \"lowerdir=/$d,upperdir=$SCRATCH/$d/upper,workdir=$SCRATCH/$d/work\" \"oomwatch-$d\" \"$ROOT/$d\"\n")
        .append("done\n")
        .append("for l in bin lib lib64 sbin; do ln -s \"usr/$l\" \"$ROOT/$l\"; done\n")
        .append("mkdir \"$ROOT/dev\"\n")
        .append("mount -t tmpfs -o mode=0755,size=64k,nosuid,noexec oomwatch-dev \"$ROOT/dev\"\n")
        .append("for n in null zero random urandom; do touch \"$ROOT/dev/$n\"; mount --bind \"/dev/$n\" \"$ROOT/dev/$n\"; done\n")
        .append("ln -s /proc/self/fd \"$ROOT/dev/fd\"\n")
        .append("ln -s /proc/self/fd/0 \"$ROOT/dev/stdin\"; ln -s /proc/self/fd/1 \"$ROOT/dev/stdout\";"
            + " ln -s /proc/self/fd/2 \"$ROOT/dev/stderr\"\n")
        .append("# /proc of the new pid namespace: the agent's own pid is 1 here\n")
        .append("mkdir \"$ROOT/proc\"\n")
        .append("mount -t proc -o nosuid,nodev,noexec proc \"$ROOT/proc\"\n");
    String jar = image.jarPath();
    s.append("# the jar, where the Dockerfile copies it\n")
        .append("mkdir -p \"$ROOT\"").append(q(parent(jar))).append('\n')
        .append("touch \"$ROOT\"").append(q(jar)).append('\n')
        .append("mount --bind ").append(q(agentJar.toString())).append(" \"$ROOT\"").append(q(jar)).append('\n')
        .append("mount -o remount,bind,ro \"$ROOT\"").append(q(jar)).append('\n');
    s.append("# the test's deviation: the API stand-in's address as a kubeconfig file (the chart: in-cluster config)\n")
        .append("mkdir -p \"$ROOT\"").append(q(parent(KUBECONFIG_PATH))).append('\n')
        .append("touch \"$ROOT\"").append(q(KUBECONFIG_PATH)).append('\n')
        .append("mount --bind ").append(q(kubeconfigFile.toString())).append(" \"$ROOT\"").append(q(KUBECONFIG_PATH))
        .append('\n')
        .append("mount -o remount,bind,ro \"$ROOT\"").append(q(KUBECONFIG_PATH)).append('\n');
    s.append("# the chart's volume mounts, and nothing else\n");
    for (Mount mount : container.mounts()) {
      s.append(mountCommands(mount));
    }
    if (container.security().readOnlyRootFilesystem()) {
      s.append("# readOnlyRootFilesystem\n")
          .append("mount -o remount,ro \"$ROOT/usr\"\nmount -o remount,ro \"$ROOT/etc\"\n")
          .append("mount -o remount,ro \"$ROOT/dev\"\nmount -o remount,ro \"$ROOT\"\n");
    }
    s.append("say \"root ready; its mounts:\"\n")
        .append("awk -v p=\"$ROOT\" '$5 == p || index($5, p \"/\") == 1 { m = substr($5, length(p) + 1);"
            + " for (i = 7; $i != \"-\"; i++) {} print \"  \" (m == \"\" ? \"/\" : m), $(i + 1), $6 }'"
            + " /proc/self/mountinfo\n");
    List<String> exec = new ArrayList<>(List.of("env", "-i", "PATH=" + PATH, "HOME=/"));
    container.env().forEach((k, v) -> exec.add(k + "=" + v));
    exec.add("KUBECONFIG=" + KUBECONFIG_PATH);
    exec.addAll(List.of("chroot", root.toString()));
    exec.addAll(setprivArgs(container.security()));
    exec.addAll(container.command());
    s.append("set -- ").append(exec.stream().map(NamespacedAgent::q).collect(Collectors.joining(" "))).append('\n')
        .append("say \"exec $*\"\n")
        .append("exec \"$@\"\n");
    return s.toString();
  }

  private String mountCommands(Mount mount) {
    String target = "\"$ROOT\"" + q(mount.containerPath());
    StringBuilder s = new StringBuilder("# volume ").append(mount.volume()).append(" at ").append(mount.containerPath())
        .append(mount.readOnly() ? " (readOnly" + (mount.recursiveReadOnly() ? ", recursiveReadOnly)" : ")") : "")
        .append('\n');
    if (mount.source() instanceof HostPath host) {
      String source = q(host.path());
      switch (host.type()) {
        case "Directory" -> s.append("[ -d ").append(source).append(" ] || die ").append(q("hostPath " + host.path()
            + " is not a directory")).append('\n');
        case "DirectoryOrCreate" -> s.append("mkdir -p -m 0755 ").append(source).append('\n');
        case "CharDevice" -> s.append("[ -c ").append(source).append(" ] || die ").append(q("hostPath " + host.path()
            + " is not a character device")).append('\n');
        case "File" -> s.append("[ -f ").append(source).append(" ] || die ").append(q("hostPath " + host.path()
            + " is not a file")).append('\n');
        case "" -> s.append("[ -e ").append(source).append(" ] || die ").append(q("hostPath " + host.path()
            + " does not exist")).append('\n');
        default -> throw new AssertionError("hostPath type " + host.type() + " is not supported by this test");
      }
      s.append("if [ -d ").append(source).append(" ]; then mkdir -p ").append(target).append("; else mkdir -p \"$(dirname ")
          .append(target).append(")\"; touch ").append(target).append("; fi\n");
      s.append("mount --rbind ").append(source).append(' ').append(target).append('\n');
      if (mount.readOnly()) {
        s.append("mount -o remount,bind,ro ").append(target).append('\n');
        if (mount.recursiveReadOnly()) {
          s.append("readonly_submounts \"$ROOT\"").append(q(mount.containerPath())).append('\n');
        }
      }
    } else if (mount.source() instanceof ConfigMapFiles) {
      s.append("mkdir -p ").append(target).append('\n')
          .append("mount --bind ").append(q(configMapDir(mount).toString())).append(' ').append(target).append('\n')
          .append("mount -o remount,bind,ro ").append(target).append('\n'); // kubelet mounts configMap volumes read-only
    } else if (mount.source() instanceof EmptyDir empty) {
      String size = empty.sizeLimit().map(NamespacedAgent::tmpfsSize).orElse("64m");
      s.append("mkdir -p ").append(target).append('\n')
          .append("mount -t tmpfs -o mode=0777,nosuid,nodev,size=").append(size).append(" emptydir ").append(target)
          .append('\n');
      if (mount.readOnly()) {
        s.append("mount -o remount,ro ").append(target).append('\n');
      }
    }
    return s.toString();
  }

  /** setpriv's arguments for the container's user and capabilities. */
  static List<String> setprivArgs(Security security) {
    List<String> args = new ArrayList<>(List.of("setpriv", "--reuid=" + security.uid(), "--regid=" + security.gid(),
        "--clear-groups"));
    if (!security.privileged()) {
      String keep = security.capabilities().stream().map(c -> ",+" + c.toLowerCase(Locale.ROOT))
          .collect(Collectors.joining());
      args.add("--inh-caps=-all" + keep);
      args.add("--bounding-set=-all" + keep);
    }
    if (security.noNewPrivileges()) {
      args.add("--no-new-privs");
    }
    args.add("--");
    return args;
  }

  /** A Kubernetes quantity ({@code 16Mi}, {@code 1Gi}, {@code 500M}) as tmpfs's {@code size=}. */
  private static String tmpfsSize(String quantity) {
    java.math.BigDecimal bytes = io.fabric8.kubernetes.api.model.Quantity.getAmountInBytes(
        new io.fabric8.kubernetes.api.model.Quantity(quantity));
    return bytes.toBigInteger().toString();
  }

  private static String parent(String path) {
    String parent = Path.of(path).getParent().toString();
    return parent;
  }

  /** Single-quoted for sh. */
  static String q(String text) {
    return "'" + text.replace("'", "'\\''") + "'";
  }

  private static void writeReadable(Path file, String content) throws IOException {
    Files.writeString(file, content);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
  }

  private static void deleteEmptyDir(Path dir) {
    try {
      Files.deleteIfExists(dir);
    } catch (IOException e) {
      System.err.println("NamespacedAgent: cannot remove " + dir + " (still mounted?): " + e);
    }
  }
}
