package dev.oomwatch.operator;

import dev.oomwatch.crd.IncidentCondition;
import dev.oomwatch.crd.IncidentLimits;
import dev.oomwatch.crd.OOMIncidentStatus;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * The {@code Reported} condition of an incident's status, derived from the status the reconciler is
 * about to write: {@code True} with reason {@code Reported} once the Event and pod condition are written,
 * {@code False} with the phase as reason otherwise ({@code Recorded}, {@code PodGone}, {@code Failed},
 * {@code Refused}); the status message; {@code observedGeneration} the incident's generation. Its
 * {@code lastTransitionTime} is kept from the previous status while the condition's status stays the
 * same, and is {@code now} when it changes (or first appears). Pure; stateless and thread-safe.
 */
final class ReportedCondition {
  private ReportedCondition() {}

  /** Sets {@code next}'s conditions to the one Reported condition, given the status stored before. */
  static void apply(OOMIncidentStatus previous, OOMIncidentStatus next, long generation, Instant now) {
    IncidentCondition condition = new IncidentCondition();
    condition.setType(IncidentCondition.REPORTED);
    boolean reported = OOMIncidentStatus.REPORTED.equals(next.getPhase());
    condition.setStatus(reported ? "True" : "False");
    condition.setReason(next.getPhase());
    condition.setMessage(IncidentLimits.cut(Objects.toString(next.getMessage(), ""), IncidentLimits.MESSAGE));
    condition.setObservedGeneration(generation);
    IncidentCondition before = previous == null || previous.getConditions() == null ? null
        : previous.getConditions().stream()
            .filter(c -> c != null && IncidentCondition.REPORTED.equals(c.getType()))
            .findFirst().orElse(null);
    boolean same = before != null && condition.getStatus().equals(before.getStatus())
        && before.getLastTransitionTime() != null;
    condition.setLastTransitionTime(same ? before.getLastTransitionTime() : now.toString());
    next.setConditions(List.of(condition));
  }
}
