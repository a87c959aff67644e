package dev.oomwatch.chart;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.oomwatch.app.Agent;
import dev.oomwatch.app.AgentConfig;
import dev.oomwatch.app.ConfigLoader;
import dev.oomwatch.crd.OOMIncident;
import dev.oomwatch.crd.OOMIncidentStatus;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.testing.Await;
import dev.oomwatch.testing.DemoEnvironment;
import dev.oomwatch.testing.KernelLogs;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chart's ClusterRole grants exactly the API calls the agent makes — derived, not hand-listed: the
 * whole agent runs end to end against the API stand-in (as {@code AgentIntegrationTest} runs it) through
 * scenarios chosen so that every path that writes runs: a restart loop of two sandbox OOM kills of one pod
 * (incidents created, informers, pod read, pod condition patched, Event created and then its count
 * patched, incident status patched); kubelet writing the pod's terminated containers (the agent lists
 * that pod's SandboxChanged Events); a restart of the agent that reads the same kernel log again while
 * one incident lacks its evidence (the kill merged into the existing incident); and an agent whose clock
 * is a month ahead (its retention deletes incidents older than the TTL). Every request the stand-in received is recorded and mapped to
 * its RBAC (verb, group, resource); the rendered ClusterRole must allow each of them and nothing else.
 *
 * <p>Whose request is whose: the agent authenticates with the kubeconfig the stand-in wrote for it, the
 * test's own setup and polling with the stand-in's own client; the two bearer tokens differ, and every
 * request carries one or the other (checked), so the split is exact even though the test polls while
 * the agent runs.
 */
class RbacCoverageTest {
  private static final Duration DEADLINE = Duration.ofSeconds(60);
  private static final Pattern TOKEN = Pattern.compile("(?m)^\\s*token:\\s*(\\S+)\\s*$");
  /**
   * Granted but legitimately not seen in the run: none today. (A permission the agent needs only on a
   * path this scenario cannot reach would be listed here, with the reason.)
   */
  private static final Set<ApiCall> GRANTED_BUT_NOT_EXERCISED = Set.of();

  @TempDir Path dir;
  private DemoEnvironment env;

  @AfterEach
  void tearDown() {
    if (env != null) {
      env.close();
    }
  }

  @Test
  void theClusterRoleCoversEveryCallTheAgentMakesAndNothingElse() throws Exception {
    ClusterRole role = RenderedChart.render().clusterRole();
    env = DemoEnvironment.withoutAgent("node-a");
    PodRef pod = env.createGvisorPod("victim", 64);
    Path kmsg = twoSandboxKillsOf(pod);
    String agentAuthorization = "Bearer " + agentToken();
    String testAuthorization = "Bearer " + env.cluster().client().getConfiguration().getOauthToken();
    assertTrue(!agentAuthorization.equals(testAuthorization), "the agent and the test must authenticate apart");
    KubernetesMockServer server = env.cluster().server();
    takeAll(server);

    env.startAgent(Optional.of(kmsg));
    boolean reported = Await.until(() -> reportedIncidents() == 2 && eventCount(pod) == 2, DEADLINE,
        Duration.ofMillis(100));
    assertTrue(reported, "2 incidents and an Event counting 2 expected; reported: " + reportedIncidents()
        + ", Event count: " + eventCount(pod) + "\nreadiness:\n" + env.agent().readiness().body());

    // kubelet writes the terminated containers: the agent asks for that pod's SandboxChanged Event
    List<RecordedRequest> requests = new ArrayList<>();
    env.cluster().terminateContainersLikeKubelet(pod, 128);
    boolean askedForEvents = Await.until(() -> {
      try {
        requests.addAll(takeAll(server));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return true;
      }
      return requests.stream().anyMatch(r -> agentAuthorization.equals(r.getHeader("Authorization"))
          && r.getPath().contains("/events?") && r.getPath().contains("involvedObject.uid"));
    }, DEADLINE, Duration.ofMillis(100));
    assertTrue(askedForEvents, "the agent did not look up the pod's SandboxChanged Event");

    // the agent restarts and reads the same kernel log again, while one incident lost its evidence (as if
    // another source had created it first): the kill seen again is merged into it
    String bare = reportedIncidentNames().get(0);
    env.agent().close();
    env.cluster().client().resources(OOMIncident.class).inNamespace("default").withName(bare)
        .edit(i -> {
          i.getSpec().setEvidence(List.of());
          return i;
        });
    try (Agent restarted = Agent.start(agentConfig(kmsg.toString()), Clock.systemUTC())) {
      boolean merged = Await.until(() -> incident(bare).map(i -> !i.getSpec().getEvidence().isEmpty()).orElse(false),
          DEADLINE, Duration.ofMillis(100));
      assertTrue(merged, "the restarted agent did not merge the kill into " + bare + "\nreadiness:\n"
          + restarted.readiness().body());
    }
    // a month later (the agent's clock; the default TTL is 7 days) the agent's retention deletes them
    Clock monthLater = Clock.offset(Clock.systemUTC(), Duration.ofDays(30));
    try (Agent later = Agent.start(agentConfig("off"), monthLater)) {
      boolean deleted = Await.until(() -> env.cluster().incidents("default").isEmpty(), DEADLINE,
          Duration.ofMillis(100));
      assertTrue(deleted, "retention did not delete the incidents: " + env.cluster().incidents("default").size()
          + " left\nreadiness:\n" + later.readiness().body());
    }
    requests.addAll(takeAll(server));

    Set<ApiCall> used = new TreeSet<>(java.util.Comparator.comparing(ApiCall::toString));
    List<String> nonResource = new ArrayList<>();
    for (RecordedRequest request : requests) {
      String authorization = request.getHeader("Authorization");
      if (testAuthorization.equals(authorization)) {
        continue; // the test's own client
      }
      assertEquals(agentAuthorization, authorization, "a request from neither the agent nor the test: " + request);
      Optional<ApiCall> call = ApiCall.of(request.getMethod(), request.getPath());
      call.ifPresentOrElse(used::add, () -> nonResource.add(request.getMethod() + " " + request.getPath()));
    }
    Set<ApiCall> granted = granted(role);

    assertTrue(used.size() >= 5, "too few agent calls recorded to be the real run: " + used);
    assertEquals(List.of(), nonResource,
        "the agent made non-resource requests (discovery); they need no ClusterRole rule, but look at why");
    Set<ApiCall> missing = new TreeSet<>(java.util.Comparator.comparing(ApiCall::toString));
    missing.addAll(used);
    missing.removeAll(granted);
    Set<ApiCall> unused = new TreeSet<>(java.util.Comparator.comparing(ApiCall::toString));
    unused.addAll(granted);
    unused.removeAll(used);
    unused.removeAll(GRANTED_BUT_NOT_EXERCISED);
    if (!missing.isEmpty() || !unused.isEmpty()) {
      fail("the chart's ClusterRole (templates/clusterrole.yaml) does not match the agent's API calls"
          + "\n  called but not granted: " + missing
          + "\n  granted but never called: " + unused
          + "\n  the agent's calls: " + used);
    }
  }

  /**
   * The real cgroup v1 sandbox OOM log of the fixture, as if it happened to {@code pod} twice: the second
   * copy is a later kill of the sandbox kubelet made next (new sandbox id, new sentry pid, later
   * sequence numbers and timestamps), as in a restart loop.
   */
  private Path twoSandboxKillsOf(PodRef pod) throws Exception {
    String first = Files.readString(KernelLogs.sandboxOomOf(pod, dir), ISO_8859_1);
    String second = first.replace("9f8e7d6c5b4a", "5e4d3c2b1a09")
        .replace("pid=7932", "pid=8932")
        .replace("Killed process 7932", "Killed process 8932");
    StringBuilder log = new StringBuilder(first);
    Pattern record = Pattern.compile("^(\\d+),(\\d+),(\\d+),(.*)$");
    for (String line : second.split("\n", -1)) {
      Matcher m = record.matcher(line);
      if (m.matches()) {
        line = m.group(1) + "," + (Long.parseLong(m.group(2)) + 1000) + "," + (Long.parseLong(m.group(3)) + 5_000_000)
            + "," + m.group(4);
      }
      if (!line.isEmpty()) {
        log.append(line).append('\n');
      }
    }
    return Files.writeString(dir.resolve("two-kills.txt"), log.toString(), ISO_8859_1);
  }

  /** The agent's settings as DemoEnvironment sets them, with {@code kmsg} (a file, or off). */
  private AgentConfig agentConfig(String kmsg) {
    return ConfigLoader.load(Optional.empty(), Map.of(), Map.of(
        "nodeName", env.nodeName(), "kubeconfig", env.cluster().kubeconfig().toString(),
        "runscRoot", env.runscRoot().toString(), "runtimeHandler", DemoEnvironment.HANDLER, "httpPort", "0",
        "kmsg", kmsg));
  }

  private Optional<OOMIncident> incident(String name) {
    return Optional.ofNullable(env.cluster().client().resources(OOMIncident.class).inNamespace("default")
        .withName(name).get());
  }

  private List<String> reportedIncidentNames() {
    return env.cluster().incidents("default").stream()
        .filter(i -> i.getStatus() != null && OOMIncidentStatus.REPORTED.equals(i.getStatus().getPhase()))
        .map(i -> i.getMetadata().getName()).sorted().toList();
  }

  private String agentToken() throws Exception {
    Matcher m = TOKEN.matcher(Files.readString(env.cluster().kubeconfig()));
    assertTrue(m.find(), "no token in the agent's kubeconfig");
    return m.group(1);
  }

  private long reportedIncidents() {
    return env.cluster().incidents("default").stream()
        .filter(i -> i.getStatus() != null && OOMIncidentStatus.REPORTED.equals(i.getStatus().getPhase()))
        .map(OOMIncident::getMetadata).count();
  }

  private int eventCount(PodRef pod) {
    return env.cluster().events(pod).stream().map(Event::getCount).filter(c -> c != null).findFirst().orElse(0);
  }

  /** Every request recorded so far (the stand-in records each one as it arrives). */
  private static List<RecordedRequest> takeAll(KubernetesMockServer server) throws InterruptedException {
    List<RecordedRequest> requests = new ArrayList<>();
    for (RecordedRequest r = server.takeRequest(200, TimeUnit.MILLISECONDS); r != null;
        r = server.takeRequest(200, TimeUnit.MILLISECONDS)) {
      requests.add(r);
    }
    return requests;
  }

  /** The (verb, group, resource) triples the role grants; wildcards and name or URL rules are refused. */
  private static Set<ApiCall> granted(ClusterRole role) {
    Set<ApiCall> granted = new java.util.HashSet<>();
    for (PolicyRule rule : role.getRules()) {
      assertTrue(rule.getResourceNames() == null || rule.getResourceNames().isEmpty(), "resourceNames: " + rule);
      assertTrue(rule.getNonResourceURLs() == null || rule.getNonResourceURLs().isEmpty(), "nonResourceURLs: " + rule);
      for (String group : rule.getApiGroups()) {
        for (String resource : rule.getResources()) {
          for (String verb : rule.getVerbs()) {
            assertTrue(!group.equals("*") && !resource.contains("*") && !verb.equals("*"), "wildcard in " + rule);
            granted.add(new ApiCall(verb, group, resource));
          }
        }
      }
    }
    return granted.stream().collect(Collectors.toSet());
  }
}
