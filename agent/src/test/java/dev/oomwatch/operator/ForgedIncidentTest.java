package dev.oomwatch.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.crd.EvidenceItem;
import dev.oomwatch.crd.OOMIncident;
import dev.oomwatch.crd.OOMIncidentStatus;
import dev.oomwatch.metrics.AgentMetrics;
import dev.oomwatch.model.Evidence;
import dev.oomwatch.model.MemoryScope;
import dev.oomwatch.model.OomIncident;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.model.Verdict;
import dev.oomwatch.podreport.PodConditionWriter;
import dev.oomwatch.podreport.PodEventRecorder;
import dev.oomwatch.publish.IncidentResources;
import dev.oomwatch.testing.EmbeddedCluster;
import io.fabric8.kubernetes.api.model.Pod;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Incidents the agent did not write, or that are not about its node's pods, or that break the schema
 * (the API stand-in does not validate, as an object stored before the CRD had bounds would not be):
 * the reconciler writes nothing on any pod — no Event, no condition, the pods' resourceVersions
 * unchanged — refuses each with one status patch (phase {@code Refused}) and a metric, and leaves it
 * alone afterwards (no endless retry).
 */
class ForgedIncidentTest {
  private static final Instant KILLED = Instant.parse("2026-11-28T12:45:12.345Z");
  private static final String NODE = "node-a";
  private final Clock clock = Clock.fixed(KILLED.plusMillis(200), ZoneOffset.UTC);
  private final AgentMetrics metrics = new AgentMetrics();
  private EmbeddedCluster cluster;
  private OomIncidentReconciler reconciler;
  private PodRef ours;
  private PodRef elsewhere;
  private Map<String, String> versionsBefore;

  @BeforeEach
  void setUp() {
    cluster = new EmbeddedCluster();
    cluster.createRuntimeClass("gvisor", "runsc");
    reconciler = new OomIncidentReconciler(cluster.client(), new PodEventRecorder(cluster.client(), NODE, clock),
        new PodConditionWriter(cluster.client()), metrics, clock, Duration.ofDays(7));
    ours = cluster.createRunningPod("default", "app", NODE, "gvisor", "c", "64Mi");
    elsewhere = cluster.createRunningPod("default", "other", "node-b", "gvisor", "c", "64Mi");
    versionsBefore = podVersions();
  }

  @AfterEach
  void tearDown() {
    cluster.close();
  }

  @Test
  void anIncidentAboutAPodOnAnotherNodeIsRefused() {
    // everything a forger can copy is right: label, spec.nodeName, owner annotation for that pod's uid
    assertRefused(forge(elsewhere, i -> {}), "pod-not-on-node");
  }

  @Test
  void anIncidentWhosePodUidIsNotThePodsWritesNothing() {
    // names the running pod but another uid (and an owner annotation made for that uid): the pod of
    // that name is not the victim
    OOMIncident incident = forge(ours, i -> {
      i.getSpec().setPodUid("11111111-2222-3333-4444-555555555555");
      i.getMetadata().getAnnotations().put(OOMIncident.OWNER_ANNOTATION,
          OOMIncident.ownerValue(NODE, "11111111-2222-3333-4444-555555555555"));
    });

    OOMIncidentStatus status = reconciler.reconcile(incident, null).getResource().orElseThrow().getStatus();

    assertEquals(OOMIncidentStatus.POD_GONE, status.getPhase());
    assertNothingWrittenOnAnyPod();
  }

  @Test
  void anOwnerAnnotationForAnotherPodUidIsRefused() {
    assertRefused(forge(ours, i -> i.getMetadata().getAnnotations().put(OOMIncident.OWNER_ANNOTATION,
        OOMIncident.ownerValue(NODE, elsewhere.uid()))), "not-owner");
  }

  @Test
  void anIncidentWithoutTheOwnerAnnotationIsRefused() {
    assertRefused(forge(ours, i -> i.getMetadata().setAnnotations(new HashMap<>())), "not-owner");
  }

  @Test
  void anIncidentLabelledWithThisNodeButAboutAnotherIsRefused() {
    assertRefused(forge(ours, i -> {
      i.getSpec().setNodeName("node-b");
      i.getMetadata().getAnnotations().put(OOMIncident.OWNER_ANNOTATION, OOMIncident.ownerValue("node-b", ours.uid()));
    }), "foreign-node");
  }

  @Test
  void anUnknownVerdictIsRefused() {
    assertRefused(forge(ours, i -> i.getSpec().setVerdict("Certain")), "invalid");
  }

  @Test
  void aOneMebibyteMessageIsRefused() {
    String huge = "x".repeat(1 << 20);
    assertRefused(forge(ours, i -> i.getSpec().setVictim(huge)), "invalid");
    assertRefused(forge(ours, i -> i.getSpec().setEvidence(List.of(new EvidenceItem("kmsg", huge, KILLED.toString())))),
        "invalid");
  }

  @Test
  void aBadTimestampIsRefused() {
    assertRefused(forge(ours, i -> i.getSpec().setKilledAt("yesterday")), "invalid");
    assertRefused(forge(ours, i -> i.getSpec().setEvidence(List.of(new EvidenceItem("kmsg", "x", "2026-13-45")))),
        "invalid");
  }

  @Test
  void anIncidentWithoutASpecIsRefusedNotCrashedOn() {
    assertRefused(forge(ours, i -> i.setSpec(null)), "invalid");
  }

  @Test
  void theAgentsOwnIncidentOfThePodIsStillReported() {
    // the control: the same construction, unforged, is reported (so the refusals above are the checks')
    OOMIncident incident = forge(ours, i -> {});

    OOMIncidentStatus status = reconciler.reconcile(incident, null).getResource().orElseThrow().getStatus();

    assertEquals(OOMIncidentStatus.REPORTED, status.getPhase());
    assertEquals(1, cluster.events(ours).size());
  }

  private int forged;

  /** The agent's own incident of {@code pod}'s kill, changed by {@code forgery}, created in the API. */
  private OOMIncident forge(PodRef pod, Consumer<OOMIncident> forgery) {
    forged++;
    OomIncident incident = new OomIncident("forged-" + forged, pod, NODE, Optional.of("sb" + forged),
        Verdict.CONFIRMED, Optional.of("exe (pid 7932, uid 65534, gVisor sandbox)"),
        MemoryScope.cgroup("/kubepods/burstable/pod" + pod.uid()),
        OptionalLong.of(64L << 20), KILLED, KILLED.plusMillis(5), OomIncident.WHOLE_POD, OptionalDouble.empty(),
        List.of(new Evidence("kmsg", "kernel OOM kill", KILLED)));
    OOMIncident resource = IncidentResources.toResource(incident);
    resource.getMetadata().setAnnotations(new HashMap<>(resource.getMetadata().getAnnotations()));
    forgery.accept(resource);
    return cluster.client().resources(OOMIncident.class).inNamespace(pod.namespace()).resource(resource).create();
  }

  private void assertRefused(OOMIncident incident, String reason) {
    double before = refused(reason);
    UpdateControl<OOMIncident> control = reconciler.reconcile(incident, null);

    assertTrue(control.isPatchStatus(), "one status patch");
    OOMIncident patched = control.getResource().orElseThrow();
    assertEquals(OOMIncidentStatus.REFUSED, patched.getStatus().getPhase());
    assertTrue(patched.getStatus().getMessage().contains(reason), patched.getStatus().getMessage());
    assertTrue(patched.getStatus().getMessage().length() <= 2048);
    assertEquals(before + 1, refused(reason), "oomwatch_incidents_refused_total{reason=" + reason + "}");
    assertNothingWrittenOnAnyPod();
    // seen again with its Refused status: left alone, nothing patched, nothing counted
    assertTrue(reconciler.reconcile(patched, null).isNoUpdate());
    assertEquals(before + 1, refused(reason));
  }

  private void assertNothingWrittenOnAnyPod() {
    assertEquals(List.of(), cluster.client().v1().events().inAnyNamespace().list().getItems());
    for (Pod pod : cluster.client().pods().inAnyNamespace().list().getItems()) {
      assertTrue(pod.getStatus().getConditions().stream().noneMatch(c -> c.getType().startsWith("oomwatch.dev/")),
          pod.getMetadata().getName());
    }
    assertEquals(versionsBefore, podVersions());
  }

  private Map<String, String> podVersions() {
    Map<String, String> versions = new HashMap<>();
    for (Pod pod : cluster.client().pods().inAnyNamespace().list().getItems()) {
      versions.put(pod.getMetadata().getName(), pod.getMetadata().getResourceVersion());
    }
    return versions;
  }

  private double refused(String reason) {
    String prefix = "oomwatch_incidents_refused_total{reason=\"" + reason + "\"} ";
    return metrics.text().lines().filter(l -> l.startsWith(prefix))
        .mapToDouble(l -> Double.parseDouble(l.substring(prefix.length()))).findFirst().orElse(0);
  }
}
