package dev.oomwatch.source;

/**
 * A source's health at one moment: its state and, when not live, a sentence a user can act on
 * (for example "cannot read /dev/kmsg: permission denied; grant CAP_SYSLOG or set --kmsg=off").
 * Immutable.
 */
public record SourceHealth(String source, State state, String detail) {
  /** Lifecycle of a source. */
  public enum State {
    STARTING,
    LIVE,
    /** Failed and being retried with backoff. */
    FAILED,
    /** Turned off by configuration. */
    DISABLED,
    /**
     * Its own thread ended for good (an Error or an unexpected exception escaped it): unlike
     * {@code FAILED} nothing retries, and it delivers nothing until the agent restarts. An OOM-capable
     * source in this state fails {@code /healthz}, so that kubelet restarts the agent.
     */
    DEAD
  }

  /**
   * {@code DEAD}: {@code what} (say, "the kmsg reader") stopped for good because of {@code cause}. Safe
   * to call while handling any Throwable, even one whose {@code toString()} throws.
   */
  public static SourceHealth dead(String source, String what, Throwable cause) {
    String why;
    try {
      why = String.valueOf(cause);
    } catch (RuntimeException | Error e) {
      why = cause.getClass().getName();
    }
    return new SourceHealth(source, State.DEAD, what + " stopped for good: " + why + "; the agent must be restarted");
  }

  public boolean live() {
    return state == State.LIVE;
  }
}
