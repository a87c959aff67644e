package dev.oomwatch.source.runsc;

import dev.oomwatch.model.Observation;
import dev.oomwatch.model.SandboxDied;
import dev.oomwatch.model.SandboxRef;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodySubscriber;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Scrapes the runsc metric server ({@code runsc metric-server}, Prometheus text format) for its
 * per-sandbox meta-metrics {@code <prefix>meta_sandbox_presence} and
 * {@code <prefix>meta_sandbox_running} (labels {@code sandbox}, {@code iteration}, {@code pod_name},
 * {@code namespace_name}; the prefix is runsc's {@code --exporter-prefix}, {@code runsc_} by default),
 * and reports a sandbox whose running gauge went from 1 to 0, that vanished from the server's
 * sandboxes, or that came back under another iteration, as a {@link SandboxDied}: once per sandbox,
 * shared with the state-file poller through the {@link DeathLedger}. Only changes between two
 * successful scrapes count: a sandbox already stopped at the first scrape, or one that comes and goes
 * between scrapes, is left to the state-file poller. A page is trusted only when the server's own
 * count of running sandboxes ({@code <prefix>meta_num_sandboxes_running}) matches the running gauges
 * it lists, so that a cut-off page or another server's page does not make sandboxes look dead.
 *
 * <p>Each scrape is one HTTP GET with a deadline (connect and whole response), a body of at most
 * {@link #MAX_BODY_BYTES}, and no redirects. The body is parsed as it arrives, line by line
 * ({@link PrometheusText.Stream}): it is never held whole, only the wanted samples are kept. A larger
 * body is a failed scrape with a sentence saying so, counted ({@link #bodiesTooLarge}), not a change:
 * no sandbox looks dead for it. The JDK's HTTP client cannot talk over a Unix socket: point the agent
 * at a TCP address of the metric server.
 *
 * <p>Not thread-safe: one thread of the source calls {@link #scrape}; {@link #bodiesTooLarge} may be
 * read from any thread.
 */
final class RunscMetricsScraper {

  /** The {@link SandboxDied#how()} of deaths seen here. */
  static final String HOW = "runsc metric server: sandbox no longer running";
  /**
   * A larger response is refused: the server writes about 175 samples (~26 KiB) per sandbox, so 4 MiB
   * holds some 150 sandboxes, more than kubelet's default of 110 pods a node.
   */
  static final int MAX_BODY_BYTES = 4 * 1024 * 1024;

  private static final Logger log = LoggerFactory.getLogger(RunscMetricsScraper.class);

  /** What the server says about one sandbox. Immutable. */
  record SandboxState(String sandboxId, String iteration, String podName, String namespace,
      Optional<Boolean> running) {}

  private final URI url;
  private final String presenceMetric;
  private final String runningMetric;
  private final String runningCountMetric;
  private final Duration timeout;
  private final HttpClient client;
  private final AtomicLong bodiesTooLarge = new AtomicLong();
  private Map<String, SandboxState> previous;

  RunscMetricsScraper(URI url, String exporterPrefix, Duration timeout) {
    this.url = url;
    this.presenceMetric = exporterPrefix + "meta_sandbox_presence";
    this.runningMetric = exporterPrefix + "meta_sandbox_running";
    this.runningCountMetric = exporterPrefix + "meta_num_sandboxes_running";
    this.timeout = timeout;
    this.client = HttpClient.newBuilder()
        .connectTimeout(timeout)
        .followRedirects(HttpClient.Redirect.NEVER)
        .version(HttpClient.Version.HTTP_1_1)
        .build();
  }

  URI url() {
    return url;
  }

  /** Scrapes refused because the body was larger than {@link #MAX_BODY_BYTES}. Thread-safe. */
  long bodiesTooLarge() {
    return bodiesTooLarge.get();
  }

  /**
   * Scrapes once and hands deaths to {@code emit}.
   *
   * @param refs what the state-file poller knows of a sandbox; used for the reported
   *     {@link SandboxRef}, which otherwise comes from the labels alone (pod uid empty)
   * @return empty on success; otherwise why the scrape failed, as a sentence
   */
  Optional<String> scrape(Instant now, Function<String, Optional<SandboxRef>> refs,
      DeathLedger ledger, Consumer<Observation> emit) throws InterruptedException {
    PrometheusText.Result result;
    try {
      result = fetch();
    } catch (ScrapeFailure e) {
      return Optional.of(e.getMessage());
    }
    if (result.rejectedLines() > 0) {
      log.debug("{} lines of {} did not parse; first: {}", result.rejectedLines(), url,
          result.firstProblem().orElse(""));
    }
    Map<String, SandboxState> current = states(result.samples());
    Optional<String> incomplete = incomplete(result.samples(), current);
    if (incomplete.isPresent()) {
      return incomplete;
    }
    for (SandboxDied died : changes(now, current, refs, ledger)) {
      emit.accept(died);
    }
    return Optional.empty();
  }

  /** The deaths between the previous scrape and {@code current}; remembers {@code current}. */
  List<SandboxDied> changes(Instant now, Map<String, SandboxState> current,
      Function<String, Optional<SandboxRef>> refs, DeathLedger ledger) {
    Map<String, SandboxState> merged = new HashMap<>(current);
    List<SandboxDied> deaths = new ArrayList<>();
    if (previous != null) {
      for (SandboxState before : previous.values()) {
        SandboxState after = current.get(before.sandboxId());
        boolean sameIteration = after != null && after.iteration().equals(before.iteration());
        if (sameIteration && after.running().isEmpty()) {
          // The running gauge is missing this time: keep what was known.
          merged.put(before.sandboxId(), new SandboxState(after.sandboxId(), after.iteration(),
              after.podName(), after.namespace(), before.running()));
          continue;
        }
        boolean wasRunning = before.running().orElse(false);
        boolean stopped = after == null || !sameIteration || !after.running().orElse(true);
        if (wasRunning && stopped && ledger.claim(before.sandboxId(), now)) {
          SandboxRef ref = lookup(refs, before.sandboxId()).orElseGet(() -> fromLabels(before));
          log.debug("runsc sandbox {} of pod {}/{} stopped, says {}", before.sandboxId(),
              before.namespace(), before.podName(), url);
          deaths.add(new SandboxDied(ref, now, HOW));
        }
      }
    }
    previous = Map.copyOf(merged);
    return List.copyOf(deaths);
  }

  /**
   * Why the page cannot be trusted to list every sandbox, if it cannot: a page that is not the metric
   * server's, or one cut short, would make every sandbox missing from it look dead. The server counts
   * the running sandboxes it lists ({@code <prefix>meta_num_sandboxes_running}); the count must be
   * there and match the running gauges.
   */
  private Optional<String> incomplete(List<PrometheusText.Sample> samples,
      Map<String, SandboxState> states) {
    Double count = null;
    for (PrometheusText.Sample sample : samples) {
      if (sample.name().equals(runningCountMetric) && sample.labels().isEmpty()) {
        count = sample.value();
      }
    }
    if (count == null) {
      return Optional.of(url + " is not a runsc metric server's page (it has no "
          + runningCountMetric + "); check --runsc-metrics-url and runsc's --exporter-prefix");
    }
    long listed = states.values().stream().filter(state -> state.running().orElse(false)).count();
    if (count != listed) {
      return Optional.of("the page of " + url + " is incomplete: it counts " + count.longValue()
          + " running sandboxes but lists " + listed);
    }
    return Optional.empty();
  }

  /** The sandboxes named by the presence and running samples, by sandbox id. */
  Map<String, SandboxState> states(List<PrometheusText.Sample> samples) {
    Map<String, SandboxState> states = new HashMap<>();
    for (PrometheusText.Sample sample : samples) {
      String sandbox = sample.labels().getOrDefault("sandbox", "");
      if (sandbox.isEmpty()) {
        continue;
      }
      boolean running = sample.name().equals(runningMetric);
      if (!running && sample.value() == 0) {
        continue; // presence 0: not present
      }
      SandboxState known = states.get(sandbox);
      Optional<Boolean> isRunning = known == null ? Optional.empty() : known.running();
      if (running) {
        isRunning = sample.value() == 1 ? Optional.of(true)
            : sample.value() == 0 ? Optional.of(false) : Optional.empty();
      }
      states.put(sandbox, new SandboxState(sandbox,
          sample.labels().getOrDefault("iteration", ""),
          sample.labels().getOrDefault("pod_name", ""),
          sample.labels().getOrDefault("namespace_name", ""),
          isRunning));
    }
    return states;
  }

  private static Optional<SandboxRef> lookup(Function<String, Optional<SandboxRef>> refs, String id) {
    try {
      Optional<SandboxRef> ref = refs.apply(id);
      return ref == null ? Optional.empty() : ref;
    } catch (RuntimeException e) {
      log.warn("looking up runsc sandbox {} failed", id, e);
      return Optional.empty();
    }
  }

  private static SandboxRef fromLabels(SandboxState state) {
    return new SandboxRef(state.sandboxId(), "", state.namespace(), state.podName(),
        OptionalLong.empty(), OptionalLong.empty(), Optional.empty());
  }

  private PrometheusText.Result fetch() throws ScrapeFailure, InterruptedException {
    HttpRequest request = HttpRequest.newBuilder(url)
        .timeout(timeout)
        .header("Accept", "text/plain;version=0.0.4")
        .GET()
        .build();
    CompletableFuture<HttpResponse<PrometheusText.Result>> response =
        client.sendAsync(request, info -> info.statusCode() == 200
            ? new ParsedBody(MAX_BODY_BYTES, name -> name.equals(presenceMetric)
                || name.equals(runningMetric) || name.equals(runningCountMetric))
            : HttpResponse.BodySubscribers.replacing(null));
    HttpResponse<PrometheusText.Result> answer;
    try {
      // The request timeout covers the wait for the headers only; this bounds the body too.
      answer = response.get(timeout.toMillis() * 2, TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      response.cancel(true);
      throw new ScrapeFailure("the runsc metric server at " + url + " did not answer within "
          + timeout.multipliedBy(2).toMillis() + " ms");
    } catch (InterruptedException e) {
      response.cancel(true);
      throw e;
    } catch (ExecutionException e) {
      throw new ScrapeFailure(describe(e.getCause()));
    }
    if (answer.statusCode() != 200) {
      throw new ScrapeFailure("the runsc metric server at " + url + " answered HTTP "
          + answer.statusCode() + "; check --runsc-metrics-url (it should end in /metrics)");
    }
    return answer.body();
  }

  private String describe(Throwable cause) {
    if (cause instanceof ConnectException) {
      return "cannot connect to the runsc metric server at " + url + " (" + cause.getMessage()
          + "); start `runsc metric-server` on that address, or unset --runsc-metrics-url";
    }
    if (cause instanceof HttpTimeoutException) {
      return "the runsc metric server at " + url + " did not answer in time (" + cause.getMessage()
          + ")";
    }
    if (cause instanceof BodyTooLarge) {
      bodiesTooLarge.incrementAndGet();
      return "the runsc metric server at " + url + " sent a page larger than " + MAX_BODY_BYTES / (1024 * 1024)
          + " MiB (" + MAX_BODY_BYTES + " bytes), the most the agent reads: its sandboxes' deaths are not"
          + " seen from it (the runsc state files still are); check that --runsc-metrics-url is runsc's"
          + " metric server, or limit the metrics runsc exports";
    }
    return "scraping the runsc metric server at " + url + " failed: " + cause;
  }

  /** Why a scrape failed, as a sentence. */
  private static final class ScrapeFailure extends Exception {
    private static final long serialVersionUID = 1L;

    ScrapeFailure(String sentence) {
      super(sentence);
    }
  }

  private static final class BodyTooLarge extends RuntimeException {
    private static final long serialVersionUID = 1L;

    BodyTooLarge() {
      super("response body too large", null, false, false);
    }
  }

  /**
   * Parses a response body of at most {@code limit} bytes as it arrives, failing (and cancelling)
   * beyond. The HTTP client calls it from one thread at a time.
   */
  private static final class ParsedBody implements BodySubscriber<PrometheusText.Result> {
    private final int limit;
    private final PrometheusText.Stream parser;
    private final CompletableFuture<PrometheusText.Result> body = new CompletableFuture<>();
    private long received;
    private Flow.Subscription subscription;

    ParsedBody(int limit, Predicate<String> wanted) {
      this.limit = limit;
      this.parser = new PrometheusText.Stream(wanted);
    }

    @Override
    public CompletionStage<PrometheusText.Result> getBody() {
      return body;
    }

    @Override
    public void onSubscribe(Flow.Subscription subscription) {
      this.subscription = subscription;
      subscription.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(List<ByteBuffer> buffers) {
      if (body.isDone()) {
        return;
      }
      for (ByteBuffer buffer : buffers) {
        received += buffer.remaining();
        if (received > limit) {
          subscription.cancel();
          body.completeExceptionally(new BodyTooLarge());
          return;
        }
        parser.accept(buffer);
      }
    }

    @Override
    public void onError(Throwable throwable) {
      body.completeExceptionally(throwable);
    }

    @Override
    public void onComplete() {
      body.complete(parser.finish());
    }
  }
}
