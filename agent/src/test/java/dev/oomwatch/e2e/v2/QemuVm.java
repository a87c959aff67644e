package dev.oomwatch.e2e.v2;

import dev.oomwatch.testing.LoopbackPorts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A qemu virtual machine running Debian's kernel under software emulation (TCG) with an initramfs of
 * the test's making, its serial console in a file, and its port 9464 (the agent's HTTP endpoints)
 * forwarded to a free port on the host's 127.0.0.1. The guest reaches the host's 127.0.0.1 as 10.0.2.2
 * (qemu's user network). {@link #close} kills qemu; a JVM that dies first takes qemu with it (shutdown
 * hook) or, at worst, qemu ends itself after {@link #LIFETIME}. Not thread-safe.
 */
final class QemuVm implements AutoCloseable {
  /** The guest port forwarded to the host. */
  static final int GUEST_HTTP_PORT = 9464;
  /** qemu is started under {@code timeout}: never a stray VM, whatever happens to the test. */
  static final Duration LIFETIME = Duration.ofMinutes(10);

  private final Process process;
  private final Path serialLog;
  private final Path qemuLog;
  private final int hostHttpPort;
  private final long startedNanos = System.nanoTime();
  private final Thread killer;

  private QemuVm(Process process, Path serialLog, Path qemuLog, int hostHttpPort) {
    this.process = process;
    this.serialLog = serialLog;
    this.qemuLog = qemuLog;
    this.hostHttpPort = hostHttpPort;
    this.killer = new Thread(process::destroyForcibly, "qemu-killer");
    Runtime.getRuntime().addShutdownHook(killer);
  }

  /**
   * Boots {@code kernel} with {@code initramfs}; the serial console goes to {@code workDir/serial.log},
   * qemu's own messages to {@code workDir/qemu.log}.
   */
  static QemuVm boot(Path kernel, Path initramfs, Path workDir, int memoryMib) throws IOException {
    Path serialLog = workDir.resolve("serial.log");
    Path qemuLog = workDir.resolve("qemu.log");
    Files.deleteIfExists(serialLog);
    Files.createFile(serialLog);
    int hostPort = LoopbackPorts.free();
    List<String> command = new ArrayList<>(List.of(
        "timeout", "--kill-after=10", LIFETIME.toSeconds() + "s",
        "qemu-system-x86_64",
        // KVM refuses this machine's CPU model; software emulation is slow but enough
        "-accel", "tcg",
        "-m", Integer.toString(memoryMib),
        "-smp", "2",
        "-kernel", kernel.toString(),
        "-initrd", initramfs.toString(),
        "-append", "console=ttyS0 panic=-1 loglevel=3",
        "-display", "none",
        "-monitor", "none",
        "-serial", "file:" + serialLog,
        "-no-reboot",
        "-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:" + hostPort + "-:" + GUEST_HTTP_PORT,
        "-device", "virtio-net-pci,netdev=n0"));
    Process process = new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(qemuLog.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
        .start();
    return new QemuVm(process, serialLog, qemuLog, hostPort);
  }


  /** The host port forwarded to the guest's {@link #GUEST_HTTP_PORT}. */
  int hostHttpPort() {
    return hostHttpPort;
  }

  boolean isRunning() {
    return process.isAlive();
  }

  /** How long the VM has been up, for messages. */
  Duration uptime() {
    return Duration.ofNanos(System.nanoTime() - startedNanos);
  }

  /** The serial console so far (the guest's kernel messages, init's markers and the agent's log). */
  String serial() {
    try {
      return new String(Files.readAllBytes(serialLog), StandardCharsets.UTF_8).replace("\r", "");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The lines of the serial console that start with {@code "=== "}: the guest's progress markers. */
  List<String> markers() {
    return serial().lines().filter(l -> l.startsWith("=== ")).toList();
  }

  /**
   * Waits until a marker line starting with {@code "=== " + prefix} appears, the VM stops, or the
   * timeout passes; a {@code "=== HALT"} marker (the guest gave up) ends the wait too.
   *
   * @return the marker line, if it appeared
   */
  java.util.Optional<String> awaitMarker(String prefix, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      List<String> markers = markers();
      for (String marker : markers) {
        if (marker.startsWith("=== " + prefix)) {
          return java.util.Optional.of(marker);
        }
      }
      boolean halted = markers.stream().anyMatch(m -> m.startsWith("=== HALT"));
      if (halted || !process.isAlive() || System.nanoTime() - deadline >= 0) {
        return java.util.Optional.empty();
      }
      Thread.sleep(250);
    }
  }

  /** What to print when a test fails: the markers, qemu's messages and the whole serial console. */
  String report() {
    StringBuilder text = new StringBuilder();
    text.append("VM up for ").append(uptime().toSeconds()).append(" s, ")
        .append(process.isAlive() ? "running" : "exited with " + process.exitValue()).append('\n');
    try {
      String qemu = Files.exists(qemuLog) ? Files.readString(qemuLog) : "";
      if (!qemu.isBlank()) {
        text.append("---- qemu ----\n").append(qemu).append('\n');
      }
    } catch (IOException e) {
      text.append("(cannot read ").append(qemuLog).append(": ").append(e).append(")\n");
    }
    text.append("---- serial console (").append(serialLog).append(") ----\n").append(serial());
    return text.toString();
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    try {
      Runtime.getRuntime().removeShutdownHook(killer);
    } catch (IllegalStateException shuttingDown) {
      // the hook runs anyway
    }
  }
}
