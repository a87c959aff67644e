package dev.oomwatch.source.kmsg;

import java.util.Objects;

/**
 * One record of the kernel log as {@code /dev/kmsg} hands it out: the header fields and the text of its
 * first line. The dictionary lines that may follow ({@code  SUBSYSTEM=...}) are not kept. The text is
 * kept exactly as the kernel escaped it: non-printable bytes appear as {@code \xNN}. Immutable.
 *
 * @param priority        syslog level, 0 (emergency) to 7 (debug)
 * @param facility        syslog facility; 0 for the kernel itself, 1 ({@code LOG_USER}) and up for
 *                        lines userspace wrote into {@code /dev/kmsg}
 * @param sequence        the record's sequence number; restarts at 0 at every boot
 * @param monotonicMicros when the kernel logged it, microseconds since boot
 * @param flags           {@code -} for a whole record, {@code c} or {@code +} for fragments of a
 *                        continued line (older kernels)
 * @param text            the message, without its trailing newline
 */
public record KmsgRecord(
    int priority, int facility, long sequence, long monotonicMicros, char flags, String text) {

  public KmsgRecord {
    if (priority < 0 || priority > 7) {
      throw new IllegalArgumentException("priority must be a syslog level 0-7: " + priority);
    }
    if (facility < 0 || sequence < 0 || monotonicMicros < 0) {
      throw new IllegalArgumentException("facility, sequence and micros must not be negative");
    }
    Objects.requireNonNull(text, "text");
  }

  /** Whether the kernel wrote it. Userspace cannot forge this: the kernel gives its writes facility 1+. */
  public boolean fromKernel() {
    return facility == 0;
  }
}
