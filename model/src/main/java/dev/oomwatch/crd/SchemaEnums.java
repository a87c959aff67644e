package dev.oomwatch.crd;

/**
 * The closed sets of values of the {@code OOMIncident} string fields that have one, as Java enums only so
 * that crd-generator writes them into the schema as {@code enum} ({@code @SchemaFrom}); the fields stay
 * strings. A test keeps them equal to the agent's own values ({@code Verdict}, the phase constants).
 */
final class SchemaEnums {
  private SchemaEnums() {}

  /** {@code spec.verdict} and {@code status.verdict}. */
  enum VerdictValue { Confirmed, Likely, Possible }

  /** {@code status.phase}. */
  enum PhaseValue { Reported, Recorded, PodGone, Failed, Refused }

  /** {@code status.conditions[].status}, as in {@code metav1.Condition}. */
  enum ConditionStatus { True, False, Unknown }
}
