package dev.oomwatch.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The agent jar's entry point: {@code agent} runs the node agent (the demo, the benchmark and the lab are
 * in the tools jar, {@code dev.oomwatch.tools.Tools}). Only parses the command line and hands over; exit
 * codes: 0 done, 1 failed, 2 bad usage or configuration.
 */
@Command(
    name = "gvisor-oom-watcher",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Tells Kubernetes users when a gVisor (runsc) sandboxed pod was killed for lack of memory.",
    subcommands = {AgentCommand.class})
public final class Main implements Runnable {
  public static void main(String[] args) {
    System.exit(new CommandLine(new Main()).execute(args));
  }

  @Override
  public void run() {
    new CommandLine(this).usage(System.out);
  }

  /** The version recorded in the jar's manifest by Maven. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String version = Main.class.getPackage().getImplementationVersion();
      return new String[] {"gvisor-oom-watcher " + (version == null ? "(development build)" : version)};
    }
  }
}
