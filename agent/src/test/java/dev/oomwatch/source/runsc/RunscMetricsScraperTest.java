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
    assertTrue(problem.orElseThrow().contains("larger than"), problem.toString());
  }

  /**
   * A page of the metric server for {@code sandboxes}, grown to {@code bytes} with the other metrics
   * runsc exports for each running sandbox, placed before the meta-metrics: the scraper must read to
   * the end to find them.
   */
  private static byte[] pageOf(int bytes, MetricServerText.Sandbox... sandboxes) {
    String page = MetricServerText.of(List.of(sandboxes));
    int meta = page.indexOf("# HELP runsc_meta_num_sandboxes_running");
    StringBuilder text = new StringBuilder(bytes + 4096).append(page, 0, meta);
    String labels = sandboxes[0].labels();
    for (int metric = 0; text.length() + page.length() - meta < bytes; metric++) {
      String line = "runsc_fs_read_wait" + metric + labels + " " + metric + " " + MetricServerText.TIMESTAMP + "\n";
      if (text.length() + line.length() + page.length() - meta > bytes) {
        text.append("#".repeat(bytes - text.length() - (page.length() - meta) - 1)).append('\n');
      } else {
        text.append("# TYPE runsc_fs_read_wait").append(metric).append(" counter\n").append(line);
      }
    }
    text.append(page, meta, page.length());
    byte[] body = text.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
    assertEquals(bytes, body.length);
    return body;
  }

  @Test
  void aPageOfNearlyFourMiBIsReadToItsEnd() throws Exception {
    int size = (int) (3.9 * 1024 * 1024);
    RunscMetricsScraper patient = new RunscMetricsScraper(server.url(), "runsc_", Duration.ofSeconds(20));
    server.serve(pageOf(size, web(true), batch(true)));
    assertEquals(Optional.empty(), patient.scrape(NOW, refs, ledger, sunk::add));
    server.serve(pageOf(size, web(true), batch(false)));
    assertEquals(Optional.empty(), patient.scrape(NOW, refs, ledger, sunk::add));
    assertEquals(List.of(new SandboxDied(fromLabels(batch(true)), NOW, RunscMetricsScraper.HOW)), sunk);
    assertEquals(0, patient.bodiesTooLarge());
  }

  /** 40 MiB: refused with a sentence and counted; no sandbox looks dead for it, before or after. */
  @Test
  void aFortyMiBPageIsAFailedScrapeThatSaysSoAndIsCountedNotDeaths() throws Exception {
    RunscMetricsScraper patient = new RunscMetricsScraper(server.url(), "runsc_", Duration.ofSeconds(20));
    server.serve(MetricServerText.of(List.of(web(true), batch(true))));
    assertEquals(Optional.empty(), patient.scrape(NOW, refs, ledger, sunk::add));

    server.serve(pageOf(40 * 1024 * 1024, web(false), batch(false)));
    Optional<String> problem = patient.scrape(NOW, refs, ledger, sunk::add);
    assertTrue(problem.orElseThrow().contains("sent a page larger than 4 MiB"), problem.toString());
    assertTrue(problem.orElseThrow().contains(server.url().toString()), problem.toString());
    assertEquals(1, patient.bodiesTooLarge());
    assertEquals(List.of(), sunk, "a page refused is not a change");

    server.serve(MetricServerText.of(List.of(web(true), batch(true))));
    assertEquals(Optional.empty(), patient.scrape(NOW, refs, ledger, sunk::add));
    assertEquals(List.of(), sunk);
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
