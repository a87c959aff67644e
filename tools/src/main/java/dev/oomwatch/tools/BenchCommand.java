package dev.oomwatch.tools;

import dev.oomwatch.bench.AgentJars;
import dev.oomwatch.bench.Bench;
import dev.oomwatch.bench.BenchPlan;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code bench}: measures, on this machine, detection latency over real runsc OOMs, the agent's
 * steady-state cost with 110 gVisor pods, its API load, and an OOM storm; prints Markdown tables and
 * writes the same as JSON (see {@link Bench}). Exit codes: 0 done (targets met or not: the tables say),
 * 1 the bench could not run or failed, 2 bad usage.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
    description = "Measure detection latency, node overhead, API load and an OOM storm on this machine"
        + " (root, runsc, cgroup v1, /dev/kmsg); prints Markdown tables and writes JSON.")
public final class BenchCommand implements Callable<Integer> {
  @Option(names = "--quick", description = "Fewer OOMs, shorter windows (under 2 minutes instead of about 10).")
  boolean quick;

  @Option(names = "--out", description = "The JSON results file; the Markdown goes beside it (.md). Default: ${DEFAULT-VALUE}.",
      defaultValue = "bench/results.json")
  Path out;

  @Option(names = "--only", split = ",", paramLabel = "PHASE",
      description = "Run only these phases: latency, steady, storm (default: all).")
  List<String> only;

  @Option(names = "--runtimes", description = "Only the runtime comparison: the image's JVM and jar against the"
      + " candidates (single jar, AppCDS, JDK 25, compact object headers, AOT cache), steady state only.")
  boolean runtimes;

  @Option(names = "--notifications", description = "Only the cgroup notification comparison: cgroup-only latency"
      + " at a 1 s poll and the unprivileged steady state, each with the kernel's cgroup notifications off and on.")
  boolean notifications;

  @Option(names = "--agent-jar", description = "The agent's jar (default: ${DEFAULT-VALUE}).",
      defaultValue = AgentJars.DEFAULT_AGENT_JAR)
  Path agentJar;

  @Option(names = "--single-jar", description = "The jar of the commit before the module split, for its row.")
  Path singleJar;

  @Option(names = "--jdk25", description = "A JDK 25's home, for its rows (default: ${DEFAULT-VALUE} when there).",
      defaultValue = AgentJars.DEFAULT_JDK25)
  Path jdk25;

  @Override
  public Integer call() {
    // The lab's per-cgroup INFO lines (hundreds for 110 pods) would drown the bench's own output.
    System.setProperty("org.slf4j.simpleLogger.log.dev.oomwatch.lab", "warn");
    // fabric8 warns once that the OOMIncident CRD is v1alpha1: known, and not the bench's business
    System.setProperty("org.slf4j.simpleLogger.log.io.fabric8.kubernetes.client.dsl.internal.VersionUsageUtils", "error");
    Set<BenchPlan.Phase> phases = EnumSet.noneOf(BenchPlan.Phase.class);
    if (only == null || only.isEmpty()) {
      phases.addAll(EnumSet.allOf(BenchPlan.Phase.class));
    } else {
      for (String name : only) {
        try {
          phases.add(BenchPlan.Phase.valueOf(name.strip().toUpperCase(Locale.ROOT)));
        } catch (IllegalArgumentException e) {
          System.err.println("gvisor-oom-watcher bench: unknown phase '" + name + "'; phases: latency, steady, storm");
          return 2;
        }
      }
    }
    BenchPlan plan = (quick ? BenchPlan.quick() : BenchPlan.full()).withPhases(phases);
    if (runtimes) {
      plan = plan.runtimesOnly();
    }
    if (notifications) {
      plan = plan.notificationsOnly();
    }
    AgentJars jars = new AgentJars(agentJar, java.util.Optional.ofNullable(singleJar), java.util.Optional.of(jdk25));
    return new Bench(plan, jars, System.out, out, commandLine()).run();
  }

  private String commandLine() {
    List<String> words = new ArrayList<>(List.of("java", "-jar", jarName(), "bench"));
    if (quick) {
      words.add("--quick");
    }
    if (runtimes) {
      words.add("--runtimes");
    }
    if (notifications) {
      words.add("--notifications");
    }
    if (singleJar != null) {
      words.add("--single-jar");
      words.add(singleJar.toString());
    }
    if (only != null && !only.isEmpty()) {
      words.add("--only");
      words.add(String.join(",", only));
    }
    words.add("--out");
    words.add(out.toString());
    return String.join(" ", words);
  }

  private static String jarName() {
    String classPath = System.getProperty("java.class.path", "");
    return classPath.endsWith(".jar") && !classPath.contains(java.io.File.pathSeparator)
        ? classPath
        : "target/gvisor-oom-watcher-tools.jar";
  }
}
