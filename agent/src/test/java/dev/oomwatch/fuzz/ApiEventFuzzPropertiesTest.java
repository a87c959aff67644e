package dev.oomwatch.fuzz;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import dev.oomwatch.model.PodRef;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventList;
import java.lang.invoke.MethodHandle;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Hostile Event JSON, as the agent reads Events: a page of a list (PodStatusSource's lookup of a pod's
 * {@code SandboxChanged} Events) or one Event got by name (PodEventRecorder's read of the Event series
 * it is about to count on), read by fabric8's {@link io.fabric8.kubernetes.client.utils.KubernetesSerialization}
 * (see {@link InformerJson}); then what the agent takes from it: {@code PodStatusSource.sandboxChangedAt}
 * (is it kubelet's SandboxChanged of this pod, and when) with the time distance the lookup computes,
 * and {@code PodEventRecorder.isOurs} and its reading of the incidents an Event counted. Inputs are
 * mutated from kubelet's SandboxChanged Event (once, and aggregated), one with only an
 * {@code eventTime} (events.k8s.io style), and the agent's own {@code OOMKilled} Event. Size and seeds:
 * see {@link Fuzz}.
 *
 * <p>Properties: the deserialiser fails only with its documented refusals; the agent's code throws
 * nothing for any Event it makes; a SandboxChanged time is given only for an Event with exactly that
 * reason about this pod's uid, and it is the Event's {@code lastTimestamp}, else its {@code eventTime},
 * else its {@code firstTimestamp} (the first that is an RFC 3339 time); an Event is the agent's own only
 * when its source and reporting component, reason, kind and pod uid all say so, and the incidents it
 * counted are read from it without throwing (for an Event with metadata: one got by name always has it).
 */
@Tag("fuzz")
class ApiEventFuzzPropertiesTest {
  static final String FAMILY = "api.events";
  private static final PodRef POD = new PodRef("shop", "oom-demo-7d9c5b6f4-x2x7q", "2d9a6c1e-7f4b-4b8e-a1c3-5e6f7a8b9c0d");
  private static final Instant TERMINATED = Instant.parse("2026-11-28T12:45:12Z");
  private static final TypeReference<EventList> EVENT_LIST = new TypeReference<>() {};

  private static final MethodHandle SANDBOX_CHANGED_AT = Internals.method(
      Internals.type("dev.oomwatch.source.pods.PodStatusSource"), "sandboxChangedAt", Event.class, PodRef.class);
  private static final Class<?> RECORDER = Internals.type("dev.oomwatch.podreport.PodEventRecorder");
  private static final MethodHandle IS_OURS = Internals.method(RECORDER, "isOurs", Event.class, PodRef.class,
      String.class);
  private static final MethodHandle INCIDENTS_OF = Internals.method(RECORDER, "incidentsOf", Event.class);
  private static final String COMPONENT = (String) Internals.constant(RECORDER, "COMPONENT");
  private static final String REPORTING_COMPONENT = (String) Internals.constant(RECORDER, "REPORTING_COMPONENT");

  static final String SANDBOX_CHANGED = """
      {"apiVersion":"v1","kind":"Event","metadata":{"name":"oom-demo-7d9c5b6f4-x2x7q.187c4e2a9b1d3f5e",
       "namespace":"shop","uid":"5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9","resourceVersion":"90210",
       "creationTimestamp":"2026-11-28T12:45:13Z"},
       "involvedObject":{"kind":"Pod","namespace":"shop","name":"oom-demo-7d9c5b6f4-x2x7q",
        "uid":"2d9a6c1e-7f4b-4b8e-a1c3-5e6f7a8b9c0d","apiVersion":"v1","resourceVersion":"4711"},
       "reason":"SandboxChanged","message":"Pod sandbox changed, it will be killed and re-created.",
       "source":{"component":"kubelet","host":"node-a"},"firstTimestamp":"2026-11-28T12:45:13Z",
       "lastTimestamp":"2026-11-28T12:45:13Z","count":1,"type":"Normal","eventTime":null,
       "reportingComponent":"kubelet","reportingInstance":"node-a"}
      """;
  static final String AGGREGATED = SANDBOX_CHANGED.replace("\"count\":1", "\"count\":57")
      .replace("\"firstTimestamp\":\"2026-11-28T12:45:13Z\"", "\"firstTimestamp\":\"2026-11-28T09:00:00Z\"");
  static final String EVENT_TIME_ONLY = """
      {"apiVersion":"v1","kind":"Event","metadata":{"name":"oom-demo.187c4e2a9b1d3f5f","namespace":"shop"},
       "involvedObject":{"kind":"Pod","namespace":"shop","name":"oom-demo-7d9c5b6f4-x2x7q",
        "uid":"2d9a6c1e-7f4b-4b8e-a1c3-5e6f7a8b9c0d"},
       "reason":"SandboxChanged","action":"Killing","eventTime":"2026-11-28T12:45:13.123456Z",
       "series":{"count":3,"lastObservedTime":"2026-11-28T12:45:14.000001Z"},
       "reportingComponent":"kubelet","reportingInstance":"node-a","type":"Normal"}
      """;
  static final String AGENTS_OWN = """
      {"apiVersion":"v1","kind":"Event","metadata":{"name":"oom-demo-7d9c5b6f4-x2x7q.1a2b3c4d5e","namespace":"shop",
       "annotations":{"oomwatch.dev/incidents":"oom-demo-oom-1a2b3c4d5e,oom-demo-oom-6f7a8b9c0d"}},
       "involvedObject":{"apiVersion":"v1","kind":"Pod","namespace":"shop","name":"oom-demo-7d9c5b6f4-x2x7q",
        "uid":"2d9a6c1e-7f4b-4b8e-a1c3-5e6f7a8b9c0d"},
       "type":"Warning","reason":"OOMKilled","message":"gVisor sandbox killed by the kernel","count":2,
       "firstTimestamp":"2026-11-28T12:45:13Z","lastTimestamp":"2026-11-28T12:50:13Z",
       "source":{"component":"gvisor-oom-watcher","host":"node-a"},
       "reportingComponent":"oomwatch.dev/gvisor-oom-watcher","reportingInstance":"node-a"}
      """;
  static final List<String> SEEDS = List.of(SANDBOX_CHANGED, AGGREGATED, EVENT_TIME_ONLY, AGENTS_OWN);
  private static final List<JsonNode> TREES = SEEDS.stream().map(s -> JsonMutator.read(s.getBytes(UTF_8))).toList();
  private static final List<byte[]> BYTES = TREES.stream().map(JsonMutator::write).toList();
  private static final List<String[]> PATHS = List.of(new String[] {"involvedObject"}, new String[] {"metadata"},
      new String[] {"source"}, new String[] {"series"}, new String[] {"metadata", "annotations"});
  static final List<String> DICTIONARY = List.of("\"reason\":", "\"SandboxChanged\"", "\"involvedObject\":",
      "\"uid\":", "\"lastTimestamp\":", "\"firstTimestamp\":", "\"eventTime\":", "\"count\":", "\"source\":",
      "\"reportingComponent\":", "\"oomwatch.dev/incidents\":", "null", "{}", "[]", ",,,");

  /** One input: the Event's JSON and how it is read (a page of a list, or a GET of one Event). */
  record EventCase(String json, boolean inList) {
    @Override
    public String toString() {
      return (inList ? "in a list: " : "got by name: ") + Escape.text(json, Fuzz.SHOWN_CHARS);
    }
  }

  @Test
  void hostileEventsNeverBreakWhatTheAgentTakesFromThem() {
    long[] counts = new long[3];
    try {
      Fuzz.run(FAMILY, ApiEventFuzzPropertiesTest::generate, EventCase::toString, c -> 1, c -> check(c, counts));
    } finally {
      System.out.printf("%s: %,d inputs deserialized to an Event, %,d of them a SandboxChanged of the pod, "
          + "%,d the agent's own%n", FAMILY, counts[0], counts[1], counts[2]);
    }
  }

  static EventCase generate(SplittableRandom random) {
    Mutator mutator = new Mutator(random, DICTIONARY, 4_096);
    JsonMutator json = new JsonMutator(random, mutator);
    int seed = random.nextInt(TREES.size());
    int roll = random.nextInt(20);
    String text;
    if (roll < 8) {
      text = new String(JsonMutator.write(json.mutate(TREES.get(seed))), UTF_8);
    } else if (roll < 16) {
      text = new String(JsonMutator.write(json.mutateBelow(TREES.get(seed), PATHS.get(random.nextInt(PATHS.size())))),
          UTF_8);
    } else if (roll < 19) {
      text = new String(mutator.mutate(BYTES.get(seed), BYTES), UTF_8);
    } else {
      text = new String(mutator.randomInput(), UTF_8);
    }
    return new EventCase(text, random.nextBoolean());
  }

  static void check(EventCase c, long[] counts) throws Throwable {
    // fabric8 reads a body that does not start as JSON as YAML: the API server answers JSON, so such
    // text is sent in a list page (a megabyte of YAML would take SnakeYAML half a minute and say no more)
    boolean json = c.json().stripLeading().startsWith("{");
    Event event = c.inList() || !json ? InformerJson.fromList(c.json(), "EventList", EVENT_LIST)
        : InformerJson.fromGet(c.json(), Event.class);
    if (event == null) {
      return;
    }
    counts[0]++;
    Optional<?> at = (Optional<?>) SANDBOX_CHANGED_AT.invoke(event, POD);
    assertNotNull(at, "no answer at all");
    boolean aboutThePod = "SandboxChanged".equals(event.getReason()) && event.getInvolvedObject() != null
        && POD.uid().equals(event.getInvolvedObject().getUid());
    Optional<Instant> expected = !aboutThePod ? Optional.empty() : parse(event.getLastTimestamp())
        .or(() -> event.getEventTime() == null ? Optional.empty() : parse(event.getEventTime().getTime()))
        .or(() -> parse(event.getFirstTimestamp()));
    assertEquals(expected, at, "the SandboxChanged time of the Event");
    if (at.isPresent()) {
      counts[1]++;
      // PodStatusSource.lookUp: is it the same sandbox death?
      Duration apart = Duration.between((Instant) at.get(), TERMINATED).abs();
      assertTrue(!apart.isNegative(), "a negative distance " + apart);
    }
    boolean ours = (boolean) IS_OURS.invoke(event, POD, "OOMKilled");
    boolean marked = event.getSource() != null && COMPONENT.equals(event.getSource().getComponent())
        && REPORTING_COMPONENT.equals(event.getReportingComponent()) && "OOMKilled".equals(event.getReason())
        && event.getInvolvedObject() != null && "Pod".equals(event.getInvolvedObject().getKind())
        && POD.uid().equals(event.getInvolvedObject().getUid());
    assertEquals(marked, ours, "whether the Event is the agent's own");
    if (ours && event.getMetadata() != null) { // an Event got by name has the metadata the API server sets
      counts[2]++;
      List<?> counted = (List<?>) INCIDENTS_OF.invoke(event);
      assertNotNull(counted, "the incidents the Event counted");
      assertTrue(counted.stream().allMatch(name -> name != null), "a null incident name");
    }
  }

  private static Optional<Instant> parse(String time) {
    try {
      return time == null ? Optional.empty() : Optional.of(Instant.parse(time));
    } catch (RuntimeException e) {
      return Optional.empty();
    }
  }
}
