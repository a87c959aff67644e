package dev.oomwatch.inference;

import dev.oomwatch.model.OomIncident;
import java.util.Optional;

/**
 * What inference concluded from one observation: an incident to report, or why there is none (for a
 * DEBUG line and a metric label). Immutable.
 */
public record Inference(Optional<OomIncident> incident, String ignoredBecause) {
  static Inference of(OomIncident incident) {
    return new Inference(Optional.of(incident), "");
  }

  static Inference ignored(String why) {
    return new Inference(Optional.empty(), why);
  }
}
