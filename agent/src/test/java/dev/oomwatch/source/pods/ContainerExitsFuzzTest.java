package dev.oomwatch.source.pods;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.oomwatch.fuzz.Escape;
import dev.oomwatch.fuzz.Fuzz;
import dev.oomwatch.fuzz.JsonMutator;
import dev.oomwatch.fuzz.Mutator;
import dev.oomwatch.model.ContainerExit;
import dev.oomwatch.model.PodRef;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerState;
import io.fabric8.kubernetes.api.model.ContainerStateRunning;
import io.fabric8.kubernetes.api.model.ContainerStateTerminated;
import io.fabric8.kubernetes.api.model.ContainerStateWaiting;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirements;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Hostile pod statuses for {@link ContainerExits#between}: fabric8 pods built at random (null fields,
 * missing states, garbage times, negative and huge exit and restart counts, null list entries), and
 * pods deserialized by fabric8 from mutated real-shaped JSON. {@link PodMemoryLimits} gets pod specs
 * with boundary memory quantities. Size and seeds: see {@link Fuzz}.
 *
 * <p>Contract assumed for {@code ContainerExits.between} (it states none): it runs on the informer's
 * thread for every pod update, so it must not throw for any pod fabric8 can hand it; it reports only
 * containers of the new pod, each terminated state it reports comes from that container's status, and
 * a pod compared with itself has no new exits.
 */
@Tag("fuzz")
class ContainerExitsFuzzTest {

  private static final PodRef REF = new PodRef("default", "oom-demo", "2d9a6c1e-7f4b-4b8e-a1c3-5e6f7a8b9c0d");
  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

  private static final List<String> NAMES = List.of("app", "sidecar", "app", "", "APP", "a/b", "x".repeat(300));
  private static final List<String> TIMES = List.of("2022-12-19T10:00:00Z", "2022-12-19T10:00:01Z",
      "2022-12-19T10:00:00.123456789Z", "2022-12-19T10:00:00+01:00", "2022-12-19 10:00:00", "", " ",
      "2022-13-45T99:99:99Z", "+1000000000-12-31T23:59:59.999999999Z", "-1000000000-01-01T00:00:00Z",
      "+1000000001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1970-01-01T00:00:00Z", "0000-01-01T00:00:00Z",
      "2022-12-19T10:00:00Z\u0000", "\ud800", "now", "1671444000");
  private static final List<String> REASONS = List.of("OOMKilled", "Error", "Completed", "Unknown", "", "ContainerCannotRun",
      "\u0000", "r".repeat(10_000));
  private static final List<Integer> COUNTS = List.of(0, 1, 2, 128, 137, 143, 255, 256, -1, -128,
      Integer.MAX_VALUE, Integer.MIN_VALUE, Integer.MAX_VALUE - 1);

  // ---------------------------------------------------------------------------------------------
  // random pods

  record PodPair(Pod before, Pod after) {
    @Override
    public String toString() {
      return "before: " + json(before) + "\nafter: " + json(after);
    }
  }

  static String json(Pod pod) {
    if (pod == null) {
      return "null";
    }
    try {
      return Escape.text(SERIALIZATION.asJson(pod), 100_000);
    } catch (RuntimeException e) {
      return String.valueOf(pod);
    }
  }

  @Test
  void containerExitsNeverThrowAndReportOnlyTheNewPodsContainers() {
    Fuzz.run("pods.containerExits", random -> {
      Pod after = randomPod(random);
      Pod before = switch (random.nextInt(6)) {
        case 0 -> null;
        case 1 -> after;
        case 2 -> randomPod(random);
        default -> evolve(random, after);
      };
      return new PodPair(before, after);
    }, PodPair::toString, p -> 1, p -> check(p.before(), p.after()));
  }

  private static Pod randomPod(SplittableRandom random) {
    Pod pod = new Pod();
    pod.setMetadata(new ObjectMeta());
    pod.getMetadata().setUid(REF.uid());
    if (random.nextInt(15) == 0) {
      return pod;
    }
    PodStatus status = new PodStatus();
    pod.setStatus(status);
    int roll = random.nextInt(15);
    if (roll == 0) {
      status.setContainerStatuses(null);
      return pod;
    }
    List<ContainerStatus> statuses = new ArrayList<>();
    int count = roll == 1 ? 0 : 1 + random.nextInt(random.nextInt(10) == 0 ? 40 : 4);
    for (int i = 0; i < count; i++) {
      statuses.add(random.nextInt(60) == 0 ? null : randomStatus(random));
    }
    status.setContainerStatuses(statuses);
    return pod;
  }

  private static ContainerStatus randomStatus(SplittableRandom random) {
    ContainerStatus status = new ContainerStatus();
    status.setName(random.nextInt(12) == 0 ? null : pick(random, NAMES));
    status.setRestartCount(random.nextInt(8) == 0 ? null : pick(random, COUNTS));
    status.setContainerID(random.nextInt(6) == 0 ? null : "containerd://" + Long.toHexString(random.nextLong(256)));
    status.setState(randomState(random));
    status.setLastState(randomState(random));
    return status;
  }

  private static ContainerState randomState(SplittableRandom random) {
    int roll = random.nextInt(8);
    if (roll == 0) {
      return null;
    }
    ContainerState state = new ContainerState();
    if (roll == 1) {
      return state;
    }
    if (roll == 2) {
      state.setRunning(new ContainerStateRunning(pick(random, TIMES)));
      return state;
    }
    if (roll == 3) {
      state.setWaiting(new ContainerStateWaiting("back-off", "CrashLoopBackOff"));
      return state;
    }
    state.setTerminated(randomTerminated(random));
    if (random.nextInt(10) == 0) {
      state.setRunning(new ContainerStateRunning(pick(random, TIMES)));
    }
    return state;
  }

  private static ContainerStateTerminated randomTerminated(SplittableRandom random) {
    ContainerStateTerminated t = new ContainerStateTerminated();
    t.setExitCode(random.nextInt(8) == 0 ? null : pick(random, COUNTS));
    t.setReason(random.nextInt(6) == 0 ? null : pick(random, REASONS));
    t.setFinishedAt(random.nextInt(6) == 0 ? null : pick(random, TIMES));
    t.setStartedAt(random.nextInt(3) == 0 ? null : pick(random, TIMES));
    t.setContainerID(random.nextInt(4) == 0 ? null : "containerd://" + Long.toHexString(random.nextLong(256)));
    t.setSignal(random.nextInt(4) == 0 ? null : pick(random, COUNTS));
    return t;
  }

  /** The pod a while later: a copy with some statuses changed, added or removed. */
  private static Pod evolve(SplittableRandom random, Pod after) {
    Pod before = SERIALIZATION.clone(after);
    if (before.getStatus() == null || before.getStatus().getContainerStatuses() == null) {
      return before;
    }
    List<ContainerStatus> statuses = before.getStatus().getContainerStatuses();
    int changes = 1 + random.nextInt(3);
    for (int i = 0; i < changes && !statuses.isEmpty(); i++) {
      int at = random.nextInt(statuses.size());
      ContainerStatus s = statuses.get(at);
      switch (random.nextInt(5)) {
        case 0 -> statuses.remove(at);
        case 1 -> statuses.add(randomStatus(random));
        case 2 -> {
          if (s != null) {
            s.setLastState(randomState(random));
          }
        }
        case 3 -> {
          if (s != null && s.getState() != null && s.getState().getTerminated() != null) {
            s.getState().getTerminated().setFinishedAt(pick(random, TIMES));
          }
        }
        default -> {
          if (s != null) {
            s.setState(randomState(random));
          }
        }
      }
    }
    return before;
  }

  private static <T> T pick(SplittableRandom random, List<T> list) {
    return list.get(random.nextInt(list.size()));
  }

  static void check(Pod before, Pod after) {
    List<ContainerExit> exits = ContainerExits.between(before, after, REF);
    assertNotNull(exits);
    List<ContainerStatus> statuses = after == null || after.getStatus() == null
        || after.getStatus().getContainerStatuses() == null ? List.of() : after.getStatus().getContainerStatuses();
    assertTrue(exits.size() <= 2 * statuses.size(), exits.size() + " exits for " + statuses.size() + " containers");
    // every exit is one terminated state of a container of the new pod, as it is there
    Set<List<Object>> terminatedStates = new HashSet<>();
    for (ContainerStatus status : statuses) {
      if (status == null) {
        continue;
      }
      for (ContainerState state : new ContainerState[] {status.getState(), status.getLastState()}) {
        ContainerStateTerminated t = state == null ? null : state.getTerminated();
        if (t != null && t.getExitCode() != null) {
          terminatedStates.add(Arrays.asList(status.getName(), t.getExitCode(), Objects.toString(t.getReason(), ""),
              finishedAt(t.getFinishedAt()), status.getRestartCount() == null ? 0 : status.getRestartCount()));
        }
      }
    }
    for (ContainerExit exit : exits) {
      assertEquals(REF, exit.pod(), "another pod's exit");
      assertTrue(terminatedStates.contains(Arrays.asList(exit.container(), exit.exitCode(), exit.reason(),
          exit.finishedAt(), exit.restartCount())),
          "exit " + exit + " is not a terminated state of a container of the new pod");
    }
    // nothing is new when nothing changed
    assertEquals(List.of(), ContainerExits.between(after, after, REF), "a pod compared with itself has new exits");
  }

  private static Instant finishedAt(String time) {
    if (time == null) {
      return Instant.EPOCH;
    }
    try {
      return Instant.parse(time);
    } catch (DateTimeParseException e) {
      return Instant.EPOCH;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // pods from mutated JSON, through fabric8's deserializer

  static final String POD_JSON = """
      {"apiVersion":"v1","kind":"Pod","metadata":{"name":"oom-demo","namespace":"default",
       "uid":"2d9a6c1e-7f4b-4b8e-a1c3-5e6f7a8b9c0d","resourceVersion":"4711"},
       "spec":{"nodeName":"node-a","runtimeClassName":"gvisor","restartPolicy":"Always",
        "containers":[{"name":"app","image":"busybox","resources":{"limits":{"memory":"64Mi"}}},
                      {"name":"sidecar","image":"busybox","resources":{"limits":{"memory":"16Mi","cpu":"100m"}}}],
        "overhead":{"memory":"40Mi"}},
       "status":{"phase":"Running","containerStatuses":[
        {"name":"app","ready":true,"restartCount":1,"image":"busybox","imageID":"docker.io/library/busybox@sha256:1",
         "containerID":"containerd://4a5b6c7d8e9f0a1b",
         "state":{"running":{"startedAt":"2022-12-19T10:00:07Z"}},
         "lastState":{"terminated":{"exitCode":128,"reason":"Error","startedAt":"2022-12-19T10:00:00Z",
           "finishedAt":"2022-12-19T10:00:05Z","containerID":"containerd://0a1b2c3d4e5f6a7b"}}},
        {"name":"sidecar","ready":false,"restartCount":0,"image":"busybox","imageID":"",
         "state":{"terminated":{"exitCode":137,"reason":"OOMKilled","signal":9,"startedAt":"2022-12-19T10:00:00Z",
           "finishedAt":"2022-12-19T10:00:05.5Z","containerID":"containerd://1234"}},
         "lastState":{}}]}}
      """;
  private static final JsonNode POD_TREE = JsonMutator.read(POD_JSON.getBytes(UTF_8));
  private static final List<byte[]> POD_BYTES = List.of(JsonMutator.write(POD_TREE));
  private static final Pod SEED_POD = SERIALIZATION.unmarshal(POD_JSON, Pod.class);

  record JsonPair(String beforeJson, String afterJson) {
    @Override
    public String toString() {
      return "before: " + Escape.text(beforeJson, 20_000) + "\nafter: " + Escape.text(afterJson, 20_000);
    }
  }

  @Test
  void podsFromMutatedJsonNeverBreakContainerExits() {
    long[] pods = new long[1];
    try {
      runJson(pods);
    } finally {
      System.out.printf("pods.json: %,d of the inputs deserialized to a Pod%n", pods[0]);
    }
  }

  private static void runJson(long[] pods) {
    Fuzz.run("pods.json", random -> {
      Mutator mutator = new Mutator(random, List.of("\"terminated\":", "\"lastState\":", "\"state\":", "\"exitCode\":",
          "\"finishedAt\":", "\"restartCount\":", "\"containerStatuses\":", "null", "{}", "[]", "[null]"), 65_536);
      JsonMutator json = new JsonMutator(random, mutator);
      String after = mutatedPod(random, mutator, json);
      String before = random.nextInt(3) == 0 ? POD_JSON : random.nextBoolean() ? after : mutatedPod(random, mutator, json);
      return new JsonPair(before, after);
    }, JsonPair::toString, p -> 1, p -> {
      Pod before = deserialize(p.beforeJson());
      Pod after = deserialize(p.afterJson());
      if (after != null) {
        pods[0]++;
        check(before, after);
        check(SEED_POD, after);
      }
    });
  }

  private static String mutatedPod(SplittableRandom random, Mutator mutator, JsonMutator json) {
    int roll = random.nextInt(10);
    if (roll < 7) {
      JsonNode tree = random.nextInt(4) > 0 ? json.mutateBelow(POD_TREE, "status", "containerStatuses")
          : json.mutate(POD_TREE);
      return new String(JsonMutator.write(tree), UTF_8);
    }
    return new String(roll < 9 ? mutator.mutate(POD_BYTES.get(0), POD_BYTES) : mutator.randomInput(), UTF_8);
  }

  /**
   * The pod fabric8 makes of the JSON, or null when it is not JSON or fabric8 refuses it (its business,
   * not ours). JSON only, as the API server sends: fabric8's {@code unmarshal(String)} would read
   * anything else as YAML, where a megabyte of digits takes SnakeYAML and Jackson half a minute.
   */
  private static Pod deserialize(String json) {
    JsonNode tree;
    try {
      tree = STRICT_JSON.readTree(json);
    } catch (IOException | RuntimeException e) {
      return null;
    }
    try {
      return tree == null || !tree.isObject() ? null : SERIALIZATION.convertValue(tree, Pod.class);
    } catch (RuntimeException e) {
      return null;
    }
  }

  private static final ObjectMapper STRICT_JSON = new ObjectMapper();

  // ---------------------------------------------------------------------------------------------
  // PodMemoryLimits

  private static final List<String> QUANTITIES = List.of("0", "1", "64Mi", "1Gi", "100M", "0.5Gi", "1m", "1k",
      "8Ei", "7Ei", "16Ei", "9223372036854775807", "9223372036854775808", "18446744073709551616", "1e18", "1e19",
      "1e30", "123456789012345678901234567890", "4611686018427387904", "1E", "1P", "8191Pi", "8192Pi");

  record SpecCase(List<String> limits, List<String> initLimits, String overhead) {}

  @Test
  void memoryLimitsAreNeverNegativeForQuantitiesTheApiServerAccepts() {
    Fuzz.run("pods.memoryLimits", random -> {
      List<String> limits = new ArrayList<>();
      int containers = random.nextInt(4);
      for (int i = 0; i < containers; i++) {
        limits.add(random.nextInt(8) == 0 ? null : pick(random, QUANTITIES));
      }
      List<String> inits = new ArrayList<>();
      int initContainers = random.nextInt(3);
      for (int i = 0; i < initContainers; i++) {
        inits.add(random.nextInt(4) == 0 ? null : pick(random, QUANTITIES));
      }
      return new SpecCase(limits, inits, random.nextBoolean() ? null : pick(random, QUANTITIES));
    }, SpecCase::toString, c -> 1, c -> {
      PodSpec spec = new PodSpec();
      spec.setContainers(c.limits().stream().map(ContainerExitsFuzzTest::container).toList());
      spec.setInitContainers(c.initLimits().stream().map(ContainerExitsFuzzTest::container).toList());
      if (c.overhead() != null) {
        spec.setOverhead(Map.of("memory", new Quantity(c.overhead())));
      }
      OptionalLong limit = PodMemoryLimits.of(spec);
      assertTrue(limit.isEmpty() || limit.getAsLong() >= 0, "negative pod memory limit: " + limit);
      // the pod's limit is at least each part of it (as far as a long goes): a sum that wraps around
      // is not a limit
      List<String> parts = new ArrayList<>(c.initLimits());
      parts.addAll(c.limits());
      parts.add(c.overhead());
      for (String part : parts) {
        if (limit.isPresent() && part != null) {
          BigDecimal bytes = new Quantity(part).getNumericalAmount().setScale(0, RoundingMode.FLOOR)
              .min(BigDecimal.valueOf(Long.MAX_VALUE));
          assertTrue(BigDecimal.valueOf(limit.getAsLong()).compareTo(bytes) >= 0,
              "pod memory limit below one of its parts: " + limit + " < " + part);
        }
      }
    });
  }

  private static Container container(String limit) {
    Container container = new Container();
    container.setName("c");
    if (limit != null) {
      ResourceRequirements resources = new ResourceRequirements();
      resources.setLimits(Map.of("memory", new Quantity(limit)));
      container.setResources(resources);
    }
    return container;
  }
}
