package dev.oomwatch.fuzz;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Hostile runsc input: state files ({@code RunscStateFileParser}), the metric server's Prometheus
 * text ({@code PrometheusText}), {@code runsc events --stats} output ({@code RunscEventsStats}), and
 * the small {@code /proc} and runsc root dir readers ({@code ProcStat}, {@code MemoryCgroup},
 * {@code StateFileName}). All document "never throws".
 */
@Tag("fuzz")
class RunscFuzzPropertiesTest {

  private static final String PACKAGE = "dev.oomwatch.source.runsc.";

  // ---------------------------------------------------------------------------------------------
  // RunscStateFileParser

  private static final Class<?> STATE_PARSER = Internals.type(PACKAGE + "RunscStateFileParser");
  private static final Class<?> STATE_FILE_NAME = Internals.type(PACKAGE + "StateFileName");
  private static final MethodHandle NEW_NAME = Internals.constructor(STATE_FILE_NAME, String.class, String.class);
  private static final MethodHandle PARSE_STATE = Internals.method(STATE_PARSER, "parse", STATE_FILE_NAME,
      byte[].class);
  private static final MethodHandle PARSE_NAME = Internals.method(STATE_FILE_NAME, "parse", String.class);
  private static final MethodHandle FILE_NAME = Internals.method(STATE_FILE_NAME, "fileName");
  private static final int STATE_MAX_BYTES = (int) Internals.constant(STATE_PARSER, "MAX_BYTES");
  private static final long PID_MAX = (long) Internals.constant(STATE_PARSER, "PID_MAX");
  private static final Class<?> PARSED = Internals.type(PACKAGE + "RunscStateFileParser$Parsed");
  private static final Class<?> UNUSABLE = Internals.type(PACKAGE + "RunscStateFileParser$Unusable");

  static final List<String> JSON_DICTIONARY = List.of(
      "{", "}", "[", "]", ":", ",", "\"", "null", "true", "false", "\"id\":", "\"sandbox\":", "\"pid\":",
      "\"goferPid\":", "\"cgroup\":", "\"cgroupv1\":", "\"cgroupv2\":", "\"cgroupsystemd\":", "\"path\":",
      "\"name\":", "\"compatCgroup\":", "\"annotations\":", "\"spec\":", "\"status\":", "\"stopped\"",
      "\"io.kubernetes.cri.container-type\":", "\"sandbox\"", "\"container\"", "\\u0000", "\\ud800", "\\\"",
      "\"type\":\"stats\"", "\"data\":", "\"memory\":", "\"usage\":", "1e999", "-0", "/*", "*/", "//", "\uFEFF");

  /** A state file (or {@code runsc state} output) and the name of the file it was read from. */
  record StateCase(String containerId, String sandboxId, byte[] bytes) {
    @Override
    public String toString() {
      return "name " + Escape.text(containerId, 200) + "_sandbox:" + Escape.text(sandboxId, 200) + ".state, content "
          + Escape.bytes(bytes, Fuzz.SHOWN_CHARS);
    }
  }

  private static final List<byte[]> STATE_SEEDS = stateSeeds();
  private static final List<JsonNode> STATE_TREES = STATE_SEEDS.stream().map(JsonMutator::read).toList();

  /** The captures, and state files of the v2 and systemd shapes made from the v1 one. */
  private static List<byte[]> stateSeeds() {
    List<byte[]> seeds = new ArrayList<>(Corpus.distinct(Corpus.files("runsc",
        p -> p.toString().endsWith(".json") && !p.getFileName().toString().startsWith("runsc-events"))));
    JsonNode stateFile = JsonMutator.read(Corpus.files("runsc",
        p -> p.getFileName().toString().equals("runsc-root-state-file.json")).values().iterator().next());
    ObjectNode v2 = stateFile.deepCopy();
    ObjectNode cgroup = ((ObjectNode) v2.get("sandbox")).putObject("cgroup");
    cgroup.putObject("cgroupv2").put("path", "/kubepods/burstable/pod2d9a6c1e/4a5b6c7d8e9f0a1b");
    v2.putObject("compatCgroup").putObject("cgroupv2").put("path", "/kubepods/burstable/pod2d9a6c1e/4a5b/child");
    seeds.add(JsonMutator.write(v2));
    ObjectNode systemd = stateFile.deepCopy();
    ((ObjectNode) systemd.get("sandbox")).putObject("cgroup").putObject("cgroupsystemd")
        .put("path", "/kubepods.slice/kubepods-burstable.slice/cri-containerd-4a5b.scope");
    seeds.add(JsonMutator.write(systemd));
    return seeds;
  }

  @Test
  void stateFilesNeverThrowAndParsedFilesAreSane() {
    Fuzz.run("runsc.stateFile", random -> {
      Mutator mutator = new Mutator(random, JSON_DICTIONARY, STATE_MAX_BYTES);
      int pick = random.nextInt(STATE_SEEDS.size());
      JsonNode tree = STATE_TREES.get(pick);
      byte[] bytes;
      int roll = random.nextInt(10);
      if (roll < 5) {
        JsonMutator json = new JsonMutator(random, mutator);
        JsonNode mutated = switch (random.nextInt(4)) {
          case 0 -> json.mutateBelow(tree, "sandbox");
          case 1 -> json.mutateBelow(tree, "spec", "annotations");
          case 2 -> json.mutateBelow(tree, "annotations");
          default -> json.mutate(tree);
        };
        bytes = JsonMutator.write(mutated);
        if (random.nextInt(4) == 0) {
          bytes = mutator.mutate(bytes, STATE_SEEDS);
        }
      } else if (roll < 9) {
        bytes = mutator.mutate(STATE_SEEDS.get(pick), STATE_SEEDS);
      } else {
        bytes = mutator.randomInput();
      }
      String containerId = tree.path("id").asText("x");
      String sandboxId = tree.path("sandbox").path("id").asText(
          tree.path("annotations").path("io.kubernetes.cri.sandbox-id").asText(containerId));
      if (random.nextInt(10) == 0) {
        containerId = random.nextBoolean() ? "other" : sandboxId;
        sandboxId = random.nextBoolean() ? containerId : "x".repeat(1 + random.nextInt(1024));
      }
      return new StateCase(containerId, sandboxId, bytes);
    }, StateCase::toString, c -> 1, RunscFuzzPropertiesTest::checkState);
  }

  private static void checkState(StateCase c) throws Throwable {
    Object name = NEW_NAME.invoke(c.containerId(), c.sandboxId());
    Object outcome = PARSE_STATE.invoke(name, c.bytes());
    assertNotNull(outcome, "null outcome");
    assertEquals(outcome, PARSE_STATE.invoke(name, c.bytes()), "two parses of the same bytes differ");
    assertTrue(PARSED.isInstance(outcome) || UNUSABLE.isInstance(outcome), "unknown outcome " + outcome);
    if (UNUSABLE.isInstance(outcome)) {
      String reason = (String) Internals.component(outcome, "reason");
      assertTrue(reason != null && !reason.isBlank(), "an Unusable without a reason");
      return;
    }
    assertTrue(c.bytes().length > 0 && c.bytes().length <= STATE_MAX_BYTES, "parsed empty or oversized input");
    Object file = Internals.component(outcome, "file");
    assertEquals(c.containerId(), Internals.component(file, "containerId"));
    assertEquals(c.sandboxId(), Internals.component(file, "sandboxId"));
    assertNotNull(Internals.component(file, "kind"), "no kind");
    assertNotNull(Internals.component(file, "status"), "null status");
    for (String pid : List.of("sentryPid", "goferPid")) {
      OptionalLong value = (OptionalLong) Internals.component(file, pid);
      assertTrue(value.isEmpty() || (value.getAsLong() > 0 && value.getAsLong() <= PID_MAX), pid + " " + value);
    }
    for (String text : List.of("containerName", "criSandboxId", "podUid", "podName", "podNamespace", "cgroupPath")) {
      Optional<?> value = (Optional<?>) Internals.component(file, text);
      assertTrue(value.isEmpty() || !((String) value.get()).isBlank(), "blank " + text);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // PrometheusText

  private static final Class<?> PROMETHEUS = Internals.type(PACKAGE + "PrometheusText");
  private static final MethodHandle PARSE_TEXT = Internals.method(PROMETHEUS, "parse", CharSequence.class,
      Predicate.class);
  private static final MethodHandle PARSE_FLOAT = Internals.method(PROMETHEUS, "parseFloat", String.class);
  private static final MethodHandle PARSE_LONG = Internals.method(PROMETHEUS, "parseLong", String.class);
  private static final int MAX_LINE = (int) Internals.constant(PROMETHEUS, "MAX_LINE");
  private static final Pattern METRIC_NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
  private static final Pattern LABEL_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");

  static final List<String> PROMETHEUS_DICTIONARY = List.of(
      "# HELP ", "# TYPE ", " gauge", " counter", "{", "}", "=\"", "\",", "\"}", "\\\\", "\\\"", "\\n", "\\x",
      "NaN", "+Inf", "-Inf", "Inf", "infinity", "1e308", "1e-308", "0x1p3", "1d", "1f", " ", "\t", "\r", "\n",
      "runsc_meta_sandbox_running", "runsc_meta_sandbox_presence", "runsc_fs_opens", "sandbox=\"",
      "pod_name=\"", "namespace_name=\"", "iteration=\"", "1674599159819", "-1674599159819", ",}", "{}", "=");

  /** What {@code runsc metric-server} serves, after gVisor's documentation, plus format corner cases. */
  static final List<String> PROMETHEUS_SEEDS = List.of(
      """
      # Data for runsc metric server exporting data for sandboxes in root directory /run/containerd/runsc/k8s.io
      # Writing data from 3 snapshots:
      #   - Snapshot with 175 data points taken at 2023-01-25 15:45:33.70256855 -0800 -0800: map[iteration:2d4b2fd6 sandbox:4a5b6c7d8e9f0a1b]


      # HELP process_start_time_seconds Unix timestamp at which the process started. Used by Prometheus for counter resets.
      # TYPE process_start_time_seconds gauge
      process_start_time_seconds 1674599158.286067 1674599159819

      # HELP runsc_meta_num_sandboxes_running Number of sandboxes running at present.
      # TYPE runsc_meta_num_sandboxes_running gauge
      runsc_meta_num_sandboxes_running 1 1674599159819

      # HELP runsc_meta_sandbox_running Boolean metric set to 1 for each running sandbox.
      # TYPE runsc_meta_sandbox_running gauge
      runsc_meta_sandbox_running{iteration="2d4b2fd6",namespace_name="default",pod_name="oom-demo",sandbox="4a5b6c7d8e9f0a1b"} 1 1674599159819
      runsc_meta_sandbox_running{iteration="77aa0011",namespace_name="kube-system",pod_name="dns",sandbox="0011223344556677"} 0 1674599159819

      # HELP runsc_meta_sandbox_creation_time_seconds When the sandbox was created, as a unix timestamp in seconds.
      # TYPE runsc_meta_sandbox_creation_time_seconds gauge
      runsc_meta_sandbox_creation_time_seconds{iteration="2d4b2fd6",namespace_name="default",pod_name="oom-demo",sandbox="4a5b6c7d8e9f0a1b"} 1674599150.5 1674599159819

      # HELP runsc_fs_opens Number of file opens.
      # TYPE runsc_fs_opens counter
      runsc_fs_opens{iteration="2d4b2fd6",namespace_name="default",pod_name="oom-demo",sandbox="4a5b6c7d8e9f0a1b"} 62 1674599159819

      # End of metric data.
      """,
      "a 1\nb{x=\"y\"} 2.5e3\nc{x=\"a\\\\b\\\"c\\nd\",y=\"\"}   NaN\nd{} +Inf 1\ne -Inf -5\r\nf{a=\"1\",} 0x1\n",
      "metric_without_timestamp{le=\"0.5\"} 1.0\n# comment\n\n  \t\nweird:name_1 -0 0\nx{a=\"b\"}7\n");

  private static final List<byte[]> PROMETHEUS_BYTES = PROMETHEUS_SEEDS.stream()
      .map(s -> s.getBytes(UTF_8)).toList();

  record TextCase(String text, String wantedName) {
    @Override
    public String toString() {
      return "wanted " + Escape.text(wantedName, 100) + ", text " + Escape.text(text, Fuzz.SHOWN_CHARS);
    }
  }

  @Test
  void prometheusTextNeverThrowsAndReadsBackWhatItAccepts() {
    Fuzz.run("runsc.prometheus", random -> {
      Mutator mutator = new Mutator(random, PROMETHEUS_DICTIONARY, MAX_LINE);
      String text = mutator.text(mutator.mutatedOrRandom(PROMETHEUS_BYTES));
      List<String> names = List.of("runsc_meta_sandbox_running", "runsc_fs_opens", "a", "b", "c", "x",
          "process_start_time_seconds");
      return new TextCase(text, names.get(random.nextInt(names.size())));
    }, TextCase::toString, c -> 1, RunscFuzzPropertiesTest::checkPrometheus);
  }

  private static void checkPrometheus(TextCase c) throws Throwable {
    String text = c.text();
    Predicate<String> all = n -> true;
    Object everything = PARSE_TEXT.invoke((CharSequence) text, all);
    Predicate<String> one = c.wantedName()::equals;
    Object some = PARSE_TEXT.invoke((CharSequence) text, one);
    int lines = text.isEmpty() ? 0 : (int) text.chars().filter(ch -> ch == '\n').count() + 1;
    for (Object result : List.of(everything, some)) {
      int rejected = (int) Internals.component(result, "rejectedLines");
      Optional<?> firstProblem = (Optional<?>) Internals.component(result, "firstProblem");
      assertTrue(rejected >= 0 && rejected <= lines, rejected + " rejected lines of " + lines);
      assertEquals(rejected > 0, firstProblem.isPresent(), "firstProblem and rejectedLines disagree");
      for (Object sample : (List<?>) Internals.component(result, "samples")) {
        String name = (String) Internals.component(sample, "name");
        assertTrue(METRIC_NAME.matcher(name).matches(), "bad metric name " + name);
        @SuppressWarnings("unchecked")
        Map<String, String> labels = (Map<String, String>) Internals.component(sample, "labels");
        labels.keySet().forEach(l -> assertTrue(LABEL_NAME.matcher(l).matches(), "bad label name " + l));
        labels.values().forEach(v -> assertNotNull(v, "null label value"));
      }
    }
    List<?> allSamples = (List<?>) Internals.component(everything, "samples");
    List<?> wantedSamples = (List<?>) Internals.component(some, "samples");
    List<Object> filtered = new ArrayList<>();
    for (Object sample : allSamples) {
      if (c.wantedName().equals(Internals.component(sample, "name"))) {
        filtered.add(sample);
      }
    }
    assertEquals(filtered, wantedSamples, "asking for one metric gives other samples than filtering them all");
    assertTrue((int) Internals.component(some, "rejectedLines") <= (int) Internals.component(everything,
        "rejectedLines"), "asking for one metric rejected more lines than asking for all");
    // every accepted sample, printed again in the format, reads back the same
    for (Object sample : allSamples) {
      String printed = print(sample);
      Object again = PARSE_TEXT.invoke((CharSequence) printed, all);
      assertEquals(List.of(sample), Internals.component(again, "samples"), "sample does not read back: " + printed);
    }
    // the number readers, on every token of the text
    int tokens = 0;
    for (String token : text.split("[ \t\n{}=,\"]+")) {
      if (tokens++ > 200) {
        break;
      }
      checkNumberTokens(token);
    }
  }

  private static String print(Object sample) {
    StringBuilder out = new StringBuilder((String) Internals.component(sample, "name"));
    @SuppressWarnings("unchecked")
    Map<String, String> labels = (Map<String, String>) Internals.component(sample, "labels");
    if (!labels.isEmpty()) {
      out.append('{');
      labels.forEach((k, v) -> out.append(k).append("=\"")
          .append(v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")).append("\","));
      out.setLength(out.length() - 1);
      out.append('}');
    }
    double value = (double) Internals.component(sample, "value");
    out.append(' ').append(Double.isNaN(value) ? "NaN" : value == Double.POSITIVE_INFINITY ? "+Inf"
        : value == Double.NEGATIVE_INFINITY ? "-Inf" : Double.toString(value));
    OptionalLong timestamp = (OptionalLong) Internals.component(sample, "timestampMillis");
    timestamp.ifPresent(t -> out.append(' ').append(t));
    return out.toString();
  }

  private static final Pattern GO_FLOAT = Pattern.compile("[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?");

  private static void checkNumberTokens(String token) throws Throwable {
    double value = (double) PARSE_FLOAT.invoke(token);
    String rest = token.startsWith("+") || token.startsWith("-") ? token.substring(1) : token;
    if (rest.equalsIgnoreCase("inf") || rest.equalsIgnoreCase("infinity")) {
      assertTrue(Double.isInfinite(value), "infinity not read: " + token);
    } else if (token.length() <= 64 && GO_FLOAT.matcher(token).matches()) {
      assertEquals(Double.parseDouble(token), value, "float " + token);
    } else {
      assertTrue(Double.isNaN(value), "not a float but read as " + value + ": " + token);
    }
    long number = (long) PARSE_LONG.invoke(token);
    if (number != Long.MIN_VALUE) {
      assertEquals(Long.parseLong(token), number, "long " + token);
    } else if (token.matches("[+-]?[0-9]{1,18}")) {
      throw new AssertionError("a small integer was refused: " + token);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // RunscEventsStats

  private static final MethodHandle MEMORY_USAGE = Internals.method(Internals.type(PACKAGE + "RunscEventsStats"),
      "memoryUsage", byte[].class, String.class);
  private static final List<byte[]> EVENTS_SEEDS = Corpus.distinct(Corpus.files("runsc",
      p -> p.getFileName().toString().startsWith("runsc-events")));
  private static final List<JsonNode> EVENTS_TREES = EVENTS_SEEDS.stream().map(JsonMutator::read).toList();

  record EventsCase(byte[] bytes, String containerId) {
    @Override
    public String toString() {
      return "container " + Escape.text(containerId, 100) + ", output " + Escape.bytes(bytes, Fuzz.SHOWN_CHARS);
    }
  }

  @Test
  void eventsStatsNeverThrowAndUsageIsNeverNegative() {
    Fuzz.run("runsc.eventsStats", random -> {
      Mutator mutator = new Mutator(random, JSON_DICTIONARY, Mutator.ONE_MIB);
      int pick = random.nextInt(EVENTS_SEEDS.size());
      byte[] bytes;
      int roll = random.nextInt(10);
      if (roll < 5) {
        JsonMutator json = new JsonMutator(random, mutator);
        bytes = JsonMutator.write(random.nextBoolean() ? json.mutateBelow(EVENTS_TREES.get(pick), "data", "memory")
            : json.mutate(EVENTS_TREES.get(pick)));
        if (random.nextInt(4) == 0) {
          bytes = mutator.mutate(bytes, EVENTS_SEEDS);
        }
      } else if (roll < 9) {
        bytes = mutator.mutate(EVENTS_SEEDS.get(pick), EVENTS_SEEDS);
      } else {
        bytes = mutator.randomInput();
      }
      if (random.nextInt(5) == 0) { // more events after the first, as runsc may print
        byte[] two = new byte[bytes.length * 2 + 1];
        System.arraycopy(bytes, 0, two, 0, bytes.length);
        two[bytes.length] = '\n';
        System.arraycopy(bytes, 0, two, bytes.length + 1, bytes.length);
        bytes = two;
      }
      String id = EVENTS_TREES.get(pick).path("id").asText("c3");
      return new EventsCase(bytes, random.nextInt(10) == 0 ? "other" : id);
    }, EventsCase::toString, c -> 1, RunscFuzzPropertiesTest::checkEvents);
  }

  private static void checkEvents(EventsCase c) throws Throwable {
    OptionalLong usage = (OptionalLong) MEMORY_USAGE.invoke(c.bytes(), c.containerId());
    assertNotNull(usage);
    if (usage.isPresent()) {
      assertTrue(usage.getAsLong() >= 0, "negative usage " + usage);
      byte[] b = c.bytes();
      boolean plainEncoding = b.length >= 4 && b[0] != 0 && b[1] != 0 && b[2] != 0 && b[3] != 0
          && (b[0] & 0xff) < 0xef;
      if (plainEncoding) {
        assertTrue(new String(b, ISO_8859_1).contains(Long.toString(usage.getAsLong())),
            "usage " + usage + " is not a number of the input");
      }
    }
    assertTrue(((OptionalLong) MEMORY_USAGE.invoke(null, c.containerId())).isEmpty());
  }

  // ---------------------------------------------------------------------------------------------
  // ProcStat, MemoryCgroup, StateFileName

  private static final MethodHandle PROC_STAT = Internals.method(Internals.type(PACKAGE + "ProcStat"), "parse",
      String.class);
  private static final MethodHandle MEMORY_CGROUP = Internals.method(Internals.type(PACKAGE + "MemoryCgroup"),
      "parse", String.class);

  static final List<String> PROC_SEEDS = List.of(
      "8679 (exe) S 8675 8679 8675 0 -1 4194560 27915 0 3 0 2097 1004 0 0 20 0 38 0 45387 1833127936 6912 "
          + "18446744073709551615 1 1 0 0 0 0 0 4096 1 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
      "42 (a (weird) ) name) Z 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 999 0 0 18446744073709551615 0 0 0 0 0 0"
          + " 0 0 0 0 0 0 17 0 0 0 0 0 0\n",
      "12:memory:/kubepods/burstable/pod2d9a6c1e-7f4b-4b8e-a1c3-5e6f7a8b9c0d/4a5b6c7d8e9f0a1b\n"
          + "11:cpu,cpuacct:/kubepods/burstable/pod2d9a6c1e\n1:name=systemd:/\n0::/\n",
      "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podc9611c80.slice/cri-containerd-eeee.scope\n",
      "0::/../../x\n",
      "4a5b6c7d8e9f0a1b_sandbox:4a5b6c7d8e9f0a1b.state",
      "4a5b6c7d8e9f0a1b_sandbox:4a5b6c7d8e9f0a1b.lock",
      "c1_sandbox:s1.state");
  private static final List<byte[]> PROC_BYTES = PROC_SEEDS.stream().map(s -> s.getBytes(ISO_8859_1)).toList();
  static final List<String> PROC_DICTIONARY = List.of(" (", ") ", ")", "(", ":memory:", "::", ":", "memory",
      ",memory", "_sandbox:", ".state", "_", "/", "/..", " Z ", " S ", " X ", " x ", "\n");

  @Test
  void procFilesAndStateFileNamesNeverThrow() {
    Fuzz.run("runsc.procFiles", random -> {
      Mutator mutator = new Mutator(random, PROC_DICTIONARY, 4096, 1024);
      return mutator.text(mutator.mutatedOrRandom(PROC_BYTES));
    }, text -> Escape.text(text, Fuzz.SHOWN_CHARS), t -> 1, RunscFuzzPropertiesTest::checkProcFiles);
  }

  private static void checkProcFiles(String text) throws Throwable {
    Optional<?> stat = (Optional<?>) PROC_STAT.invoke(text);
    if (stat.isPresent()) {
      Object s = stat.get();
      assertTrue(text.length() <= 4096, "a stat line over 4096 chars parsed");
      assertTrue((long) Internals.component(s, "pid") > 0, "pid not positive");
      assertTrue((long) Internals.component(s, "startTime") >= 0, "negative start time");
      assertTrue(text.contains("(" + Internals.component(s, "comm") + ")"), "comm not from the text");
    }
    Optional<?> cgroup = (Optional<?>) MEMORY_CGROUP.invoke(text);
    if (cgroup.isPresent()) {
      String path = (String) Internals.component(cgroup.get(), "path");
      assertTrue(path.startsWith("/") && java.util.Arrays.stream(text.split("\n", -1)).anyMatch(line -> line.endsWith(":" + path)),
          "cgroup path not the end of a line of the text: " + path);
      assertNotNull(Internals.component(cgroup.get(), "version"));
    }
    Optional<?> name = (Optional<?>) PARSE_NAME.invoke(text);
    if (name.isPresent()) {
      assertEquals(text, FILE_NAME.invoke(name.get()), "the state file name does not print back");
      String cid = (String) Internals.component(name.get(), "containerId");
      String sid = (String) Internals.component(name.get(), "sandboxId");
      assertFalse(cid.isEmpty() || sid.isEmpty() || cid.contains(":") || sid.contains(":"), "bad ids " + name);
    }
  }
}
