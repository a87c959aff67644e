package dev.oomwatch.source.runsc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.model.Observation;
import dev.oomwatch.model.SandboxDied;
import dev.oomwatch.model.SandboxRef;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link RunscMetricsScraper} against a local HTTP server serving the metric server's page. */
class RunscMetricsScraperTest {

  private static final Instant NOW = Instant.parse("2026-11-28T12:00:00Z");
  private static final Duration TIMEOUT = Duration.ofMillis(500);

  private final FakeMetricServer server = new FakeMetricServer();
  private final DeathLedger ledger = new DeathLedger();
  private final List<Observation> sunk = new ArrayList<>();
  private final RunscMetricsScraper scraper =
      new RunscMetricsScraper(server.url(), "runsc_", TIMEOUT);
  private Function<String, Optional<SandboxRef>> refs = id -> Optional.empty();

  @AfterEach
  void stopServer() {
    server.close();
  }

  private static MetricServerText.Sandbox web(boolean running) {
    return new MetricServerText.Sandbox("32beefcafe", "42asdf", "web", "default", running);
  }

  private static MetricServerText.Sandbox batch(boolean running) {
    return new MetricServerText.Sandbox("0ddba11", "7", "batch", "jobs", running);
  }

  private Optional<String> scrape(MetricServerText.Sandbox... sandboxes) throws Exception {
    server.serve(MetricServerText.of(List.of(sandboxes)));
    return scraper.scrape(NOW, refs, ledger, sunk::add);
  }

  private static SandboxRef fromLabels(MetricServerText.Sandbox sandbox) {
    return new SandboxRef(sandbox.id(), "", sandbox.namespace(), sandbox.pod(), OptionalLong.empty(),
        OptionalLong.empty(), Optional.empty());
  }

  @Test
  void aRunningGaugeDroppingToZeroIsADeathOnce() throws Exception {
    assertEquals(Optional.empty(), scrape(web(true), batch(true)));
    assertEquals(Optional.empty(), scrape(web(false), batch(true)));
    assertEquals(Optional.empty(), scrape(web(false), batch(true)));

    assertEquals(List.of(new SandboxDied(fromLabels(web(true)), NOW, RunscMetricsScraper.HOW)), sunk);
  }

  @Test
  void aSandboxGoneFromTheServerIsADeath() throws Exception {
    scrape(web(true), batch(true));
    scrape(batch(true));
    assertEquals(List.of(new SandboxDied(fromLabels(web(true)), NOW, RunscMetricsScraper.HOW)), sunk);
  }

  @Test
  void aNewIterationMeansThePreviousOneDied() throws Exception {
    scrape(web(true));
    scrape(new MetricServerText.Sandbox("32beefcafe", "43", "web", "default", true));
    assertEquals(1, sunk.size(), sunk.toString());
  }

  @Test
  void theStatePollersRefIsUsedWhenItKnowsTheSandbox() throws Exception {
    SandboxRef known = new SandboxRef("32beefcafe", "uid-1", "default", "web", OptionalLong.of(8679),
        OptionalLong.of(8675), Optional.of("/kubepods/podx/32beefcafe"));
    refs = id -> id.equals("32beefcafe") ? Optional.of(known) : Optional.empty();
    scrape(web(true));
    scrape(web(false));
    assertEquals(List.of(new SandboxDied(known, NOW, RunscMetricsScraper.HOW)), sunk);
  }

  @Test
  void aDeathAlreadyReportedIsNotReportedAgain() throws Exception {
    scrape(web(true));
    ledger.claim("32beefcafe", NOW);
    scrape(web(false));
    assertEquals(List.of(), sunk);
  }

  @Test
  void aSandboxStoppedAtTheFirstScrapeIsNoNews() throws Exception {
    scrape(web(false));
    scrape();
    assertEquals(List.of(), sunk);
  }

  @Test
  void aPageWithoutTheRunningGaugesIsAFailedScrapeNotDeaths() throws Exception {
    scrape(web(true));
    String withoutRunning = MetricServerText.of(List.of(web(true))).lines()
        .filter(line -> !line.startsWith("runsc_meta_sandbox_running"))
        .reduce("", (a, b) -> a + b + "\n");
    server.serve(withoutRunning);
    assertTrue(scraper.scrape(NOW, refs, ledger, sunk::add).isPresent());
    assertEquals(List.of(), sunk);
    scrape(web(false));
    assertEquals(1, sunk.size());
  }

  @Test
  void aFailedScrapeIsNotAChange() throws Exception {
    scrape(web(true));
    server.status(500);
    Optional<String> problem = scrape();
    assertTrue(problem.orElseThrow().contains("answered HTTP 500"), problem.toString());
    server.status(200);
    scrape(web(true));
    assertEquals(List.of(), sunk);
  }

  @Test
  void garbageIsAFailedScrapeNotDeaths() throws Exception {
    scrape(web(true));
    server.serve(new byte[] {0, (byte) 0xff, '{', '\n', 'x', '{'});
    Optional<String> problem = scraper.scrape(NOW, refs, ledger, sunk::add);
    assertTrue(problem.orElseThrow().contains("not a runsc metric server's page"), problem.toString());
    assertEquals(List.of(), sunk);
  }

  @Test
  void aPageCutShortIsAFailedScrapeNotDeaths() throws Exception {
    scrape(web(true), batch(true));
    String page = MetricServerText.of(List.of(web(true), batch(true)));
    // cut right after the first sandbox's running gauge
    int cut = page.indexOf('\n', page.indexOf("runsc_meta_sandbox_running{")) + 1;
    server.serve(page.substring(0, cut));
    Optional<String> problem = scraper.scrape(NOW, refs, ledger, sunk::add);
    assertTrue(problem.orElseThrow().contains("incomplete: it counts 2 running sandboxes but lists 1"),
        problem.toString());
    assertEquals(List.of(), sunk);
  }

  @Test
  void readsTheStatesOfARealisticPage() throws Exception {
    server.serve(MetricServerText.of(List.of(web(true), batch(false))));
    PrometheusText.Result result = PrometheusText.parse(MetricServerText.of(List.of(web(true),
        batch(false))), name -> true);
    Map<String, RunscMetricsScraper.SandboxState> states = scraper.states(result.samples());
    assertEquals(Map.of(
        "32beefcafe", new RunscMetricsScraper.SandboxState("32beefcafe", "42asdf", "web", "default",
            Optional.of(true)),
        "0ddba11", new RunscMetricsScraper.SandboxState("0ddba11", "7", "batch", "jobs",
            Optional.of(false))), states);
  }

  @Test
  void aWrongPathSaysWhatToCheck() throws Exception {
    RunscMetricsScraper wrong = new RunscMetricsScraper(
        URI.create(server.url().toString().replace("/metrics", "/nothing")), "runsc_", TIMEOUT);
    Optional<String> problem = wrong.scrape(NOW, refs, ledger, sunk::add);
    assertTrue(problem.orElseThrow().contains("HTTP 404"), problem.toString());
    assertTrue(problem.get().contains("/metrics"), problem.toString());
  }

  @Test
  void aClosedPortSaysWhatToStart() throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = socket.getLocalPort();
    }
    RunscMetricsScraper nobody = new RunscMetricsScraper(
        URI.create("http://127.0.0.1:" + port + "/metrics"), "runsc_", TIMEOUT);
    Optional<String> problem = nobody.scrape(NOW, refs, ledger, sunk::add);
    assertTrue(problem.orElseThrow().contains("cannot connect"), problem.toString());
  }

  @Test
  void aServerThatDoesNotAnswerIsGivenUpOnInTime() throws Exception {
    server.delay(10_000).serve("x 1\n");
    long started = System.nanoTime();
    Optional<String> problem = scraper.scrape(NOW, refs, ledger, sunk::add);
    Duration took = Duration.ofNanos(System.nanoTime() - started);

    assertTrue(problem.orElseThrow().contains("did not answer"), problem.toString());
    assertTrue(took.compareTo(Duration.ofSeconds(5)) < 0, "took " + took);
  }

  @Test
  void aHugeBodyIsRefused() throws Exception {
    byte[] huge = new byte[RunscMetricsScraper.MAX_BODY_BYTES + 1];
    java.util.Arrays.fill(huge, (byte) '#');
    server.serve(huge);
    RunscMetricsScraper patient = new RunscMetricsScraper(server.url(), "runsc_",
        Duration.ofSeconds(10));
    Optional<String> problem = patient.scrape(NOW, refs, ledger, sunk::add);
    assertTrue(problem.orElseThrow().contains("more than"), problem.toString());
  }

  @Test
  void anotherExporterPrefixIsHonoured() throws Exception {
    RunscMetricsScraper custom = new RunscMetricsScraper(server.url(), "gvisor_", TIMEOUT);
    server.serve(MetricServerText.of(List.of(web(true))).replace("runsc_meta_", "gvisor_meta_"));
    assertEquals(Optional.empty(), custom.scrape(NOW, refs, ledger, sunk::add));
    server.serve(MetricServerText.of(List.of(web(false))).replace("runsc_meta_", "gvisor_meta_"));
    assertEquals(Optional.empty(), custom.scrape(NOW, refs, ledger, sunk::add));
    assertEquals(1, sunk.size());
    assertTrue(scraper.scrape(NOW, refs, ledger, sunk::add).isPresent(),
        "the default prefix finds none of it");
  }
}
