package dev.oomwatch.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.oomwatch.model.PodRef;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Our config.json is exactly {@code runsc spec}'s, with the edits containerd makes for a sandbox. */
@Tag("sandbox")
class OciBundleTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  @Test
  void specIsRunscsOwnWithThePodSandboxEdits() throws Exception {
    SandboxTestSupport.requirePrerequisites(false);
    String command = "sleep 1; echo hi";
    ExternalCommand.runChecked(List.of("runsc", "spec", "--bundle", dir.toString(), "--",
        "/bin/busybox", "sh", "-c", command), Duration.ofSeconds(30));
    ObjectNode expected = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
    PodRef pod = new PodRef("ns", "name", "uid-1");
    String cgroupsPath = "/kubepods/burstable/poduid-1/sid";
    ((ObjectNode) expected.get("process")).put("terminal", false);
    ((ObjectNode) expected.get("root")).put("readonly", false);
    ObjectNode linux = (ObjectNode) expected.get("linux");
    linux.putObject("resources");
    linux.put("cgroupsPath", cgroupsPath);
    ObjectNode annotations = expected.putObject("annotations");
    annotations.put("io.kubernetes.cri.container-type", "sandbox");
    annotations.put("io.kubernetes.cri.sandbox-id", "sid");
    annotations.put("io.kubernetes.cri.sandbox-name", "name");
    annotations.put("io.kubernetes.cri.sandbox-namespace", "ns");
    annotations.put("io.kubernetes.cri.sandbox-uid", "uid-1");

    assertEquals(expected, OciBundle.spec("sid", pod, cgroupsPath, command));
  }

  @Test
  void bundleHoldsTheBusyboxAndTheSpec() throws Exception {
    Path busybox = Files.writeString(dir.resolve("fake-busybox"), "binary");
    Path bundle = Files.createDirectory(dir.resolve("bundle"));

    OciBundle.write(bundle, busybox, "sid", new PodRef("ns", "name", "uid-1"), "/kubepods/x/sid",
        "true");

    assertEquals("binary", Files.readString(bundle.resolve("rootfs/bin/busybox")));
    assertEquals("/kubepods/x/sid",
        JSON.readTree(bundle.resolve("config.json").toFile()).at("/linux/cgroupsPath").asText());
  }
}
