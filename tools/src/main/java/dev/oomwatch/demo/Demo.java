package dev.oomwatch.demo;

import dev.oomwatch.crd.OOMIncident;
import dev.oomwatch.crd.OOMIncidentStatus;
import dev.oomwatch.lab.LabPrerequisites;
import dev.oomwatch.lab.LabScenario;
import dev.oomwatch.lab.SandboxWorkload;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.operator.OomIncidentReconciler;
import dev.oomwatch.testing.Await;
import dev.oomwatch.testing.DemoEnvironment;
import dev.oomwatch.testing.EmbeddedCluster;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The {@code demo} command: on an embedded Kubernetes API, creates a gVisor pod limited to 64 MiB, runs a
 * real runsc sandbox for it in a kubelet-like cgroup, lets the app allocate past the limit so the host
 * kernel OOM-kills the sandbox, and shows what a user sees with the agent running: the output of the
 * real {@code kubectl describe pod} and {@code kubectl get oomincidents} against the stand-in
 * ({@link Kubectl}), and the time from the kill to the Event. Cleans up also on Ctrl-C or failure. Single-threaded.
 */
public final class Demo {
  static final String NODE = "demo-node";
  static final long LIMIT_MIB = 64;
  private static final Duration DEADLINE = Duration.ofSeconds(60);

  private final PrintStream out;

  public Demo(PrintStream out) {
    this.out = out;
  }

  /** Runs the demo; returns the process exit code. */
  public int run() {
    List<String> missing = LabPrerequisites.onThisMachine().missing();
    if (!missing.isEmpty()) {
      out.println("The demo runs a real gVisor sandbox and cannot run here:");
      missing.forEach(m -> out.println("  - " + m));
      return 1;
    }
    DemoEnvironment env = null;
    Thread cleanupOnCtrlC = null;
    try {
      step("Starting an embedded Kubernetes API (stand-in) and the agent for node " + NODE);
      env = DemoEnvironment.start(NODE, Optional.of(Path.of("/dev/kmsg")));
      DemoEnvironment started = env;
      cleanupOnCtrlC = new Thread(started::close, "demo-cleanup");
      Runtime.getRuntime().addShutdownHook(cleanupOnCtrlC);

      PodRef pod = env.createGvisorPod("oom-demo", LIMIT_MIB);
      step("Created pod " + pod + " (RuntimeClass " + DemoEnvironment.RUNTIME_CLASS + ", memory limit " + LIMIT_MIB
          + "Mi); starting its runsc sandbox in /kubepods/burstable/pod" + pod.uid());
      LabScenario sandbox = env.runSandbox(pod, LIMIT_MIB, SandboxWorkload.allocatePastLimit(512));
      step("The app in the sandbox allocates 512 MiB: the host kernel will kill the sandbox");
      if (!sandbox.sandbox().awaitStopped(DEADLINE)) {
        out.println("The sandbox did not die within " + DEADLINE.toSeconds() + " s; its output:\n" + sandbox.sandbox().log());
        return 1;
      }
      env.cluster().terminateContainersLikeKubelet(pod, 128);
      step("The sandbox is dead; kubelet would now say: container exit code 128, reason Error");

      Optional<Event> event = awaitOomEvent(env.cluster(), pod);
      Instant eventSeen = Instant.now();
      if (event.isEmpty()) {
        out.println("No OOMKilled Event appeared within " + DEADLINE.toSeconds() + " s. Agent readiness:\n"
            + env.agent().readiness().body());
        return 1;
      }
      Optional<OOMIncident> incident = Await.value(() -> started.cluster().incidents(pod.namespace()).stream()
          .filter(i -> i.getStatus() != null && OOMIncidentStatus.REPORTED.equals(i.getStatus().getPhase()))
          .findFirst(), DEADLINE, Duration.ofMillis(50));
      // the cgroup poll and the sentry-death check come within a second or two: let them fold in
      Await.until(() -> started.cluster().incidents(pod.namespace()).stream()
          .anyMatch(i -> i.getSpec().getEvidence().size() >= 3), Duration.ofSeconds(5), Duration.ofMillis(100));
      incident = incident.map(i -> started.cluster().client().resources(OOMIncident.class)
          .inNamespace(pod.namespace()).withName(i.getMetadata().getName()).get());
      show(env, pod, incident, eventSeen);
      return 0;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 130;
    } catch (Exception e) {
      out.println("The demo failed: " + e);
      return 1;
    } finally {
      if (env != null) {
        step("Cleaning up: sandbox, pod cgroup, agent, API stand-in");
        env.close();
      }
      if (cleanupOnCtrlC != null) {
        try {
          Runtime.getRuntime().removeShutdownHook(cleanupOnCtrlC);
        } catch (IllegalStateException shuttingDown) {
          // the hook is running already: it cleans up
        }
      }
    }
  }

  private static Optional<Event> awaitOomEvent(EmbeddedCluster cluster, PodRef pod) throws InterruptedException {
    // polled often: the demo reports how fast the Event appeared
    return Await.value(() -> cluster.events(pod).stream()
        .filter(e -> OomIncidentReconciler.REASON.equals(e.getReason())).findFirst(), DEADLINE, Duration.ofMillis(10));
  }

  private void show(DemoEnvironment env, PodRef pod, Optional<OOMIncident> incident, Instant eventSeen)
      throws IOException, InterruptedException {
    out.println();
    showKubectl(env, pod);
    if (incident.isPresent()) {
      Instant killed = Instant.parse(incident.get().getSpec().getKilledAt());
      Instant detected = Instant.parse(incident.get().getSpec().getDetectedAt());
      out.println("Kernel killed the sandbox at " + killed + " (the kernel's own timestamp)");
      out.printf("  agent detected it after      %6d ms%n", Duration.between(killed, detected).toMillis());
      out.printf("  Event visible in the API after %4d ms%n", Duration.between(killed, eventSeen).toMillis());
      out.println("Evidence (every signal that saw the kill, folded into one incident):");
      incident.get().getSpec().getEvidence().forEach(e -> out.println("  - " + e.getSource() + ": " + e.getDetail()));
    }
    out.println();
  }

  /** The real kubectl's output against the stand-in; left out, saying why, when there is no kubectl. */
  private void showKubectl(DemoEnvironment env, PodRef pod) throws IOException, InterruptedException {
    Kubectl kubectl;
    try {
      kubectl = Kubectl.locate(System.getenv());
    } catch (IllegalStateException e) {
      out.println("(kubectl's view is left out: " + e.getMessage() + ")");
      out.println();
      return;
    }
    out.println("# the real kubectl " + kubectl.version() + " (" + kubectl.binary() + ") against the stand-in API");
    run(kubectl, env, "describe", "pod", pod.name());
    run(kubectl, env, "get", "oomincidents");
    CustomResourceDefinition crd = env.cluster().client().apiextensions().v1().customResourceDefinitions()
        .withName("oomincidents.oomwatch.dev").get();
    String columns = crd.getSpec().getVersions().get(0).getAdditionalPrinterColumns().stream()
        .filter(c -> c.getPriority() == null || c.getPriority() == 0).map(c -> c.getName().toUpperCase())
        .collect(java.util.stream.Collectors.joining(", "));
    out.println("# A real API server answers this with the CRD's printer columns (" + columns + ") as a Table;"
        + " the stand-in cannot, so kubectl falls back to NAME and AGE.");
    out.println();
  }

  private void run(Kubectl kubectl, DemoEnvironment env, String... args) throws IOException, InterruptedException {
    out.println("$ kubectl " + String.join(" ", args));
    Kubectl.Result result = kubectl.run(env.cluster().kubeconfig(), args);
    out.print(result.output());
    if (result.exitCode() != 0) {
      out.println("(kubectl exited with status " + result.exitCode() + ")");
    }
    out.println();
  }

  private void step(String text) {
    out.println("==> " + text);
  }
}
