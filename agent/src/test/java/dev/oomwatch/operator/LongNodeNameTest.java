package dev.oomwatch.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.crd.OOMIncident;
import dev.oomwatch.crd.OOMIncidentStatus;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.podreport.PodConditionWriter;
import dev.oomwatch.testing.Await;
import dev.oomwatch.testing.DemoEnvironment;
import dev.oomwatch.testing.KernelLogs;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node name longer than a label value (63 characters; node names go to 253) still works end to end:
 * the incident's {@code oomwatch.dev/node} label is the name's readable prefix and a hash, the agent's
 * label selector uses the same function, and the kill is reported on the pod. Short names are kept as
 * they are (incidents written by earlier versions stay selected).
 */
class LongNodeNameTest {
  private static final Pattern LABEL_VALUE = Pattern.compile("(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?");
  private static final String LONG_NODE =
      "ip-10-0-113-254.gvisor-pool-a.eu-central-1.compute.internal.cluster-with-a-long-name.example.com";
  @TempDir Path dir;
  private DemoEnvironment env;

  @AfterEach
  void tearDown() {
    if (env != null) {
      env.close();
    }
  }

  @Test
  void labelValuesAreShortNamesAsTheyAreAndLongNamesHashed() {
    assertEquals("node-a", OOMIncident.nodeLabelValue("node-a"));
    String sixtyThree = "n".repeat(63);
    assertEquals(sixtyThree, OOMIncident.nodeLabelValue(sixtyThree));

    String label = OOMIncident.nodeLabelValue(LONG_NODE);
    assertEquals(63, label.length());
    assertTrue(LABEL_VALUE.matcher(label).matches(), label);
    assertTrue(label.startsWith(LONG_NODE.substring(0, 52) + "-"), label);
    assertEquals(label, OOMIncident.nodeLabelValue(LONG_NODE), "deterministic");
    // two nodes that share the first 52 characters get different labels
    String sibling = LONG_NODE.replace("113-254", "113-255");
    assertTrue(!OOMIncident.nodeLabelValue(sibling).equals(label));
    assertTrue(LABEL_VALUE.matcher(OOMIncident.nodeLabelValue("a".repeat(252) + "z")).matches());
  }

  @Test
  void aKillOnANodeWithALongNameIsReportedOnItsPod() throws Exception {
    assertTrue(LONG_NODE.length() > 63);
    env = DemoEnvironment.withoutAgent(LONG_NODE);
    PodRef pod = env.createGvisorPod("victim", 64);
    env.startAgent(Optional.of(KernelLogs.sandboxOomOf(pod, dir)));

    OOMIncident incident = Await.value(() -> env.cluster().incidents("default").stream()
            .filter(i -> i.getStatus() != null && OOMIncidentStatus.REPORTED.equals(i.getStatus().getPhase()))
            .findFirst(), Duration.ofSeconds(30), Duration.ofMillis(50))
        .orElseThrow(() -> new AssertionError("not reported; incidents: " + env.cluster().incidents("default")));

    assertEquals(LONG_NODE, incident.getSpec().getNodeName());
    assertEquals(OOMIncident.nodeLabelValue(LONG_NODE), incident.getMetadata().getLabels().get(OOMIncident.NODE_LABEL));
    assertEquals(OOMIncident.ownerValue(LONG_NODE, pod.uid()),
        incident.getMetadata().getAnnotations().get(OOMIncident.OWNER_ANNOTATION));
    assertEquals(1, env.cluster().events(pod).size());
    assertTrue(env.cluster().pod(pod).getStatus().getConditions().stream()
        .anyMatch(c -> c.getType().equals(PodConditionWriter.CONDITION_TYPE)));
  }
}
