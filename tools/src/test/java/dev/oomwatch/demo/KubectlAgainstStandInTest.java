package dev.oomwatch.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.crd.OOMIncident;
import dev.oomwatch.crd.OOMIncidentSpec;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.operator.OomIncidentReconciler;
import dev.oomwatch.podreport.PodConditionWriter;
import dev.oomwatch.podreport.PodEventRecorder;
import dev.oomwatch.testing.EmbeddedCluster;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.time.Clock;
import java.time.Instant;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The real kubectl (the pinned one {@code scripts/install-kubectl.sh} installs, else the PATH's, or
 * {@code OOMWATCH_KUBECTL}) against the stand-in API server, as the demo runs it: the stand-in serves the
 * discovery kubectl needs, Events by their involved object, lists typed as kubectl's clients expect. The
 * pod's Event and condition are written by the agent's own writers. Without a kubectl it is skipped, and
 * under {@code CI=true} it fails.
 */
class KubectlAgainstStandInTest {
  private static final String MESSAGE = "gVisor sandbox killed by the kernel for exceeding the pod's memory limit";
  private static EmbeddedCluster cluster;
  private static Kubectl kubectl;
  private static PodRef pod;

  @BeforeAll
  static void standInWithAnOomKilledPod() throws InterruptedException {
    try {
      kubectl = Kubectl.locate(System.getenv());
    } catch (IllegalStateException e) {
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        Assertions.fail(e.getMessage() + " — CI=true, so this test fails rather than skips");
      }
      Assumptions.abort(e.getMessage());
    }
    cluster = new EmbeddedCluster();
    cluster.createRuntimeClass("gvisor", "runsc");
    // an earlier pod of the same name, with an Event of its own: not this pod's (another uid)
    PodRef earlier = cluster.createRunningPod("default", "oom-demo", "demo-node", "gvisor", "app", "64Mi");
    PodEventRecorder events = new PodEventRecorder(cluster.client(), "demo-node", Clock.systemUTC());
    events.recordWarning(earlier, "Earlier", "an Event of the earlier pod", "earlier");
    cluster.client().pods().inNamespace("default").withName("oom-demo").delete();
    Assertions.assertTrue(dev.oomwatch.testing.Await.until(() -> cluster.client().pods().inNamespace("default")
        .withName("oom-demo").get() == null, java.time.Duration.ofSeconds(10), java.time.Duration.ofMillis(20)));

    pod = cluster.createRunningPod("default", "oom-demo", "demo-node", "gvisor", "app", "64Mi");
    cluster.terminateContainersLikeKubelet(pod, 128);
    Instant killedAt = Instant.now();
    new PodConditionWriter(cluster.client()).markOomKilled(cluster.pod(pod), "SandboxOOMKilled", MESSAGE, killedAt);
    events.recordWarning(pod, OomIncidentReconciler.REASON, MESSAGE + " of 64Mi", "oom-demo-oom-1");
    OOMIncidentSpec spec = new OOMIncidentSpec();
    spec.setPodName(pod.name());
    spec.setPodUid(pod.uid());
    spec.setNodeName("demo-node");
    spec.setVerdict("Confirmed");
    spec.setMemoryLimit("64Mi");
    spec.setKilledAt(killedAt.toString());
    OOMIncident incident = new OOMIncident();
    incident.setMetadata(new ObjectMetaBuilder().withName("oom-demo-oom-1").withNamespace("default").build());
    incident.setSpec(spec);
    cluster.client().resources(OOMIncident.class).inNamespace("default").resource(incident).create();
  }

  @AfterAll
  static void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void describePodShowsTheExitTheConditionAndOnlyThisPodsEvent() throws Exception {
    Kubectl.Result result = kubectl.run(cluster.kubeconfig(), "describe", "pod", "oom-demo");

    assertEquals(0, result.exitCode(), result.output());
    String out = result.output();
    assertTrue(Pattern.compile("(?m)^\\s+State:\\s+Terminated\\n\\s+Reason:\\s+Error\\n\\s+Exit Code:\\s+128$")
        .matcher(out).find(), out);
    assertTrue(Pattern.compile("(?m)^\\s+oomwatch\\.dev/SandboxOOMKilled\\s+True\\s*$").matcher(out).find(), out);
    assertTrue(Pattern.compile("(?m)^\\s+Warning\\s+OOMKilled\\s+\\S+\\s+gvisor-oom-watcher\\s+"
        + Pattern.quote(MESSAGE + " of 64Mi") + "$").matcher(out).find(), out);
    assertFalse(out.contains("an Event of the earlier pod"), out);
  }

  @Test
  void getOomincidentsListsTheIncidentByNameAndAge() throws Exception {
    Kubectl.Result result = kubectl.run(cluster.kubeconfig(), "get", "oomincidents");

    assertEquals(0, result.exitCode(), result.output());
    // no server-side Table from the stand-in: kubectl's own fallback columns
    assertTrue(Pattern.compile("\\ANAME\\s+AGE\\noom-demo-oom-1\\s+\\d+s\\n\\z").matcher(result.output()).find(),
        result.output());
  }

  @Test
  void theCrdsShortNameAndYamlOutputWork() throws Exception {
    Kubectl.Result result = kubectl.run(cluster.kubeconfig(), "get", "oomi", "oom-demo-oom-1", "-o", "yaml");

    assertEquals(0, result.exitCode(), result.output());
    assertTrue(result.output().contains("kind: OOMIncident"), result.output());
    assertTrue(result.output().contains("verdict: Confirmed"), result.output());
  }
}
