package dev.oomwatch.source.runsc;

import static dev.oomwatch.source.runsc.RunscFixtures.V1_CGROUP;
import static dev.oomwatch.source.runsc.RunscFixtures.V1_GOFER_PID;
import static dev.oomwatch.source.runsc.RunscFixtures.V1_POD_UID;
import static dev.oomwatch.source.runsc.RunscFixtures.V1_SANDBOX_ID;
import static dev.oomwatch.source.runsc.RunscFixtures.V1_SENTRY_PID;
import static dev.oomwatch.source.runsc.RunscFixtures.V2_POD_UID;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Random;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class RunscStateFileParserTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final StateFileName V1_NAME = new StateFileName(V1_SANDBOX_ID, V1_SANDBOX_ID);

  private static RunscStateFile parsed(StateFileName name, byte[] bytes) {
    RunscStateFileParser.Outcome outcome = RunscStateFileParser.parse(name, bytes);
    return assertInstanceOf(RunscStateFileParser.Parsed.class, outcome, outcome::toString).file();
  }

  private static String unusable(StateFileName name, byte[] bytes) {
    RunscStateFileParser.Outcome outcome = RunscStateFileParser.parse(name, bytes);
    return assertInstanceOf(RunscStateFileParser.Unusable.class, outcome, outcome::toString).reason();
  }

  /** The real state file, changed by {@code edit} (the fixture itself stays as captured). */
  static byte[] editedStateFile(Consumer<ObjectNode> edit) {
    try {
      ObjectNode root = (ObjectNode) JSON.readTree(RunscFixtures.bytes(RunscFixtures.STATE_FILE));
      edit.accept(root);
      return JSON.writeValueAsBytes(root);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void readsTheRealStateFileOfASandbox() {
    RunscStateFile file = parsed(V1_NAME, RunscFixtures.bytes(RunscFixtures.STATE_FILE));

    assertEquals(new RunscStateFile(V1_SANDBOX_ID, V1_SANDBOX_ID, RunscStateFile.Kind.SANDBOX,
        Optional.empty(), Optional.of(V1_SANDBOX_ID), Optional.of(V1_POD_UID),
        Optional.of("oom-demo"), Optional.of("default"), "running", OptionalLong.of(V1_SENTRY_PID),
        OptionalLong.of(V1_GOFER_PID), Optional.of(V1_CGROUP)), file);
  }

  @Test
  void theListingNamesTheStateFile() {
    List<String> names = Arrays.asList(
        new String(RunscFixtures.bytes(RunscFixtures.LISTING), UTF_8).split("\n"));
    assertEquals(List.of(Optional.empty(), Optional.of(V1_NAME)),
        names.stream().map(StateFileName::parse).toList());
  }

  static Stream<Arguments> runscStateOutputs() {
    return Stream.of(
        Arguments.of(RunscFixtures.STATE_RUNNING, V1_SANDBOX_ID, V1_POD_UID, "oom-demo", "running",
            OptionalLong.of(V1_SENTRY_PID)),
        Arguments.of(RunscFixtures.STATE_AFTER_OOM, V1_SANDBOX_ID, V1_POD_UID, "oom-demo", "stopped",
            OptionalLong.empty()),
        Arguments.of(RunscFixtures.v2State("cgroupfs-burstable"), "aaaa1111bbbb2222", V2_POD_UID,
            "oom-lab", "running", OptionalLong.of(122)),
        Arguments.of(RunscFixtures.v2State("cgroupfs-guaranteed"), "cccc3333dddd4444", V2_POD_UID,
            "oom-lab", "running", OptionalLong.of(243)),
        Arguments.of(RunscFixtures.v2State("cgroupfs-parent-annotation"), "abab1212cdcd3434",
            V2_POD_UID, "oom-lab", "running", OptionalLong.of(509)),
        // the lab's systemd case ran runsc under the scope's name; the CRI id is the annotation's
        Arguments.of(RunscFixtures.v2State("systemd-burstable"),
            "cri-containerd-eeee5555ffff6666.scope", V2_POD_UID, "oom-lab", "running",
            OptionalLong.of(375)));
  }

  @ParameterizedTest
  @MethodSource("runscStateOutputs")
  void readsWhatRunscStatePrintsToo(String fixture, String id, String podUid, String podName,
      String status, OptionalLong pid) {
    RunscStateFile file = parsed(new StateFileName(id, id), RunscFixtures.bytes(fixture));

    assertEquals(RunscStateFile.Kind.SANDBOX, file.kind());
    assertEquals(Optional.of(podUid), file.podUid());
    assertEquals(Optional.of(podName), file.podName());
    assertEquals(Optional.of("default"), file.podNamespace());
    assertEquals(status, file.status());
    assertEquals(pid, file.sentryPid());
    assertEquals(OptionalLong.empty(), file.goferPid());
    assertEquals(Optional.empty(), file.cgroupPath());
  }

  @Test
  void systemdCaseKeepsTheCriSandboxIdAnnotation() {
    String id = "cri-containerd-eeee5555ffff6666.scope";
    RunscStateFile file = parsed(new StateFileName(id, id),
        RunscFixtures.bytes(RunscFixtures.v2State("systemd-burstable")));
    assertEquals(Optional.of("eeee5555ffff6666"), file.criSandboxId());
  }

  static Stream<Arguments> cgroupShapes() {
    String pod = "/kubepods/burstable/pod" + V1_POD_UID;
    String v2 = "{\"cgroupv2\":{\"mountpoint\":\"/sys/fs/cgroup\",\"path\":\"" + pod + "/"
        + V1_SANDBOX_ID + "\",\"controllers\":[\"cpu\",\"memory\"],\"own\":null}}";
    String systemdPath = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
        + V1_POD_UID.replace('-', '_') + ".slice/cri-containerd-" + V1_SANDBOX_ID + ".scope";
    String systemd = "{\"cgroupsystemd\":{\"mountpoint\":\"/sys/fs/cgroup\",\"path\":\""
        + systemdPath + "\",\"controllers\":[\"memory\"],\"own\":null,\"Name\":\"x\","
        + "\"Parent\":\"kubepods-burstable.slice\",\"ScopePrefix\":\"cri-containerd\"}}";
    String parent = "/kubepods/besteffort/pod" + V1_POD_UID;
    String v2Parent = "{\"cgroupv2\":{\"mountpoint\":\"/sys/fs/cgroup\",\"path\":\"" + parent
        + "\",\"controllers\":[\"memory\"],\"own\":null}}";
    String v2Child = "{\"cgroupv2\":{\"mountpoint\":\"/sys/fs/cgroup\",\"path\":\"" + parent + "/"
        + V1_SANDBOX_ID + "\",\"controllers\":[\"memory\"],\"own\":[]}}";
    return Stream.of(
        Arguments.of("v1", null, null, Optional.of(V1_CGROUP)),
        Arguments.of("v2 cgroupfs", v2, "{\"cgroupunknown\":null}",
            Optional.of(pod + "/" + V1_SANDBOX_ID)),
        Arguments.of("v2 systemd", systemd, null, Optional.of(systemdPath)),
        Arguments.of("v2 with the cgroup-parent annotation: processes in the child", v2Parent,
            v2Child, Optional.of(parent + "/" + V1_SANDBOX_ID)),
        Arguments.of("unknown", "{\"cgroupunknown\":null}", null, Optional.empty()),
        Arguments.of("a future shape", "{\"cgroupv3\":{\"path\":\"/x\"}}", null, Optional.of("/x")),
        Arguments.of("null", "null", null, Optional.empty()),
        Arguments.of("not an object", "[1,2]", null, Optional.empty()),
        Arguments.of("a number where the path is", "{\"cgroupv2\":{\"path\":7}}", null,
            Optional.empty()));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cgroupShapes")
  void findsTheCgroupInEveryShapeRunscWrites(String shape, String cgroup, String compat,
      Optional<String> expected) {
    byte[] bytes = editedStateFile(root -> {
      try {
        if (cgroup != null) {
          ((ObjectNode) root.get("sandbox")).set("cgroup", JSON.readTree(cgroup));
        }
        if (compat != null) {
          root.set("compatCgroup", JSON.readTree(compat));
        }
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    assertEquals(expected, parsed(V1_NAME, bytes).cgroupPath());
  }

  @Test
  void readsAnAppContainer() {
    String appId = "c0ffee";
    byte[] bytes = editedStateFile(root -> {
      root.put("id", appId);
      root.put("goferPid", 9001);
      ObjectNode notes = (ObjectNode) root.get("spec").get("annotations");
      notes.put("io.kubernetes.cri.container-type", "container");
      notes.put("io.kubernetes.cri.container-name", "app");
      root.put("unknownField", "ignored");
    });
    RunscStateFile file = parsed(new StateFileName(appId, V1_SANDBOX_ID), bytes);

    assertEquals(RunscStateFile.Kind.CONTAINER, file.kind());
    assertEquals(appId, file.containerId());
    assertEquals(V1_SANDBOX_ID, file.sandboxId());
    assertEquals(Optional.of("app"), file.containerName());
    assertEquals(OptionalLong.of(V1_SENTRY_PID), file.sentryPid());
    assertEquals(OptionalLong.of(9001), file.goferPid());
    assertEquals(Optional.of(V1_POD_UID), file.podUid());
  }

  @Test
  void withoutCriAnnotationsTheRootContainerIsTheSandbox() {
    byte[] bytes = editedStateFile(root -> ((ObjectNode) root.get("spec")).remove("annotations"));
    RunscStateFile file = parsed(V1_NAME, bytes);
    assertEquals(RunscStateFile.Kind.SANDBOX, file.kind());
    assertEquals(Optional.empty(), file.podUid());
    assertEquals(RunscStateFile.Kind.CONTAINER,
        parsed(new StateFileName(V1_SANDBOX_ID, "other"), editedStateFile(root -> {
          ((ObjectNode) root.get("spec")).remove("annotations");
          ((ObjectNode) root.get("sandbox")).put("id", "other");
        })).kind());
  }

  static Stream<Arguments> pids() {
    return Stream.of(
        Arguments.of("-1", OptionalLong.empty()),
        Arguments.of("0", OptionalLong.empty()),
        Arguments.of("1", OptionalLong.of(1)),
        Arguments.of("4194304", OptionalLong.of(4194304)),
        Arguments.of("4194305", OptionalLong.empty()),
        Arguments.of("9223372036854775808", OptionalLong.empty()),
        Arguments.of("8679.5", OptionalLong.empty()),
        Arguments.of("\"8679\"", OptionalLong.empty()),
        Arguments.of("null", OptionalLong.empty()));
  }

  @ParameterizedTest
  @MethodSource("pids")
  void takesOnlyRealPids(String pid, OptionalLong expected) {
    String text = new String(RunscFixtures.bytes(RunscFixtures.STATE_FILE), UTF_8)
        .replace("\"pid\":8679", "\"pid\":" + pid)
        .replace("\"goferPid\":8675", "\"goferPid\":" + pid);
    RunscStateFile file = parsed(V1_NAME, text.getBytes(UTF_8));
    assertEquals(expected, file.sentryPid());
    assertEquals(expected, file.goferPid());
  }

  @Test
  void everyCutOffVersionOfTheRealFileIsToBeReadAgain() {
    byte[] full = RunscFixtures.bytes(RunscFixtures.STATE_FILE);
    // The fixture ends in '}' without a newline: every proper prefix is cut off JSON.
    for (int length = 0; length < full.length; length++) {
      unusable(V1_NAME, Arrays.copyOf(full, length));
    }
    parsed(V1_NAME, full);
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "",
      " ",
      "null",
      "[]",
      "\"text\"",
      "42",
      "{}",
      "{\"id\":\"4a5b6c7d8e9f0a1b\"}",
      "{\"id\":7,\"pid\":1}",
      "{\"id\":\"someone-else\",\"pid\":1}",
      "{\"id\":\"4a5b6c7d8e9f0a1b\",\"sandbox\":{\"id\":\"other\",\"pid\":1}}",
      "{\"id\":\"4a5b6c7d8e9f0a1b\",\"pid\":1}{\"id\":\"4a5b6c7d8e9f0a1b\",\"pid\":1}",
      "{\"id\":\"4a5b6c7d8e9f0a1b\",\"pid\":1} trailing",
      "\u0000\u0000\u0000\u0000",
      "{\"id\":\"4a5b6c7d8e9f0a1b\",\"pid\":1,}",
      "\ufeff{",
  })
  void garbageIsToBeReadAgain(String content) {
    unusable(V1_NAME, content.getBytes(UTF_8));
  }

  @Test
  void aNullFileIsToBeReadAgain() {
    unusable(V1_NAME, null);
  }

  @Test
  void refusesHugeInputUnparsed() {
    byte[] huge = new byte[RunscStateFileParser.MAX_BYTES + 1];
    Arrays.fill(huge, (byte) ' ');
    byte[] real = RunscFixtures.bytes(RunscFixtures.STATE_FILE);
    System.arraycopy(real, 0, huge, 0, real.length);
    assertTrue(unusable(V1_NAME, huge).contains("larger than"));
  }

  @Test
  void deepNestingIsRefusedNotAStackOverflow() {
    String deep = "{\"id\":\"4a5b6c7d8e9f0a1b\",\"pid\":1,\"x\":" + "[".repeat(100_000)
        + "]".repeat(100_000) + "}";
    unusable(V1_NAME, deep.getBytes(UTF_8));
  }

  @Test
  void randomMutationsOfTheRealFileNeverThrow() {
    byte[] real = RunscFixtures.bytes(RunscFixtures.STATE_FILE);
    byte[] interesting = "{}[]\":,0123456789-ntfe\\ ".getBytes(UTF_8);
    Random random = new Random(6);
    int parsedCount = 0;
    for (int round = 0; round < 3000; round++) {
      byte[] input = real.clone();
      for (int edits = 1 + random.nextInt(4); edits > 0; edits--) {
        int at = random.nextInt(input.length);
        input[at] = random.nextBoolean()
            ? interesting[random.nextInt(interesting.length)]
            : (byte) random.nextInt(256);
      }
      RunscStateFileParser.Outcome outcome = RunscStateFileParser.parse(V1_NAME, input);
      if (outcome instanceof RunscStateFileParser.Parsed ok) {
        parsedCount++;
        assertEquals(V1_SANDBOX_ID, ok.file().containerId());
      }
    }
    assertTrue(parsedCount > 0, "some mutations (inside strings) still parse");
  }
}
