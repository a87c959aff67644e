package dev.oomwatch.cli;

import dev.oomwatch.logging.JsonLogProvider;
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
  private static final String SLF4J_VERBOSITY = "slf4j.internal.verbosity";

  public static void main(String[] args) {
    selectLogFormat(args, System.getenv("OOMWATCH_LOG_FORMAT"));
    System.exit(new CommandLine(new Main()).execute(args));
  }

  /**
   * JSON log lines when {@code --log-format=json} (or {@code --log-format json}) is given, else when env
   * {@code OOMWATCH_LOG_FORMAT} is {@code json}: selects {@link JsonLogProvider} through
   * {@code slf4j.provider} before the first logger exists (picocli loads the commands, whose loggers are
   * static, so this cannot wait for it to parse the flag). The flag is declared on {@code agent} too,
   * where picocli validates it. An explicit {@code -Dslf4j.provider} is left alone.
   */
  static void selectLogFormat(String[] args, String env) {
    String format = env;
    for (int i = 0; i < args.length; i++) {
      if (args[i].startsWith("--log-format=")) {
        format = args[i].substring("--log-format=".length());
      } else if (args[i].equals("--log-format") && i + 1 < args.length) {
        format = args[i + 1];
      }
    }
    if ("json".equals(format) && System.getProperty("slf4j.provider") == null) {
      System.setProperty("slf4j.provider", JsonLogProvider.NAME);
      if (System.getProperty(SLF4J_VERBOSITY) == null) {
        // SLF4J itself says, in plain text, that it loads the provider named by the property: not a JSON line
        System.setProperty(SLF4J_VERBOSITY, "WARN");
      }
    }
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
