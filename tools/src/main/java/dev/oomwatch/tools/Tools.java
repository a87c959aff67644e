package dev.oomwatch.tools;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The tools jar's entry point: {@code demo}, {@code bench}, {@code lab} and {@code scenario}, which run
 * beside the agent on a developer's machine (root, runsc, cgroup v1) and bring the stand-in API server with
 * them; the node agent itself is the agent jar's {@code agent}. Only parses the command line and hands over; exit codes: 0 done,
 * 1 failed, 2 bad usage.
 */
@Command(
    name = "gvisor-oom-watcher-tools",
    mixinStandardHelpOptions = true,
    description = "The demo, the benchmark, the lab and the dashboard scenario of gvisor-oom-watcher"
        + " (not the node agent).",
    subcommands = {DemoCommand.class, BenchCommand.class, LabCommand.class, ScenarioCommand.class})
public final class Tools implements Runnable {
  public static void main(String[] args) {
    System.exit(new CommandLine(new Tools()).execute(args));
  }

  @Override
  public void run() {
    new CommandLine(this).usage(System.out);
  }
}
