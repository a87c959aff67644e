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
    DISABLED
  }

  public boolean live() {
    return state == State.LIVE;
  }
}
