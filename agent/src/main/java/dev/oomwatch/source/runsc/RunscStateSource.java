package dev.oomwatch.source.runsc;

import dev.oomwatch.metrics.AgentMetrics;
import dev.oomwatch.model.ContainerMemorySample;
import dev.oomwatch.model.Observation;
import dev.oomwatch.model.SandboxDied;
import dev.oomwatch.model.SandboxRef;
import dev.oomwatch.model.SandboxUnlimited;
import dev.oomwatch.source.Source;
import dev.oomwatch.source.SourceHealth;
import dev.oomwatch.source.SourceHealth.State;
import dev.oomwatch.support.Backoff;
import dev.oomwatch.support.DaemonThreads;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The runsc state dir as a {@link Source}: finds the gVisor sandboxes on this node from runsc's state
 * files ({@code <cid>_sandbox:<sid>.state} in the runsc root, containerd's
 * {@code /run/containerd/runsc/k8s.io} by default) and reports
 *
 * <ul>
 *   <li>{@link dev.oomwatch.model.SandboxSeen} for each new sandbox, and again when its pids or cgroup
 *       change;
 *   <li>{@link SandboxDied} once per sandbox when its sentry process exits (checked in the proc
 *       filesystem at every poll, a reused pid told apart by its start time), when its state files go
 *       away and the sentry with them, or, with a metric server configured, when the runsc metric
 *       server says it no longer runs, whichever comes first;
 *   <li>{@link SandboxUnlimited} once per sandbox whose sentry sits in a memory cgroup with no limit
 *       (nor any ancestor) while its pod declares one (only with {@link Builder#podMemoryLimit});
 *   <li>{@link ContainerMemorySample}s of each container of each live multi-container sandbox (or of
 *       every sandbox, see {@link Builder#sampleEverySandbox}), with a runsc binary configured
 *       ({@code runsc events --stats}).
 * </ul>
 *
 * It sees that a sandbox died, never why: {@link #oomCapable()} is false. A death here with no other
 * evidence is no OOM ({@code runsc kill} and a pod deletion look the same).
 *
 * <p>Health: {@code STARTING} until the first poll; {@code LIVE} while the root dir is listed, also
 * when it does not exist yet (on a node where runsc never ran); {@code FAILED} with a sentence saying
 * what to do when the dir, a state file or {@code /proc/<pid>/stat} cannot be read, or when the
 * configured metric server or runsc binary fails. A dir that cannot be listed is retried with
 * backoff (1 s doubling to 60 s); any other failure of a poll is logged and the next poll goes on.
 *
 * <p>Threading: the state dir is polled on the daemon thread {@code runsc-state}; the metric server,
 * when configured, is scraped on {@code runsc-metrics}, and {@code runsc events} runs on
 * {@code runsc-stats}, so that neither a slow server nor a slow runsc delays the pid checks. Sink
 * calls never overlap; an exception from the sink is logged and does not stop the source. After
 * {@link #close()} returns, the sink is not called again. All public methods are thread-safe.
 */
public final class RunscStateSource implements Source {

  /** containerd's runsc root for Kubernetes pods. */
  public static final Path DEFAULT_ROOT = Path.of("/run/containerd/runsc/k8s.io");
  public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofSeconds(1);
  public static final Duration DEFAULT_METRICS_INTERVAL = Duration.ofSeconds(5);
  public static final Duration DEFAULT_STATS_INTERVAL = Duration.ofSeconds(10);
  /** Of each HTTP scrape and each {@code runsc events} run. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);
  /** runsc's default {@code --exporter-prefix}. */
  public static final String DEFAULT_EXPORTER_PREFIX = "runsc_";

  static final Duration FIRST_RETRY = Duration.ofSeconds(1);
  static final Duration LONGEST_RETRY = Duration.ofSeconds(60);
  private static final Duration THREAD_EXIT_WAIT = Duration.ofSeconds(10);
  private static final String NAME = "runsc";

  private static final Logger log = LoggerFactory.getLogger(RunscStateSource.class);

  private final Path root;
  private final Duration pollInterval;
  private final Duration metricsInterval;
  private final Duration statsInterval;
  private final Duration firstRetry;
  private final Duration longestRetry;
  private final Clock clock;
  private final StateDirectory directory;
  private final ProcessProbe processes;
  private final HostPidView hostPids;
  private final SandboxTracker tracker;
  private final DeathLedger ledger = new DeathLedger();
  private final RunscMetricsScraper scraper;
  private final RunscStatsSampler sampler;

  private final CountDownLatch closed = new CountDownLatch(1);
  private final Object sinkLock = new Object();
  private final AtomicLong polls = new AtomicLong();
  private final AtomicLong filesParsed = new AtomicLong();
  private final AtomicLong parseRetries = new AtomicLong();
  private final AtomicLong filesRefused = new AtomicLong();
  private final AtomicLong sandboxesSeen = new AtomicLong();
  private final AtomicLong deathsSeen = new AtomicLong();
  private final AtomicLong unlimitedSeen = new AtomicLong();
  private final AtomicLong metricScrapes = new AtomicLong();
  private final AtomicLong metricScrapeFailures = new AtomicLong();
  private final AtomicLong memorySamples = new AtomicLong();
  private final ContainerMemoryReadings containerMemory = new ContainerMemoryReadings();
  private final AtomicLong memorySampleFailures = new AtomicLong();

  private volatile Part statePart;
  private volatile Part metricsPart;
  private volatile Part statsPart;
  private final List<Thread> threads = new ArrayList<>();
  private Consumer<Observation> sink; // guarded by sinkLock
  private boolean stopped; // guarded by sinkLock
  private boolean started; // guarded by this
  private String lastWarning; // poller thread only
  private List<RunscStateFile> lastFiles = List.of(); // poller thread only

  private RunscStateSource(Builder builder) {
    this.root = builder.root;
    this.pollInterval = builder.pollInterval;
    this.metricsInterval = builder.metricsInterval;
    this.statsInterval = builder.statsInterval;
    this.firstRetry = builder.firstRetry;
    this.longestRetry = builder.longestRetry;
    this.clock = builder.clock;
    this.directory = new StateDirectory(root, advice(root));
    this.processes = new ProcessProbe(builder.procRoot);
    this.hostPids = HostPidView.check(builder.procRoot);
    this.tracker = new SandboxTracker(processes,
        new MemoryLimitProbe(builder.cgroupRoot), builder.podCgroup, builder.podMemoryLimit, ledger,
        hostPids.visible());
    this.scraper = builder.metricsUrl
        .map(url -> new RunscMetricsScraper(url, builder.exporterPrefix, builder.timeout))
        .orElse(null);
    this.sampler = builder.runscBinary
        .map(binary -> new RunscStatsSampler(binary, root, builder.timeout,
            builder.sampleEverySandbox))
        .orElse(null);
    this.statePart = new Part(State.STARTING, "first poll of " + root + " pending");
    if (scraper != null) {
      metricsPart = new Part(State.STARTING, "first scrape of " + scraper.url() + " pending");
    }
    if (sampler != null) {
      statsPart = new Part(State.LIVE, "runsc events --stats every " + statsInterval.toSeconds()
          + " s");
    }
  }

  /** A builder with the defaults: containerd's runsc root, {@code /proc}, {@code /sys/fs/cgroup}. */
  public static Builder builder() {
    return new Builder();
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public boolean oomCapable() {
    return false;
  }

  @Override
  public synchronized void start(Consumer<Observation> sink) {
    Objects.requireNonNull(sink, "sink");
    if (started || isClosed()) {
      throw new IllegalStateException("the runsc source can be started once");
    }
    started = true;
    synchronized (sinkLock) {
      this.sink = sink;
    }
    log.info("watching runsc sandboxes in {} every {} ms{}{}", root, pollInterval.toMillis(),
        scraper == null ? "" : ", scraping " + scraper.url(),
        sampler == null ? "" : ", sampling container memory with runsc events");
    if (!hostPids.visible()) {
      log.warn("the host's processes are {}", hostPids.detail());
    }
    threads.add(DaemonThreads.thread("runsc-state", this::pollUntilClosed));
    if (scraper != null) {
      threads.add(DaemonThreads.thread("runsc-metrics", this::scrapeUntilClosed));
    }
    if (sampler != null) {
      threads.add(DaemonThreads.thread("runsc-stats", this::sampleUntilClosed));
    }
    threads.forEach(Thread::start);
  }

  @Override
  public SourceHealth health() {
    List<Part> parts = new ArrayList<>();
    parts.add(statePart);
    if (metricsPart != null) {
      parts.add(metricsPart);
    }
    if (statsPart != null) {
      parts.add(statsPart);
    }
    List<String> failures = new ArrayList<>();
    for (Part part : parts) {
      if (part.state() == State.FAILED) {
        failures.add(part.detail());
      }
    }
    if (!failures.isEmpty()) {
      return new SourceHealth(NAME, State.FAILED, String.join("; ", failures));
    }
    if (statePart.state() != State.LIVE) {
      return new SourceHealth(NAME, statePart.state(), statePart.detail());
    }
    List<String> details = new ArrayList<>();
    for (Part part : parts) {
      details.add(part.detail());
    }
    return new SourceHealth(NAME, State.LIVE, String.join("; ", details));
  }

  /**
   * Whether the proc root shows the host's processes (checked once, when built); when it does not,
   * sandbox deaths and memory-limit checks that need the sentries' pids are off.
   */
  public HostPidView hostPids() {
    return hostPids;
  }

  /** The counters so far; callable from any thread at any time. */
  public RunscStats stats() {
    return new RunscStats(polls.get(), filesParsed.get(), parseRetries.get(), filesRefused.get(),
        sandboxesSeen.get(), deathsSeen.get(), unlimitedSeen.get(), metricScrapes.get(),
        metricScrapeFailures.get(), memorySamples.get(), memorySampleFailures.get());
  }

  /** Scrapes of the metric server refused for a page over its size cap; callable from any thread. */
  public long metricBodiesTooLarge() {
    return scraper == null ? 0 : scraper.bodiesTooLarge();
  }

  @Override
  public void registerMetrics(AgentMetrics metrics) {
    metrics.registerCounter("oomwatch_runsc_state_parse_retries",
        "runsc state files that were half-written when read (read again at the next poll)", parseRetries::get);
    metrics.registerCounter("oomwatch_runsc_sandbox_deaths", "gVisor sandboxes seen dying (any cause)",
        deathsSeen::get);
    metrics.registerCounter("oomwatch_runsc_metric_scrape_failures", "Failed scrapes of the runsc metric server",
        metricScrapeFailures::get);
    metrics.registerCounter("oomwatch_runsc_metric_bodies_too_large",
        "Scrapes of the runsc metric server refused because its page was larger than 4 MiB",
        this::metricBodiesTooLarge);
    containerMemory.register(metrics);
  }

  @Override
  public void close() {
    List<Thread> running;
    synchronized (this) {
      if (isClosed()) {
        return;
      }
      closed.countDown();
      running = List.copyOf(threads);
    }
    synchronized (sinkLock) {
      stopped = true;
    }
    if (sampler != null) {
      sampler.abort();
    }
    long deadline = System.nanoTime() + THREAD_EXIT_WAIT.toNanos();
    for (Thread thread : running) {
      if (thread == Thread.currentThread()) {
        continue;
      }
      try {
        thread.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
      if (thread.isAlive()) {
        log.warn("{} did not stop within {}", thread.getName(), THREAD_EXIT_WAIT);
      }
    }
  }

  // ---- the state dir -------------------------------------------------------------------------

  private void pollUntilClosed() {
    Backoff backoff = new Backoff(firstRetry, longestRetry);
    try {
      while (!isClosed()) {
        Duration wait = pollInterval;
        try {
          if (pollOnce()) {
            backoff.reset();
          } else {
            wait = longer(pollInterval, backoff.next());
          }
        } catch (RuntimeException e) {
          String sentence = "polling " + root + " failed: " + e + "; retrying";
          statePart = new Part(State.FAILED, sentence);
          lastWarning = sentence;
          log.warn("polling {} failed; retrying", root, e);
          wait = longer(pollInterval, backoff.next());
        }
        if (closed.await(wait.toNanos(), TimeUnit.NANOSECONDS)) {
          break;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Error e) {
      statePart = new Part(State.FAILED, "the runsc poller stopped: " + e);
      log.error("the runsc poller stopped", e);
      throw e;
    }
  }

  /** One poll; false when the root dir could not be listed (retry with backoff). */
  private boolean pollOnce() {
    polls.incrementAndGet();
    StateDirectory.Listing listing = directory.poll();
    Instant now = clock.instant();
    if (listing instanceof StateDirectory.Unreadable unreadable) {
      // Keep checking the sentries already known: their pids do not need the dir.
      deliver(tracker.update(now, lastFiles));
      statePart = warnOnce(unreadable.sentence());
      return false;
    }
    List<String> problems = new ArrayList<>();
    String liveDetail;
    if (listing instanceof StateDirectory.Listed listed) {
      filesParsed.addAndGet(listed.parsed());
      parseRetries.addAndGet(listed.retries());
      filesRefused.addAndGet(listed.refused());
      lastFiles = listed.files();
      listed.problem().ifPresent(problems::add);
      liveDetail = "watching " + root;
    } else {
      lastFiles = List.of();
      liveDetail = missingDetail();
    }
    SandboxTracker.Update update = tracker.update(now, lastFiles);
    deliver(update);
    if (!update.procProblems().isEmpty()) {
      problems.add("cannot tell whether sentries run: " + update.procProblems().get(0)
          + "; mount the host's /proc read-only (no hidepid) and pass it with --proc-root");
    }
    if (!problems.isEmpty()) {
      statePart = warnOnce(String.join("; ", problems));
      return true;
    }
    if (lastWarning != null) {
      log.info("runsc source recovered: {}", liveDetail);
      lastWarning = null;
    }
    String detail = liveDetail;
    if (listing instanceof StateDirectory.Listed) {
      int live = tracker.snapshot().live().size();
      detail += " (" + live + (live == 1 ? " live sandbox)" : " live sandboxes)");
    }
    if (!update.limitProblems().isEmpty()) {
      detail += "; memory limits not checked: " + update.limitProblems().get(0);
    }
    statePart = new Part(State.LIVE, detail);
    return true;
  }

  private void deliver(SandboxTracker.Update update) {
    sandboxesSeen.addAndGet(update.newSandboxes());
    update.observations().forEach(this::emit);
  }

  private String missingDetail() {
    Path parent = root.toAbsolutePath().getParent();
    String detail = "no sandboxes yet: " + root + " does not exist";
    if (parent != null && !Files.isDirectory(parent)) {
      detail += " (nor does " + parent + "; if gVisor pods run on this node, mount the host's "
          + parent + " into the agent)";
    }
    return detail;
  }

  private Part warnOnce(String sentence) {
    if (!sentence.equals(lastWarning)) {
      log.warn("{}", sentence);
      lastWarning = sentence;
    } else {
      log.debug("{} (still)", sentence);
    }
    return new Part(State.FAILED, sentence);
  }

  private static String advice(Path root) {
    return "runsc keeps its state files readable by root only (mode 0640): run the agent as root, or"
        + " with CAP_DAC_READ_SEARCH, with the host's " + root + " mounted read-only (hostPath), or"
        + " point --runsc-root at runsc's root dir";
  }

  // ---- the metric server ---------------------------------------------------------------------

  private void scrapeUntilClosed() {
    Backoff backoff = new Backoff(longer(metricsInterval, firstRetry), longestRetry);
    boolean warned = false;
    try {
      while (!isClosed()) {
        Duration wait = metricsInterval;
        try {
          Optional<String> problem = scraper.scrape(clock.instant(), this::knownSandbox, ledger,
              this::emit);
          if (problem.isEmpty()) {
            metricScrapes.incrementAndGet();
            backoff.reset();
            if (warned) {
              log.info("scraping {} again", scraper.url());
              warned = false;
            }
            metricsPart = new Part(State.LIVE, "scraping " + scraper.url());
          } else {
            metricScrapeFailures.incrementAndGet();
            if (!warned) {
              log.warn("{}", problem.get());
              warned = true;
            } else {
              log.debug("{} (still)", problem.get());
            }
            metricsPart = new Part(State.FAILED, problem.get());
            wait = longer(metricsInterval, backoff.next());
          }
        } catch (RuntimeException e) {
          metricScrapeFailures.incrementAndGet();
          metricsPart = new Part(State.FAILED, "scraping " + scraper.url() + " failed: " + e);
          log.warn("scraping {} failed", scraper.url(), e);
          wait = longer(metricsInterval, backoff.next());
        }
        if (closed.await(wait.toNanos(), TimeUnit.NANOSECONDS)) {
          break;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private Optional<SandboxRef> knownSandbox(String sandboxId) {
    return Optional.ofNullable(tracker.snapshot().known().get(sandboxId));
  }

  // ---- runsc events --stats ------------------------------------------------------------------

  private void sampleUntilClosed() {
    try {
      while (!closed.await(statsInterval.toNanos(), TimeUnit.NANOSECONDS)) {
        List<SandboxTracker.LiveSandbox> live = tracker.snapshot().live();
        if (live.isEmpty()) {
          containerMemory.roundDone();
          continue;
        }
        Map<String, SandboxRef> sandboxes = new HashMap<>();
        live.forEach(sandbox -> sandboxes.put(sandbox.ref().sandboxId(), sandbox.ref()));
        try {
          RunscStatsSampler.Round round = sampler.sample(clock::instant, live, this::sentryRuns, observation -> {
            if (observation instanceof ContainerMemorySample sample) {
              SandboxRef sandbox = sandboxes.get(sample.sandboxId());
              if (sandbox != null && sandbox.podName() != null) {
                containerMemory.sampled(sandbox, sample);
              }
            }
            emit(observation);
          });
          memorySampleFailures.addAndGet(round.failures());
          statsPart = round.problem()
              .map(problem -> new Part(State.FAILED, problem))
              .orElse(new Part(State.LIVE, "runsc events --stats every " + statsInterval.toSeconds()
                  + " s"));
          round.problem().ifPresent(problem -> log.debug("{}", problem));
        } catch (RuntimeException e) {
          statsPart = new Part(State.FAILED, "sampling container memory failed: " + e);
          log.warn("sampling container memory with runsc events failed", e);
        } finally {
          containerMemory.roundDone();
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Whether the sandbox's sentry still runs (not just whether the last poll saw it run). */
  private boolean sentryRuns(SandboxRef ref) {
    if (!hostPids.visible()) {
      return knownSandbox(ref.sandboxId()).isPresent(); // its state files are the only witness
    }
    return ref.sentryPid().isPresent()
        && processes.probe(ref.sentryPid().getAsLong()) instanceof ProcessProbe.Running;
  }

  // ---- shared --------------------------------------------------------------------------------

  private void emit(Observation observation) {
    synchronized (sinkLock) {
      if (stopped || sink == null) {
        return;
      }
      if (observation instanceof SandboxDied) {
        deathsSeen.incrementAndGet();
      } else if (observation instanceof SandboxUnlimited) {
        unlimitedSeen.incrementAndGet();
      } else if (observation instanceof ContainerMemorySample) {
        memorySamples.incrementAndGet();
      }
      try {
        sink.accept(observation);
      } catch (RuntimeException e) {
        log.warn("the sink failed on {}", observation, e);
      }
    }
  }

  private boolean isClosed() {
    return closed.getCount() == 0;
  }

  private static Duration longer(Duration a, Duration b) {
    return a.compareTo(b) >= 0 ? a : b;
  }

  /** The health of one part of the source. */
  private record Part(State state, String detail) {}

  /**
   * Options of a {@link RunscStateSource}; {@link #build()} validates them. Not thread-safe (use from
   * one thread).
   */
  public static final class Builder {
    private Path root = DEFAULT_ROOT;
    private Duration pollInterval = DEFAULT_POLL_INTERVAL;
    private Path procRoot = Path.of("/proc");
    private Path cgroupRoot = Path.of("/sys/fs/cgroup");
    private Function<String, Optional<String>> podCgroup = uid -> Optional.empty();
    private Function<String, OptionalLong> podMemoryLimit = uid -> OptionalLong.empty();
    private Optional<URI> metricsUrl = Optional.empty();
    private Duration metricsInterval = DEFAULT_METRICS_INTERVAL;
    private String exporterPrefix = DEFAULT_EXPORTER_PREFIX;
    private Optional<Path> runscBinary = Optional.empty();
    private Duration statsInterval = DEFAULT_STATS_INTERVAL;
    private boolean sampleEverySandbox;
    private Duration timeout = DEFAULT_TIMEOUT;
    private Clock clock = Clock.systemUTC();
    private Duration firstRetry = FIRST_RETRY;
    private Duration longestRetry = LONGEST_RETRY;

    private Builder() {}

    /** runsc's {@code --root}; default {@link #DEFAULT_ROOT}. */
    public Builder runscRoot(Path dir) {
      this.root = Objects.requireNonNull(dir, "runscRoot");
      return this;
    }

    /** How often the root dir and the sentries are checked; default 1 s. */
    public Builder pollInterval(Duration interval) {
      this.pollInterval = Objects.requireNonNull(interval, "pollInterval");
      return this;
    }

    /**
     * The host's proc filesystem as the agent sees it; default {@code /proc}, which in a container is
     * its own (the chart mounts the host's at {@code /host/proc}). Checked with {@link HostPidView}.
     */
    public Builder procRoot(Path dir) {
      this.procRoot = Objects.requireNonNull(dir, "procRoot");
      return this;
    }

    /** Where the host's cgroup filesystems are mounted; default {@code /sys/fs/cgroup}. */
    public Builder cgroupRoot(Path dir) {
      this.cgroupRoot = Objects.requireNonNull(dir, "cgroupRoot");
      return this;
    }

    /**
     * Pod uid to the pod's cgroup path (e.g. {@code /kubepods/burstable/pod<uid>}), for the
     * {@code expectedCgroup} of a {@link SandboxUnlimited} (empty string when not known). Called on
     * the poller thread; must be fast and thread-safe.
     */
    public Builder podCgroup(Function<String, Optional<String>> lookup) {
      this.podCgroup = Objects.requireNonNull(lookup, "podCgroup");
      return this;
    }

    /**
     * Pod uid to the pod's declared memory limit (empty when it has none, or is not known yet).
     * Sandboxes are checked for a memory limit only while this gives one; by default it never does,
     * and no {@link SandboxUnlimited} is reported. Called on the poller thread; must be fast and
     * thread-safe.
     */
    public Builder podMemoryLimit(Function<String, OptionalLong> lookup) {
      this.podMemoryLimit = Objects.requireNonNull(lookup, "podMemoryLimit");
      return this;
    }

    /** The runsc metric server's {@code /metrics} URL (http or https); default none. */
    public Builder metricsUrl(Optional<URI> url) {
      this.metricsUrl = Objects.requireNonNull(url, "metricsUrl");
      return this;
    }

    /** {@link #metricsUrl(Optional)} with a URL. */
    public Builder metricsUrl(URI url) {
      return metricsUrl(Optional.of(url));
    }

    /** How often the metric server is scraped; default 5 s. */
    public Builder metricsInterval(Duration interval) {
      this.metricsInterval = Objects.requireNonNull(interval, "metricsInterval");
      return this;
    }

    /** The metric server's {@code --exporter-prefix}; default {@code runsc_}. */
    public Builder exporterPrefix(String prefix) {
      this.exporterPrefix = Objects.requireNonNull(prefix, "exporterPrefix");
      return this;
    }

    /** A runsc binary to run {@code runsc events --stats} with; default none (no sampling). */
    public Builder runscBinary(Optional<Path> binary) {
      this.runscBinary = Objects.requireNonNull(binary, "runscBinary");
      return this;
    }

    /** {@link #runscBinary(Optional)} with a binary. */
    public Builder runscBinary(Path binary) {
      return runscBinary(Optional.of(binary));
    }

    /** How often container memory is sampled; default 10 s. */
    public Builder statsInterval(Duration interval) {
      this.statsInterval = Objects.requireNonNull(interval, "statsInterval");
      return this;
    }

    /**
     * Whether every live sandbox is sampled, also one with a single container (sampled through its
     * sandbox id when it has no app container of its own, as in the lab). Default false: only
     * sandboxes with two or more app containers, whose culprit needs naming, since each
     * {@code runsc events} run costs about 10 ms of CPU.
     */
    public Builder sampleEverySandbox(boolean every) {
      this.sampleEverySandbox = every;
      return this;
    }

    /** The deadline of each scrape and each {@code runsc events} run; default 5 s. */
    public Builder timeout(Duration timeout) {
      this.timeout = Objects.requireNonNull(timeout, "timeout");
      return this;
    }

    /** The clock of the observations' timestamps; default the system clock. */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /** Retry delays after a failed poll or scrape; for tests. */
    Builder retryBackoff(Duration first, Duration longest) {
      this.firstRetry = first;
      this.longestRetry = longest;
      return this;
    }

    /** @throws IllegalArgumentException naming the first bad option */
    public RunscStateSource build() {
      positive("pollInterval", pollInterval);
      positive("metricsInterval", metricsInterval);
      positive("statsInterval", statsInterval);
      positive("timeout", timeout);
      metricsUrl.ifPresent(url -> {
        String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https") || url.getHost() == null) {
          throw new IllegalArgumentException("the runsc metric server URL must be http://host:port/"
              + "metrics, not " + url);
        }
      });
      return new RunscStateSource(this);
    }

    private static void positive(String name, Duration duration) {
      if (duration.isNegative() || duration.isZero()) {
        throw new IllegalArgumentException(name + " must be positive, not " + duration);
      }
    }
  }
}
