package dev.oomwatch.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The reconciler against the API stand-in: what it writes, once, and what it does when the pod is gone. */
class OomIncidentReconcilerTest {
  private static final Instant KILLED = Instant.parse("2026-11-28T12:45:12.345Z");
  private final Clock clock = Clock.fixed(KILLED.plusMillis(200), ZoneOffset.UTC);
  private EmbeddedCluster cluster;
  private OomIncidentReconciler reconciler;

  @BeforeEach
  void setUp() {
    cluster = new EmbeddedCluster();
    cluster.createRuntimeClass("gvisor", "runsc");
    reconciler = new OomIncidentReconciler(cluster.client(),
        new PodEventRecorder(cluster.client(), "node-a", clock), new PodConditionWriter(cluster.client()),
        new AgentMetrics(), clock, Duration.ofDays(7));
  }

  @AfterEach
  void tearDown() {
    cluster.close();
  }

  private OOMIncident createIncident(PodRef pod, int pid) {
    return createIncident(pod, pid, Verdict.CONFIRMED);
  }

  private OOMIncident createIncident(PodRef pod, int pid, Verdict verdict) {
    OomIncident incident = new OomIncident("incident-" + pid, pod, "node-a", java.util.Optional.of("sb" + pid),
        verdict, java.util.Optional.of("exe (pid " + pid + ", uid 65534, gVisor sandbox)"),
        MemoryScope.cgroup("/kubepods/burstable/pod" + pod.uid()),
        OptionalLong.of(64L << 20), KILLED, KILLED.plusMillis(5), OomIncident.WHOLE_POD,
        java.util.OptionalDouble.empty(), List.of(new Evidence("kmsg", "kernel OOM kill", KILLED)));
    return cluster.client().resources(OOMIncident.class).inNamespace(pod.namespace())
        .resource(IncidentResources.toResource(incident)).create();
  }

  @Test
  void reportsOnThePodAndSaysSoInOneStatusPatch() {
    PodRef pod = cluster.createRunningPod("default", "app", "node-a", "gvisor", "c", "64Mi");
    OOMIncident incident = createIncident(pod, 7932);

    UpdateControl<OOMIncident> control = reconciler.reconcile(incident, null);

    assertTrue(control.isPatchStatus());
    OOMIncidentStatus status = control.getResource().orElseThrow().getStatus();
    assertEquals(OOMIncidentStatus.REPORTED, status.getPhase());
    assertEquals("Confirmed", status.getVerdict());
    assertEquals("64Mi", status.getMemoryLimit());
    assertEquals(KILLED.plusMillis(5).toString(), status.getDetectedAt());
    assertEquals(1, status.getEvidence().size());
    assertEquals(incident.getMetadata().getGeneration(), status.getObservedGeneration());
    assertEquals(1, cluster.events(pod).size());
    assertEquals(status.getEventName(), cluster.events(pod).get(0).getMetadata().getName());
    assertTrue(cluster.pod(pod).getStatus().getConditions().stream()
        .anyMatch(c -> c.getType().equals(PodConditionWriter.CONDITION_TYPE)));
  }

  @Test
  void aRepeatedReconcileWritesNothingTwice() {
    PodRef pod = cluster.createRunningPod("default", "app", "node-a", "gvisor", "c", "64Mi");
    OOMIncident incident = createIncident(pod, 7932);
    reconciler.reconcile(incident, null);
    // a crash before the status patch landed: the same, status-less incident is reconciled again
    reconciler.reconcile(cluster.client().resources(OOMIncident.class).inNamespace("default")
        .withName(incident.getMetadata().getName()).get(), null);

    assertEquals(1, cluster.events(pod).get(0).getCount());
    assertEquals(1, cluster.pod(pod).getStatus().getConditions().stream()
        .filter(c -> c.getType().equals(PodConditionWriter.CONDITION_TYPE)).count());
  }

  @Test
  void anAlreadyReportedGenerationIsLeftAlone() {
    PodRef pod = cluster.createRunningPod("default", "app", "node-a", "gvisor", "c", "64Mi");
    OOMIncident incident = createIncident(pod, 7932);
    OOMIncident reported = reconciler.reconcile(incident, null).getResource().orElseThrow();

    assertTrue(reconciler.reconcile(reported, null).isNoUpdate());
  }

  @Test
  void twoKillsOfOnePodMakeOneEventSeriesOfTwo() {
    PodRef pod = cluster.createRunningPod("default", "app", "node-a", "gvisor", "c", "64Mi");
    reconciler.reconcile(createIncident(pod, 100), null);
    reconciler.reconcile(createIncident(pod, 200), null);

    assertEquals(1, cluster.events(pod).size());
    assertEquals(2, cluster.events(pod).get(0).getCount());
  }

  @Test
  void anIncidentOlderThanTheTtlIsDeletedAndAYoungerOneAsksToBeSeenAgainThen() {
    PodRef pod = cluster.createRunningPod("default", "app", "node-a", "gvisor", "c", "64Mi");
    OOMIncident incident = createIncident(pod, 7932);
    Instant created = Instant.parse(incident.getMetadata().getCreationTimestamp());
    Duration ttl = Duration.ofDays(7);
    OomIncidentReconciler young = new OomIncidentReconciler(cluster.client(),
        new PodEventRecorder(cluster.client(), "node-a", clock), new PodConditionWriter(cluster.client()),
        new AgentMetrics(), Clock.fixed(created.plus(Duration.ofDays(1)), ZoneOffset.UTC), ttl);
    OomIncidentReconciler old = new OomIncidentReconciler(cluster.client(),
        new PodEventRecorder(cluster.client(), "node-a", clock), new PodConditionWriter(cluster.client()),
        new AgentMetrics(), Clock.fixed(created.plus(ttl), ZoneOffset.UTC), ttl);

    UpdateControl<OOMIncident> control = young.reconcile(incident, null);
    assertEquals(java.util.Optional.of(Duration.ofDays(6).toMillis()), control.getScheduleDelay());
    assertEquals(1, cluster.incidents("default").size());

    assertTrue(old.reconcile(incident, null).isNoUpdate());
    assertEquals(0, cluster.incidents("default").size());
  }

  @Test
  void aPossibleIncidentIsRecordedButRaisesNoAlarmOnThePod() {
    PodRef pod = cluster.createRunningPod("default", "app", "node-a", "gvisor", "c", "64Mi");
    OOMIncidentStatus status = reconciler.reconcile(createIncident(pod, 7932, Verdict.POSSIBLE), null)
        .getResource().orElseThrow().getStatus();

    assertEquals(OOMIncidentStatus.RECORDED, status.getPhase());
    assertEquals(List.of(), cluster.events(pod));
    assertTrue(cluster.pod(pod).getStatus().getConditions().stream()
        .noneMatch(c -> c.getType().equals(PodConditionWriter.CONDITION_TYPE)));
  }

  @Test
  void podGoneKeepsTheIncidentAndWritesNothingOnThePod() {
    PodRef pod = cluster.createRunningPod("default", "app", "node-a", "gvisor", "c", "64Mi");
    OOMIncident incident = createIncident(pod, 7932);
    cluster.client().pods().inNamespace("default").withName("app").delete();

    OOMIncidentStatus status = reconciler.reconcile(incident, null).getResource().orElseThrow().getStatus();

    assertEquals(OOMIncidentStatus.POD_GONE, status.getPhase());
    assertEquals(List.of(), cluster.events(pod));
  }

  @Test
  void aNewPodWithTheSameNameIsNotTheVictim() {
    PodRef old = cluster.createRunningPod("default", "app", "node-a", "gvisor", "c", "64Mi");
    OOMIncident incident = createIncident(old, 7932);
    cluster.client().pods().inNamespace("default").withName("app").delete();
    PodRef replacement = cluster.createRunningPod("default", "app", "node-a", "gvisor", "c", "64Mi");

    OOMIncidentStatus status = reconciler.reconcile(incident, null).getResource().orElseThrow().getStatus();

    assertEquals(OOMIncidentStatus.POD_GONE, status.getPhase());
    assertEquals(List.of(), cluster.events(replacement));
    assertTrue(cluster.pod(replacement).getStatus().getConditions().stream()
        .noneMatch(c -> c.getType().equals(PodConditionWriter.CONDITION_TYPE)));
  }

  private static dev.oomwatch.crd.IncidentCondition reportedCondition(OOMIncidentStatus status) {
    assertEquals(1, status.getConditions().size(), "one condition, Reported");
    return status.getConditions().get(0);
  }

  private OomIncidentReconciler reconcilerAt(Instant now) {
    Clock later = Clock.fixed(now, ZoneOffset.UTC);
    return new OomIncidentReconciler(cluster.client(), new PodEventRecorder(cluster.client(), "node-a", later),
        new PodConditionWriter(cluster.client()), new AgentMetrics(), later, Duration.ofDays(7));
  }

  /**
   * The standard Reported condition beside the phase, in the same status patch: True once reported,
   * observedGeneration the incident's generation, lastTransitionTime moved only when its status changes.
   */
  @Test
  void theReportedConditionFollowsThePhaseAndKeepsItsTransitionTimeWhileItsStatusStays() {
    PodRef pod = cluster.createRunningPod("default", "app", "node-a", "gvisor", "c", "64Mi");
    OOMIncident first = reconciler.reconcile(createIncident(pod, 7932), null).getResource().orElseThrow();
    dev.oomwatch.crd.IncidentCondition reported = reportedCondition(first.getStatus());
    assertEquals("Reported", reported.getType());
    assertEquals("True", reported.getStatus());
    assertEquals("Reported", reported.getReason());
    assertEquals(first.getStatus().getMessage(), reported.getMessage());
    assertEquals(first.getMetadata().getGeneration(), reported.getObservedGeneration());
    assertEquals(clock.instant().toString(), reported.getLastTransitionTime());

    // merged evidence: a new generation, reported again a minute later, still True
    first.getMetadata().setGeneration(first.getMetadata().getGeneration() + 1);
    OOMIncident second = reconcilerAt(clock.instant().plusSeconds(60)).reconcile(first, null).getResource()
        .orElseThrow();
    dev.oomwatch.crd.IncidentCondition still = reportedCondition(second.getStatus());
    assertEquals("True", still.getStatus());
    assertEquals(second.getMetadata().getGeneration(), still.getObservedGeneration());
    assertEquals(reported.getLastTransitionTime(), still.getLastTransitionTime(), "no transition, no new time");

    // the pod is gone by the next generation: False, and the transition is dated
    cluster.client().pods().inNamespace("default").withName("app").delete();
    second.getMetadata().setGeneration(second.getMetadata().getGeneration() + 1);
    Instant third = clock.instant().plusSeconds(120);
    dev.oomwatch.crd.IncidentCondition gone = reportedCondition(reconcilerAt(third).reconcile(second, null)
        .getResource().orElseThrow().getStatus());
    assertEquals("False", gone.getStatus());
    assertEquals(OOMIncidentStatus.POD_GONE, gone.getReason());
    assertEquals(third.toString(), gone.getLastTransitionTime());
  }

  @Test
  void aPossibleIncidentsReportedConditionIsFalseWithReasonRecorded() {
    PodRef pod = cluster.createRunningPod("default", "app", "node-a", "gvisor", "c", "64Mi");
    dev.oomwatch.crd.IncidentCondition condition = reportedCondition(reconciler.reconcile(
        createIncident(pod, 7932, Verdict.POSSIBLE), null).getResource().orElseThrow().getStatus());
    assertEquals("False", condition.getStatus());
    assertEquals(OOMIncidentStatus.RECORDED, condition.getReason());
  }
}
