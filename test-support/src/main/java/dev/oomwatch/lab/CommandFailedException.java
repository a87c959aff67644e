package dev.oomwatch.lab;

import java.io.IOException;
import java.util.List;

/**
 * An external command the lab ran (runsc, mostly) exited with a non-zero status or did not finish in
 * time. The message holds the command line, the exit status and the command's stderr, so a log line
 * alone says what went wrong. Immutable.
 */
public final class CommandFailedException extends IOException {
  /** Exit status reported when the command was stopped because it ran past its timeout. */
  public static final int TIMED_OUT = -1;

  private static final long serialVersionUID = 1L;

  private final List<String> command;
  private final int exitStatus;
  private final String stderr;

  CommandFailedException(List<String> command, int exitStatus, String stderr) {
    super(describe(command, exitStatus, stderr));
    this.command = List.copyOf(command);
    this.exitStatus = exitStatus;
    this.stderr = stderr;
  }

  public List<String> command() {
    return command;
  }

  /** The command's exit status, or {@link #TIMED_OUT}. */
  public int exitStatus() {
    return exitStatus;
  }

  public String stderr() {
    return stderr;
  }

  private static String describe(List<String> command, int exitStatus, String stderr) {
    String outcome = exitStatus == TIMED_OUT ? "timed out" : "exited with status " + exitStatus;
    String detail = stderr.isBlank() ? "(no stderr)" : stderr.strip();
    return "`" + String.join(" ", command) + "` " + outcome + ": " + detail;
  }
}
