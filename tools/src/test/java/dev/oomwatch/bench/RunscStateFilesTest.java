package dev.oomwatch.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.testing.ProjectFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The bench's state files have exactly the shape of the one runsc wrote (the captured fixture). */
class RunscStateFilesTest {
  private static final Path FIXTURE = ProjectFiles.agentFixture("runsc/cgroupv1/runsc-root-state-file.json");

  @Test
  void withTheCapturedValuesTheTemplateIsTheCapturedFile() throws Exception {
    String rendered = RunscStateFiles.render("4a5b6c7d8e9f0a1b",
        new PodRef("default", "oom-demo", "2d9a6c1e-7f4b-4b8e-a1c3-5e6f7a8b9c0d"), 8679, 8675,
        "/kubepods/burstable/pod2d9a6c1e-7f4b-4b8e-a1c3-5e6f7a8b9c0d/4a5b6c7d8e9f0a1b",
        Path.of("/run/containerd/runsc/k8s.io"), Instant.parse("2026-11-28T12:45:10.308352917Z"));
    assertEquals(Files.readString(FIXTURE), rendered);
  }

  @Test
  void writesTheStateFileAndItsLockUnderRunscsName(@TempDir Path root) throws Exception {
    PodRef pod = new PodRef("ns", "web-0", "11111111-2222-3333-4444-555555555555");
    Path state = RunscStateFiles.write(root, "abc123", pod, 4242, 4243, "/kubepods/burstable/pod" + pod.uid() + "/abc123");
    assertEquals(root.resolve("abc123_sandbox:abc123.state"), state);
    assertTrue(Files.exists(root.resolve("abc123_sandbox:abc123.lock")));
    JsonNode json = new ObjectMapper().readTree(state.toFile());
    assertEquals(4242, json.path("sandbox").path("pid").asLong());
    assertEquals(4243, json.path("goferPid").asLong());
    assertEquals(pod.uid(), json.path("spec").path("annotations").path("io.kubernetes.cri.sandbox-uid").asText());
    assertEquals("web-0", json.path("spec").path("annotations").path("io.kubernetes.cri.sandbox-name").asText());
    assertEquals("/kubepods/burstable/pod" + pod.uid() + "/abc123",
        json.path("sandbox").path("cgroup").path("cgroupv1").path("name").asText());
    assertEquals(root.toString(), json.path("saver").path("rootDir").asText());
  }
}
