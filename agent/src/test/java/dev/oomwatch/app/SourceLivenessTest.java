package dev.oomwatch.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.app.HttpEndpoints.Readiness;
import dev.oomwatch.app.NonBlockingHttpServer.Limits;
import dev.oomwatch.model.Observation;
import dev.oomwatch.model.PodRef;
import dev.oomwatch.model.WatchedPod;
import dev.oomwatch.source.Source;
import dev.oomwatch.source.SourceHealth.State;
import dev.oomwatch.source.cgroup.CgroupSource;
import dev.oomwatch.source.kmsg.KmsgSource;
import dev.oomwatch.testing.Await;
import dev.oomwatch.testing.KernelLogs;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /healthz} follows the OOM-capable sources' threads, through the real sources, the supervisor
 * and the endpoints as the agent wires them: 503 once a source's thread died (an Error escaped it),
 * 200 while sources are live, done with a saved log, or failing and being retried.
 */
class SourceLivenessTest {
  private static final Duration DEADLINE = Duration.ofSeconds(30);
  private static final Duration POLL = Duration.ofMillis(20);
  private static final PodRef POD = new PodRef("default", "victim", KernelLogs.FIXTURE_POD_UID);

  @TempDir Path dir;
  private final List<Observation> sunk = new CopyOnWriteArrayList<>();
  private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private SourceSupervisor supervisor;
  private HttpEndpoints endpoints;

  @AfterEach
  void tearDown() {
    if (endpoints != null) {
      endpoints.close();
    }
    if (supervisor != null) {
      supervisor.close();
    }
  }

  private void run(Source source, Consumer<Observation> sink) throws IOException {
    supervisor = new SourceSupervisor(List.of(source), sink);
    endpoints = new HttpEndpoints(0, out -> {}, () -> new Readiness(true, "ready\n"), supervisor::liveness,
        Limits.DEFAULT);
    supervisor.start();
  }

  private HttpResponse<String> healthz() throws IOException, InterruptedException {
    return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + endpoints.port() + "/healthz"))
        .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private boolean healthzIs(int status) {
    try {
      return healthz().statusCode() == status;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private static boolean stateIs(Source source, State state) {
    return source.health().state() == state;
  }

  @Test
  void aKmsgReaderKilledByAnErrorFailsLiveness() throws Exception {
    KmsgSource kmsg = new KmsgSource(KernelLogs.sandboxOomOf(POD, dir), "test-boot");
    run(kmsg, observation -> {
      throw new StackOverflowError("a bug deep in a sink");
    });

    assertTrue(Await.until(() -> healthzIs(503), DEADLINE, POLL), supervisor.liveness().body());
    HttpResponse<String> dead = healthz();
    assertTrue(dead.body().contains("source kmsg: DEAD (the kmsg reader stopped for good:"
        + " java.lang.StackOverflowError: a bug deep in a sink"), dead.body());
    assertEquals(State.DEAD, kmsg.health().state());
  }

  @Test
  void aKmsgReaderThatReadAFileToItsEndIsStillLive() throws Exception {
    KmsgSource kmsg = new KmsgSource(KernelLogs.sandboxOomOf(POD, dir), "test-boot");
    run(kmsg, sunk::add);

    assertTrue(Await.until(() -> sunk.size() == 1, DEADLINE, POLL), "the kill is read");
    assertEquals(State.LIVE, kmsg.health().state());
    HttpResponse<String> live = healthz();
    assertEquals(200, live.statusCode());
    assertEquals("ok\n", live.body());
  }

  @Test
  void aKmsgSourceFailingAndRetryingIsNotDead() throws Exception {
    KmsgSource kmsg = new KmsgSource(dir.resolve("no-kmsg"), "test-boot");
    run(kmsg, sunk::add);

    assertTrue(Await.until(() -> stateIs(kmsg, State.FAILED), DEADLINE, POLL));
    assertFalse(supervisor.anyOomCapableLive(), "readiness covers a failing source");
    assertEquals(200, healthz().statusCode());
  }

  @Test
  void aCgroupPollerKilledByAnErrorFailsLiveness() throws Exception {
    // pollOnce() survives any Throwable; this one also breaks the handling that describes it.
    Supplier<List<WatchedPod>> broken = () -> {
      throw new Error() {
        private static final long serialVersionUID = 1L;

        @Override
        public String toString() {
          throw new StackOverflowError("describing the failure");
        }
      };
    };
    CgroupSource cgroup = new CgroupSource(dir, broken, Duration.ofMillis(50), 0.9);
    run(cgroup, sunk::add);

    assertTrue(Await.until(() -> healthzIs(503), DEADLINE, POLL), supervisor.liveness().body());
    assertTrue(healthz().body().contains("source cgroup: DEAD (the cgroup poller stopped for good:"
        + " java.lang.StackOverflowError: describing the failure"), healthz().body());
  }

  @Test
  void aCgroupSourceWithoutItsTreeIsFailingNotDead() throws Exception {
    CgroupSource cgroup = new CgroupSource(dir.resolve("no-cgroup"), List::of, Duration.ofMillis(50), 0.9);
    run(cgroup, sunk::add);

    assertTrue(Await.until(() -> stateIs(cgroup, State.FAILED), DEADLINE, POLL));
    assertEquals(200, healthz().statusCode());
  }
}
