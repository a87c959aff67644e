package dev.oomwatch.podreport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.model.PodRef;
import dev.oomwatch.testing.EmbeddedCluster;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The pod reporters against the API stand-in, with plain calls a real API server accepts. */
class PodReportersTest {
  private static final Instant KILLED = Instant.parse("2026-11-28T12:45:12.345678Z");
  private EmbeddedCluster cluster;
  private PodRef ref;

  @BeforeEach
  void setUp() {
    cluster = new EmbeddedCluster();
    cluster.createRuntimeClass("gvisor", "runsc");
    ref = cluster.createRunningPod("default", "app-0", "node-a", "gvisor", "app", "64Mi");
  }

  @AfterEach
  void tearDown() {
    cluster.close();
  }

  @Test
  void conditionIsAddedLeavingKubeletConditionsUntouched() {
    Pod before = cluster.pod(ref);
    PodConditionWriter writer = new PodConditionWriter(cluster.client());

    assertTrue(writer.markOomKilled(before, "OOMKilled", "killed", KILLED));

    List<PodCondition> after = cluster.pod(ref).getStatus().getConditions();
    assertEquals(before.getStatus().getConditions(), after.subList(0, before.getStatus().getConditions().size()));
    PodCondition ours = after.get(after.size() - 1);
    assertEquals(PodConditionWriter.CONDITION_TYPE, ours.getType());
    assertEquals("True", ours.getStatus());
    assertEquals("OOMKilled", ours.getReason());
    assertEquals("killed", ours.getMessage());
    assertEquals("2026-11-28T12:45:12Z", ours.getLastTransitionTime());
  }

  @Test
  void sameConditionTwiceIsANoOpAndAnOlderKillNeverOverwritesANewer() {
    PodConditionWriter writer = new PodConditionWriter(cluster.client());
    writer.markOomKilled(cluster.pod(ref), "OOMKilled", "second kill", KILLED.plusSeconds(60));
    String version = cluster.pod(ref).getMetadata().getResourceVersion();

    assertFalse(writer.markOomKilled(cluster.pod(ref), "OOMKilled", "second kill", KILLED.plusSeconds(60)));
    assertFalse(writer.markOomKilled(cluster.pod(ref), "OOMKilled", "first kill", KILLED));

    Pod pod = cluster.pod(ref);
    assertEquals(version, pod.getMetadata().getResourceVersion());
    assertEquals(1, pod.getStatus().getConditions().stream()
        .filter(c -> c.getType().equals(PodConditionWriter.CONDITION_TYPE)).count());
  }

  @Test
  void aNewerKillReplacesTheConditionInPlace() {
    PodConditionWriter writer = new PodConditionWriter(cluster.client());
    writer.markOomKilled(cluster.pod(ref), "OOMKilled", "first kill", KILLED);
    assertTrue(writer.markOomKilled(cluster.pod(ref), "OOMKilled", "second kill", KILLED.plusSeconds(60)));

    List<PodCondition> ours = cluster.pod(ref).getStatus().getConditions().stream()
        .filter(c -> c.getType().equals(PodConditionWriter.CONDITION_TYPE)).toList();
    assertEquals(1, ours.size());
    assertEquals("second kill", ours.get(0).getMessage());
  }

  @Test
  void eventSeriesCountsEachIncidentExactlyOnce() {
    Clock clock = Clock.fixed(KILLED.plusSeconds(1), ZoneOffset.UTC);
    PodEventRecorder recorder = new PodEventRecorder(cluster.client(), "node-a", clock);
    PodRef pod = ref;

    recorder.recordWarning(pod, "OOMKilled", "first", "incident-a");
    recorder.recordWarning(ref, "OOMKilled", "first", "incident-a");
    recorder.recordWarning(ref, "OOMKilled", "second", "incident-b");
    recorder.recordWarning(ref, "OOMKilled", "first", "incident-a");

    List<Event> events = cluster.events(ref);
    assertEquals(1, events.size());
    Event event = events.get(0);
    assertEquals(PodEventRecorder.eventName(pod, "OOMKilled"), event.getMetadata().getName());
    assertEquals(2, event.getCount());
    assertEquals("Warning", event.getType());
    assertEquals("OOMKilled", event.getReason());
    assertEquals("second", event.getMessage());
    assertEquals("node-a", event.getReportingInstance());
    assertEquals("oomwatch.dev/gvisor-oom-watcher", event.getReportingComponent());
    assertEquals("Pod", event.getInvolvedObject().getKind());
    assertEquals(ref.uid(), event.getInvolvedObject().getUid());
    assertEquals("incident-a,incident-b",
        event.getMetadata().getAnnotations().get(PodEventRecorder.INCIDENTS_ANNOTATION));
  }

  @Test
  void aForeignEventOfTheSameNameIsNeverPatched() {
    PodEventRecorder recorder = new PodEventRecorder(cluster.client(), "node-a", Clock.fixed(KILLED, ZoneOffset.UTC));
    Event foreign = foreignEvent(PodEventRecorder.eventName(ref, "OOMKilled"));

    String written = recorder.recordWarning(ref, "OOMKilled", "killed", "incident-a");
    recorder.recordWarning(ref, "OOMKilled", "killed again", "incident-b");

    Event after = event(foreign.getMetadata().getName());
    assertEquals(foreign.getMetadata().getResourceVersion(), after.getMetadata().getResourceVersion());
    assertEquals(7, after.getCount());
    assertEquals("not ours", after.getMessage());
    assertEquals(PodEventRecorder.alternateEventName(ref, "OOMKilled"), written);
    Event ours = event(written);
    assertEquals(2, ours.getCount());
    assertEquals(PodEventRecorder.COMPONENT, ours.getSource().getComponent());
  }

  @Test
  void creatingFirstStillCountsOnAnExistingSeriesAndLeavesForeignEventsAlone() {
    PodEventRecorder recorder = new PodEventRecorder(cluster.client(), "node-a", Clock.fixed(KILLED, ZoneOffset.UTC));
    Event foreign = foreignEvent(PodEventRecorder.eventName(ref, "OOMKilled"));

    // as for a pod without the agent's condition: create first, read only when the name is taken
    String first = recorder.recordWarning(ref, "OOMKilled", "killed", "incident-a", false);
    String second = recorder.recordWarning(ref, "OOMKilled", "killed again", "incident-b", false);
    recorder.recordWarning(ref, "OOMKilled", "killed again", "incident-b", false);

    assertEquals(PodEventRecorder.alternateEventName(ref, "OOMKilled"), first);
    assertEquals(first, second);
    assertEquals(2, event(first).getCount());
    assertEquals("incident-a,incident-b", event(first).getMetadata().getAnnotations()
        .get(PodEventRecorder.INCIDENTS_ANNOTATION));
    assertEquals(foreign.getMetadata().getResourceVersion(),
        event(foreign.getMetadata().getName()).getMetadata().getResourceVersion());
  }

  @Test
  void whenBothNamesAreTakenByOthersNoEventIsWritten() {
    PodEventRecorder recorder = new PodEventRecorder(cluster.client(), "node-a", Clock.fixed(KILLED, ZoneOffset.UTC));
    Event first = foreignEvent(PodEventRecorder.eventName(ref, "OOMKilled"));
    Event second = foreignEvent(PodEventRecorder.alternateEventName(ref, "OOMKilled"));

    assertEquals(null, recorder.recordWarning(ref, "OOMKilled", "killed", "incident-a"));

    assertEquals(first.getMetadata().getResourceVersion(), event(first.getMetadata().getName()).getMetadata()
        .getResourceVersion());
    assertEquals(second.getMetadata().getResourceVersion(), event(second.getMetadata().getName()).getMetadata()
        .getResourceVersion());
    assertEquals(2, cluster.client().v1().events().inNamespace("default").list().getItems().size());
  }

  @Test
  void anEventOfThePodsNameForAnotherPodUidIsNotOurs() {
    Event copied = new io.fabric8.kubernetes.api.model.EventBuilder()
        .withNewMetadata().withName("x").withNamespace("default").endMetadata()
        .withNewInvolvedObject().withKind("Pod").withName(ref.name()).withUid("another-uid").endInvolvedObject()
        .withReason("OOMKilled").withNewSource().withComponent(PodEventRecorder.COMPONENT).endSource()
        .withReportingComponent(PodEventRecorder.REPORTING_COMPONENT)
        .build();

    assertFalse(PodEventRecorder.isOurs(copied, ref, "OOMKilled"));
    copied.getInvolvedObject().setUid(ref.uid());
    assertTrue(PodEventRecorder.isOurs(copied, ref, "OOMKilled"));
    assertFalse(PodEventRecorder.isOurs(copied, ref, "NearOOM"));
  }

  @Test
  void eventNamesOfTheLongestPodNamesAreValidNames() {
    PodRef longest = new PodRef("default", "p".repeat(253), ref.uid());

    assertEquals(253, PodEventRecorder.eventName(longest, "OOMKilled").length());
    assertEquals(253, PodEventRecorder.alternateEventName(longest, "OOMKilled").length());
    assertFalse(PodEventRecorder.eventName(longest, "OOMKilled").equals(
        PodEventRecorder.alternateEventName(longest, "OOMKilled")));
    PodRef dashed = new PodRef("default", "p".repeat(241) + "-" + "q".repeat(11), ref.uid());
    String name = PodEventRecorder.eventName(dashed, "OOMKilled");
    assertTrue(name.length() <= 253 && name.matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"),
        name);
  }

  private Event foreignEvent(String name) {
    return cluster.client().v1().events().inNamespace("default").resource(new io.fabric8.kubernetes.api.model.EventBuilder()
        .withNewMetadata().withName(name).withNamespace("default").endMetadata()
        .withNewInvolvedObject().withApiVersion("v1").withKind("Pod").withNamespace("default").withName(ref.name())
            .withUid(ref.uid()).endInvolvedObject()
        .withType("Normal").withReason("OOMKilled").withMessage("not ours").withCount(7)
        .withNewSource().withComponent("someone-else").endSource()
        .build()).create();
  }

  private Event event(String name) {
    return cluster.client().v1().events().inNamespace("default").withName(name).get();
  }
}
