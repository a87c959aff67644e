package dev.oomwatch.bench;

import dev.oomwatch.bench.BenchResult.Machine;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** Describes this machine from {@code /proc}, {@code /etc/os-release} and {@code runsc --version}. Stateless. */
final class Machines {
  private Machines() {}

  static Machine describe() {
    List<String> cpuinfo = lines(Path.of("/proc/cpuinfo"));
    String model = cpuinfo.stream().filter(l -> l.startsWith("model name")).findFirst()
        .map(l -> l.substring(l.indexOf(':') + 1).strip()).orElse("unknown");
    int cores = (int) cpuinfo.stream().filter(l -> l.startsWith("processor")).count();
    double memoryGiB = lines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith("MemTotal:")).findFirst()
        .map(l -> Long.parseLong(l.replaceAll("\\D", "")) / 1024.0 / 1024.0).orElse(0.0);
    String kernel = lines(Path.of("/proc/sys/kernel/osrelease")).stream().findFirst().orElse("unknown");
    String os = lines(Path.of("/etc/os-release")).stream().filter(l -> l.startsWith("PRETTY_NAME=")).findFirst()
        .map(l -> l.substring("PRETTY_NAME=".length()).replace("\"", "")).orElse("unknown");
    String jvm = System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version");
    String cgroup = Files.isRegularFile(Bench.CGROUP_ROOT.resolve("memory/memory.limit_in_bytes"))
        ? "v1 (memory controller at " + Bench.CGROUP_ROOT.resolve("memory") + ")"
        : "not v1";
    return new Machine(model, cores > 0 ? cores : Runtime.getRuntime().availableProcessors(),
        Math.round(memoryGiB * 10) / 10.0, kernel, os, jvm, runscVersion().orElse("unknown"), cgroup, loadAverage(),
        null);
  }

  static Machine withLoadAtEnd(Machine machine) {
    return new Machine(machine.cpuModel(), machine.cores(), machine.memoryGiB(), machine.kernel(), machine.os(),
        machine.jvm(), machine.runsc(), machine.cgroup(), machine.loadAverageAtStart(), loadAverage());
  }

  /** The 1, 5 and 15 minute load averages, e.g. {@code 0.12 0.30 0.25}. */
  static String loadAverage() {
    return lines(Path.of("/proc/loadavg")).stream().findFirst()
        .map(l -> String.join(" ", List.of(l.split(" ")).subList(0, 3))).orElse("unknown");
  }

  private static Optional<String> runscVersion() {
    try {
      Process runsc = new ProcessBuilder("runsc", "--version").redirectErrorStream(true).start();
      String output = new String(runsc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!runsc.waitFor(10, TimeUnit.SECONDS)) {
        runsc.destroyForcibly();
        return Optional.empty();
      }
      return output.lines().findFirst().map(String::strip);
    } catch (IOException e) {
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }

  private static List<String> lines(Path file) {
    try {
      return Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return List.of();
    }
  }
}
