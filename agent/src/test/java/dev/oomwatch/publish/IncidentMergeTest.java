package dev.oomwatch.publish;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.oomwatch.crd.IncidentLimits;
import dev.oomwatch.crd.OOMIncident;
import dev.oomwatch.crd.OOMIncidentSpec;
import dev.oomwatch.model.Evidence;
import dev.oomwatch.model.MemoryScope;
import dev.oomwatch.model.OomIncident;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.model.Verdict;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Merging a kill seen again never touches an object that is not the agent's own incident of it. */
class IncidentMergeTest {
  private static final Instant KILLED = Instant.parse("2026-11-28T12:45:12.345Z");
  private static final PodRef POD = new PodRef("default", "app", "0f4e2a49-1b7e-4c1e-9a4f-6a1d3c2b1a00");

  private static OOMIncident incident(PodRef pod, String node, Verdict verdict, List<Evidence> evidence) {
    return IncidentResources.toResource(new OomIncident("app-oom-0123456789", pod, node, Optional.of("sb"), verdict,
        Optional.of("exe (pid 1, uid 65534, gVisor sandbox)"), MemoryScope.cgroup("/kubepods/pod" + pod.uid()), OptionalLong.of(64L << 20), KILLED,
        KILLED, OomIncident.WHOLE_POD, OptionalDouble.empty(), evidence));
  }

  private static List<Evidence> evidence(String... sources) {
    return java.util.Arrays.stream(sources).map(s -> new Evidence(s, s + " saw it", KILLED)).toList();
  }

  @Test
  void theAgentsOwnIncidentGetsTheNewEvidence() {
    OOMIncident existing = incident(POD, "node-a", Verdict.LIKELY, evidence("runsc"));
    OOMIncident update = incident(POD, "node-a", Verdict.CONFIRMED, evidence("kmsg"));

    OOMIncidentSpec merged = IncidentMerge.merge(existing, update);

    assertNotSame(existing.getSpec(), merged);
    assertEquals("Confirmed", merged.getVerdict());
    assertEquals(2, merged.getEvidence().size());
  }

  @Test
  void anIncidentWithoutTheAgentsOwnerAnnotationIsLeftAsItIs() {
    OOMIncident existing = incident(POD, "node-a", Verdict.LIKELY, evidence("runsc"));
    existing.getMetadata().setAnnotations(new HashMap<>());

    assertSame(existing.getSpec(), IncidentMerge.merge(existing, incident(POD, "node-a", Verdict.CONFIRMED,
        evidence("kmsg"))));
  }

  @Test
  void anIncidentOfAnotherNodeOrPodOfTheSameNameIsLeftAsItIs() {
    OOMIncident update = incident(POD, "node-a", Verdict.CONFIRMED, evidence("kmsg"));
    OOMIncident otherNode = incident(POD, "node-b", Verdict.LIKELY, evidence("runsc"));
    OOMIncident otherPod = incident(new PodRef("default", "app", "another-uid"), "node-a", Verdict.LIKELY,
        evidence("runsc"));

    assertSame(otherNode.getSpec(), IncidentMerge.merge(otherNode, update));
    assertSame(otherPod.getSpec(), IncidentMerge.merge(otherPod, update));
    // also when only the specs are compared (the owner annotation copied by a forger)
    assertSame(otherNode.getSpec(), IncidentMerge.merge(otherNode.getSpec(), update.getSpec()));
    assertSame(otherPod.getSpec(), IncidentMerge.merge(otherPod.getSpec(), update.getSpec()));
  }

  @Test
  void theMergedEvidenceStaysWithinTheSchemasBound() {
    List<Evidence> many = IntStream.range(0, IncidentLimits.EVIDENCE_ITEMS)
        .mapToObj(i -> new Evidence("cgroup", "poll " + i, KILLED)).toList();
    OOMIncident existing = incident(POD, "node-a", Verdict.CONFIRMED, many);

    assertSame(existing.getSpec(), IncidentMerge.merge(existing, incident(POD, "node-a", Verdict.CONFIRMED,
        evidence("kmsg"))), "a full list takes nothing more, and nothing else changed");
  }
}
