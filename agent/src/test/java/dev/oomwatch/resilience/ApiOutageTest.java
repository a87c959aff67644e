package dev.oomwatch.resilience;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.crd.OOMIncidentStatus;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.testing.Await;
import dev.oomwatch.testing.DemoEnvironment;
import dev.oomwatch.testing.ScriptedSource;
import dev.oomwatch.testing.TcpProxy;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The API server refuses connections for 60 s while a sandbox is OOM-killed: the agent keeps what it
 * saw (pending, with a metric), says so in /readyz, and reports it once the API is back.
 */
class ApiOutageTest {
  private static final Duration OUTAGE = Duration.ofSeconds(60);
  private DemoEnvironment env;
  private TcpProxy proxy;

  @AfterEach
  void tearDown() throws IOException {
    if (env != null) {
      env.close();
    }
    if (proxy != null) {
      proxy.close();
    }
  }

  @Test
  void aKillDuringAnOutageIsKeptAndReportedWhenTheApiReturns() throws Exception {
    env = DemoEnvironment.withoutAgent("node-a");
    proxy = new TcpProxy(env.cluster().server().getPort());
    env.withSetting("kubeconfig", env.cluster().kubeconfigVia(proxy.port()).toString());
    PodRef pod = env.createGvisorPod("victim", 64);
    ScriptedSource kernel = new ScriptedSource();
    env.startAgent(Optional.empty(), List.of(kernel));

    proxy.cut();
    long outageStarted = System.nanoTime();
    assertTrue(Await.until(() -> !env.agent().readiness().ready(), Duration.ofSeconds(30), Duration.ofMillis(100)),
        "readiness did not notice the outage: " + env.agent().readiness().body());
    kernel.emit(ScriptedSource.kernelKillOf(pod, "aaaa1111", 4242));
    assertTrue(Await.until(() -> metrics().contains("oomwatch_incidents_pending 1.0"), Duration.ofSeconds(30),
        Duration.ofMillis(100)), metrics());
    assertTrue(env.agent().readiness().body().contains("API server: unreachable"), env.agent().readiness().body());
    assertTrue(env.agent().readiness().body().contains("pending incidents: 1"), env.agent().readiness().body());

    // the rest of the minute without an API server
    Await.until(() -> false, OUTAGE.minusNanos(System.nanoTime() - outageStarted), Duration.ofSeconds(1));
    assertEquals(List.of(), env.cluster().incidents("default"));
    proxy.restore();

    assertTrue(Await.until(() -> env.cluster().incidents("default").stream().anyMatch(i -> i.getStatus() != null
        && OOMIncidentStatus.REPORTED.equals(i.getStatus().getPhase())), Duration.ofSeconds(120),
        Duration.ofMillis(200)), "not reported after the API returned; readiness:\n" + env.agent().readiness().body());
    assertEquals(1, env.cluster().incidents("default").size());
    assertEquals(1, env.cluster().events(pod).get(0).getCount());
    assertTrue(Await.until(() -> env.agent().readiness().ready(), Duration.ofSeconds(60), Duration.ofMillis(200)),
        env.agent().readiness().body());
    assertTrue(metrics().contains("oomwatch_incidents_pending 0.0"), metrics());
    assertTrue(metrics().matches("(?s).*oomwatch_incident_publish_failures_total [1-9].*"), metrics());
  }

  private String metrics() {
    try {
      return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
              URI.create("http://127.0.0.1:" + env.agent().httpPort() + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
    } catch (IOException | InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }
}
