package dev.oomwatch.bench;

import dev.oomwatch.bench.BenchResult.ApiRate;
import dev.oomwatch.bench.BenchResult.LatencyResult;
import dev.oomwatch.bench.BenchResult.Machine;
import dev.oomwatch.bench.BenchResult.SteadyResult;
import dev.oomwatch.bench.BenchResult.StormResult;
import dev.oomwatch.bench.BenchResult.TargetCheck;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Renders a {@link BenchResult} as Markdown: the machine and the command, then one table per phase,
 * then the targets (a missed one in bold), then how it was measured. Stateless; thread-safe.
 */
public final class MarkdownReport {
  private MarkdownReport() {}

  public static String render(BenchResult result) {
    StringBuilder md = new StringBuilder();
    Machine m = result.machine();
    md.append("Measured with `").append(result.command()).append("` on ").append(result.startedAt(), 0, 10)
        .append(" (the run took ").append(minutes(result.tookSeconds())).append("):\n\n");
    table(md, List.of("machine", ""), List.of("---", "---"), List.of(
        List.of("CPU", m.cpuModel() + ", " + m.cores() + " cores"),
        List.of("memory", fmt("%.1f GiB", m.memoryGiB())),
        List.of("OS, kernel", m.os() + ", Linux " + m.kernel() + ", cgroup " + m.cgroup()),
        List.of("JVM", m.jvm()),
        List.of("gVisor", m.runsc()),
        List.of("load average (1, 5, 15 min)", m.loadAverageAtStart() + " at the start"
            + (m.loadAverageAtEnd() == null ? "" : ", " + m.loadAverageAtEnd() + " at the end"))));

    if (!result.latency().isEmpty()) {
      md.append("\n**Detection latency**: from the kill (the kernel's timestamp on its `oom-kill` record) to the"
          + " pod's `OOMKilled` Event being visible in the API; real runsc OOMs, one at a time.\n\n");
      List<List<String>> rows = new ArrayList<>();
      for (LatencyResult l : result.latency()) {
        rows.add(List.of(l.mode(), l.oomsMeasured() + "/" + l.oomsPlanned(),
            l.killToEventMs() == null ? "–" : Bench.millis(l.killToEventMs().p50()),
            l.killToEventMs() == null ? "–" : Bench.millis(l.killToEventMs().p95()),
            l.killToEventMs() == null ? "–" : Bench.millis(l.killToEventMs().p99()),
            l.killToEventMs() == null ? "–" : Bench.millis(l.killToEventMs().max()),
            l.killToDetectedMs() == null ? "–"
                : Bench.millis(l.killToDetectedMs().p50()) + " / " + Bench.millis(l.killToDetectedMs().max()),
            verdicts(l),
            l.target() == null ? "–" : l.target().replace("<=", "≤") + ": " + metOrMissed(l.met())));
      }
      table(md, List.of("mode", "OOMs", "p50", "p95", "p99", "max", "agent detected it (p50 / max)", "verdict (evidence)",
          "target"), List.of("---", "---:", "---:", "---:", "---:", "---:", "---:", "---", "---"), rows);
    }

    if (!result.steady().isEmpty()) {
      SteadyResult first = result.steady().get(0);
      md.append("\n**Steady state**: ").append(first.pods()).append(" gVisor pods on the node (API objects, real"
          + " cgroup v1 pod and sandbox cgroups, runsc state files), nothing happening; the agent in its own JVM,"
          + " all sources on (kernel log, cgroups, runsc state dir read every second, pod statuses) unless said;"
          + " ")
          .append(fmt("%.0f", first.windowSeconds())).append(" s window after ")
          .append(fmt("%.0f", first.warmUpSeconds())).append(" s of warm-up.\n\n");
      List<List<String>> rows = new ArrayList<>();
      for (SteadyResult s : result.steady()) {
        rows.add(List.of(s.config(), fmt("%.2f %%", s.cpuPercentOfOneCore()),
            s.allocationKiBPerSecond() == null ? "n/a" : fmt("%.0f KiB/s", s.allocationKiBPerSecond())
                + " (" + s.collectionsInWindow() + " GCs)",
            fmt("%.0f / %.0f MiB (%.0f anon)", s.rssMiBAtEnd(), s.rssMiBMaxInWindow(), s.rssAnonMiBAtEnd()),
            fmt("%.0f MiB", s.rssMiBPeakSinceStart()),
            Integer.toString(s.threadsAtEnd()),
            apiSummary(s.api()) + fmt(" (%d watches held; %d requests at start)", s.watchesHeld(),
                s.requestsBeforeWindow()),
            String.join("; ", steadyTargets(s, result.targets()))));
      }
      table(md, List.of("agent", "CPU (of one core)", "allocation", "RSS (end / max; of it anonymous)", "RSS peak since start",
          "threads", "API requests/min (reads / writes / watches)", "targets"),
          List.of("---", "---:", "---:", "---:", "---:", "---:", "---:", "---"), rows);
      md.append("\nJVM flags: *chart* = `").append(String.join(" ", Bench.jvmOptions(BenchPlan.JvmFlags.CHART)))
          .append("` (the chart's `jvmOptions`); *default* = none (this JVM's defaults).\n");
    }

    StormResult s = result.storm();
    if (s != null) {
      md.append("\n**OOM storm**: ").append(fmt("%,d", s.killsPerMinute())).append(" synthetic kills a minute for ")
          .append(fmt("%.0f", s.stormSeconds())).append(" s over ").append(s.pods())
          .append(" pods (chart JVM flags; per minute of the storm).\n\n");
      table(md, List.of("kills (detected / reported)", "agent CPU (storm / draining)", "RSS max", "threads max",
              "OOMIncidents created/min", "Events created + count patches/min", "pod condition patches/min",
              "incident status patches/min", "reads / new watches per min", "last one reported"),
          List.of("---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---"),
          List.of(List.of(fmt("%d (%d / %d)", s.kills(), s.killsDetected(), s.incidentsReported()),
              fmt("%.1f %% / ", s.cpuPercentOfOneCore())
                  + (s.cpuPercentWhileDraining() == null ? "–" : fmt("%.1f %%", s.cpuPercentWhileDraining())),
              fmt("%.0f MiB", s.rssMiBMax()), Integer.toString(s.threadsMax()),
              fmt("%.0f", s.incidentsCreatedPerMinute()),
              fmt("%.0f + %.0f", s.eventsCreatedPerMinute(), s.eventsPatchedPerMinute()),
              fmt("%.0f", s.podStatusPatchesPerMinute()),
              fmt("%.0f", s.incidentStatusPatchesPerMinute()),
              fmt("%.0f / %.0f", s.api().readsPerMinute(), s.api().watchesPerMinute()),
              s.allReportedSecondsAfterStormStart() == null
                  ? "**not all reported**"
                  : s.cpuPercentWhileDraining() == null
                      ? "by the storm's end (it kept up)"
                      : fmt("%.0f s after the storm's start", s.allReportedSecondsAfterStormStart()))));
    }

    if (!result.targets().isEmpty()) {
      md.append("\n**Targets** (issue 5)\n\n");
      table(md, List.of("target", "measured", ""), List.of("---", "---", "---"), result.targets().stream()
          .map(t -> List.of(t.target(), t.measured(), metOrMissed(t.met()) + (t.note() == null ? "" : " " + t.note())))
          .toList());
    }
    if (!result.notes().isEmpty()) {
      md.append("\nHow it is measured:\n\n");
      result.notes().forEach(n -> md.append("- ").append(n).append('\n'));
    }
    return md.toString();
  }

  static String apiSummary(ApiRate api) {
    return fmt("%.0f / %.0f / %.0f", api.readsPerMinute(), api.writesPerMinute(), api.watchesPerMinute());
  }

  private static List<String> steadyTargets(SteadyResult s, List<TargetCheck> targets) {
    return targets.stream().filter(t -> t.target().contains("(" + s.config() + ")"))
        .map(t -> t.target().substring(0, t.target().indexOf(" (")) + ": " + metOrMissed(t.met()))
        .toList();
  }

  private static String verdicts(LatencyResult l) {
    if (l.verdicts().isEmpty()) {
      return "–";
    }
    String evidence = l.evidence().keySet().stream().collect(Collectors.joining(", "));
    return l.verdicts().entrySet().stream().map(e -> e.getValue() + " " + e.getKey())
        .collect(Collectors.joining(", ")) + " (" + evidence + ")";
  }

  static String metOrMissed(Boolean met) {
    if (met == null) {
      return "–";
    }
    return met ? "met" : "**MISSED**";
  }

  private static void table(StringBuilder md, List<String> header, List<String> align, List<List<String>> rows) {
    md.append(row(header)).append(row(align));
    rows.forEach(r -> md.append(row(r)));
  }

  private static String row(List<String> cells) {
    return "| " + cells.stream().map(c -> c.replace("|", "\\|")).collect(Collectors.joining(" | ")) + " |\n";
  }

  private static String minutes(double seconds) {
    return seconds < 90 ? fmt("%.0f s", seconds) : fmt("%.1f min", seconds / 60);
  }

  static String fmt(String format, Object... args) {
    return String.format(Locale.ROOT, format, args);
  }
}
