package dev.oomwatch.fuzz;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

/**
 * The fuzz harness: how many inputs each parser family gets, the seed of every input, a watchdog that
 * turns a hang into a failure, and failure reports that can be replayed.
 *
 * <p><b>Size.</b> The system property {@code fuzz.inputs} is the total number of inputs over all
 * families together; each family gets a fixed share of it ({@link #SHARES}). Without the property the
 * normal test suite runs {@link #DEFAULT_TOTAL} inputs in all; {@code mvn -Pfuzz test} sets it to
 * 1,000,000. An input is one generated value (a record, a file's content, a JSON document, a pod pair,
 * a configuration) handed to the parser's entry points; for the kmsg assembler, one record fed.
 *
 * <p><b>Determinism.</b> Input {@code i} of a family is generated from its own
 * {@link SplittableRandom} seeded with {@link #seedOf}, a function of {@code fuzz.seed} (default
 * {@link #DEFAULT_SEED}), the family and {@code i} only. A failure report gives that seed; run again
 * with {@code -Dfuzz.replay=<family>:<seed>} to generate and check exactly that input (the other
 * families then run nothing).
 *
 * <p><b>Hangs.</b> Inputs run on a worker thread; if one input takes longer than
 * {@code fuzz.hangSeconds} (default 60 s; a generous bound, not a speed requirement: the slowest input
 * here takes milliseconds), the family fails with the input, its seed and the worker's stack.
 *
 * <p>{@code -Dfuzz.slowMillis=N} prints every input that took longer than N ms (with its seed), to
 * find what makes a family slow.
 *
 * <p><b>Failures.</b> Every input runs even after a failure; distinct failures (by exception type,
 * first frame in the project's code and assertion text) are reported together at the end, up to
 * {@link #MAX_REPORTED}, each with its seed, the input escaped and cut to {@link #SHOWN_CHARS}
 * characters, and the whole input written to {@code <build dir>/fuzz-failures/}.
 */
public final class Fuzz {

  /** Inputs in all families together when {@code fuzz.inputs} is not set: the normal suite's slice. */
  public static final long DEFAULT_TOTAL = 25_000;
  public static final long DEFAULT_SEED = 0x6F6F6D7761746368L; // "oomwatch"
  static final int MAX_REPORTED = 8;
  static final int SHOWN_CHARS = 1_500;
  /** The family of the harness's own tests: its deliberate failures leave no files. */
  static final String SELFTEST = "selftest";

  /** Each family's share of {@code fuzz.inputs}; the shares add up to 1. */
  public static final Map<String, Double> SHARES = shares();

  private static Map<String, Double> shares() {
    Map<String, Double> shares = new LinkedHashMap<>();
    shares.put("kmsg.parser", 0.20);
    shares.put("kmsg.assembler", 0.15);
    shares.put("kmsg.reportText", 0.05);
    shares.put("cgroup.files", 0.15);
    shares.put("cgroup.snapshot", 0.01);
    shares.put("runsc.stateFile", 0.10);
    shares.put("runsc.prometheus", 0.10);
    shares.put("runsc.eventsStats", 0.05);
    shares.put("runsc.procFiles", 0.04);
    shares.put("pods.containerExits", 0.08);
    shares.put("pods.json", 0.05);
    shares.put("pods.memoryLimits", 0.01);
    shares.put("config", 0.01);
    // API objects as the informers and the reconciler get them (issue 9) take a fifth; the families
    // above share the rest in the same proportions
    shares.replaceAll((family, share) -> share * 0.8);
    shares.put("api.pods", 0.05);
    shares.put("api.events", 0.10);
    shares.put("api.incidents", 0.03);
    shares.put("api.reconcile", 0.02);
    double sum = shares.values().stream().mapToDouble(Double::doubleValue).sum();
    if (Math.abs(sum - 1) > 1e-9) {
      throw new IllegalStateException("fuzz shares add up to " + sum);
    }
    return Map.copyOf(shares);
  }

  private Fuzz() {}

  /** Produces input {@code i} from a random source seeded for it alone. */
  @FunctionalInterface
  public interface Generator<T> {
    T generate(SplittableRandom random) throws Exception;
  }

  /** Checks one input; throws (an {@link AssertionError} or whatever the code under test threw) if not. */
  @FunctionalInterface
  public interface Property<T> {
    void check(T input) throws Throwable;
  }

  /** How the family's work went, for the summary line. */
  public record Summary(String family, long inputs, long seconds100) {}

  public static long totalInputs() {
    return Long.getLong("fuzz.inputs", DEFAULT_TOTAL);
  }

  public static long baseSeed() {
    String seed = System.getProperty("fuzz.seed");
    return seed == null || seed.isBlank() ? DEFAULT_SEED : Long.decode(seed.trim());
  }

  /** The number of inputs {@code family} runs: its share of {@code fuzz.inputs}, at least 1. */
  public static long inputsFor(String family) {
    Double share = SHARES.get(family);
    if (share == null) {
      throw new IllegalArgumentException("unknown fuzz family " + family);
    }
    return Math.max(1, Math.round(totalInputs() * share));
  }

  /** The seed of input {@code index} of {@code family}. */
  public static long seedOf(String family, long index) {
    return mix(baseSeed() ^ mix(family.hashCode() * 0x9E3779B97F4A7C15L) + index * 0xBF58476D1CE4E5B9L);
  }

  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /**
   * Runs {@link #inputsFor family} inputs (or only the one of {@code -Dfuzz.replay=family:seed}),
   * each generated by {@code generator} and checked by {@code property}, under the watchdog; fails
   * with every distinct failure at the end. {@code weight} says how many inputs one generated value
   * counts for (1, or the number of records of a kmsg sequence), so that the family stops near its
   * share.
   *
   * @return how many inputs ran
   */
  public static <T> long run(String family, Generator<T> generator, Function<T, String> describe,
      Function<T, Integer> weight, Property<T> property) {
    return run(family, inputsFor(family), generator, describe, weight, property);
  }

  /** {@link #run(String, Generator, Function, Function, Property)} with a budget of its own. */
  static <T> long run(String family, long budget, Generator<T> generator, Function<T, String> describe,
      Function<T, Integer> weight, Property<T> property) {
    List<Long> seeds = replaySeeds(family);
    if (seeds != null && seeds.isEmpty()) {
      return 0;
    }
    Worker<T> worker = new Worker<>(family, budget, seeds, generator, describe, weight, property);
    long hangNanos = (long) (Double.parseDouble(System.getProperty("fuzz.hangSeconds", "60")) * 1e9);
    long started = System.nanoTime();
    Thread thread = new Thread(worker, "fuzz-" + family);
    thread.setDaemon(true);
    thread.start();
    try {
      while (thread.isAlive()) {
        thread.join(100);
        long inputStarted = worker.inputStartedNanos;
        if (thread.isAlive() && inputStarted != 0 && System.nanoTime() - inputStarted > hangNanos) {
          StackTraceElement[] stack = thread.getStackTrace();
          Current current = worker.current.get();
          @SuppressWarnings("unchecked")
          String description = worker.safeDescribe((T) current.raw);
          thread.interrupt();
          Throwable hang = new AssertionError("input did not finish within "
              + System.getProperty("fuzz.hangSeconds", "60") + " s (hang); the worker was at:");
          hang.setStackTrace(stack);
          worker.failures.record(family, current.seed, description, current.raw, hang);
          throw new AssertionError(worker.failures.report(family, worker.done));
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
    double seconds = (System.nanoTime() - started) / 1e9;
    System.out.printf(Locale.ROOT, "fuzz %-20s %,10d inputs (%,d generated cases) in %6.1f s, seed %s%n",
        family, worker.done, worker.values, seconds,
        seeds == null ? "0x" + Long.toHexString(baseSeed()) : "replay " + seeds);
    if (worker.harnessError != null) {
      throw new AssertionError("the fuzz harness itself failed", worker.harnessError);
    }
    if (!worker.failures.isEmpty()) {
      throw new AssertionError(worker.failures.report(family, worker.done));
    }
    return worker.done;
  }

  /** Null: run normally; empty: another family is replayed, run nothing; else the seeds to replay. */
  private static List<Long> replaySeeds(String family) {
    String replay = System.getProperty("fuzz.replay");
    if (replay == null || replay.isBlank()) {
      return null;
    }
    List<Long> seeds = new ArrayList<>();
    for (String item : replay.split(",")) {
      int colon = item.lastIndexOf(':');
      if (colon > 0 && item.substring(0, colon).trim().equals(family)) {
        seeds.add(Long.decode(item.substring(colon + 1).trim()));
      }
    }
    return seeds;
  }

  private record Current(long seed, Object raw) {}

  private static final class Worker<T> implements Runnable {
    final String family;
    final long budget;
    final List<Long> seeds;
    final Generator<T> generator;
    final Function<T, String> describe;
    final Function<T, Integer> weight;
    final Property<T> property;
    final Failures failures = new Failures();
    final long slowNanos = Long.getLong("fuzz.slowMillis", 0) * 1_000_000;
    final AtomicReference<Current> current = new AtomicReference<>(new Current(0, null));
    volatile long inputStartedNanos;
    volatile long done;
    volatile long values;
    volatile Throwable harnessError;

    Worker(String family, long budget, List<Long> seeds, Generator<T> generator,
        Function<T, String> describe, Function<T, Integer> weight, Property<T> property) {
      this.family = family;
      this.budget = budget;
      this.seeds = seeds;
      this.generator = generator;
      this.describe = describe;
      this.weight = weight;
      this.property = property;
    }

    @Override
    public void run() {
      try {
        long index = 0;
        while (seeds == null ? done < budget : index < seeds.size()) {
          if (Thread.currentThread().isInterrupted()) {
            return;
          }
          long seed = seeds == null ? seedOf(family, index) : seeds.get((int) index);
          index++;
          current.set(new Current(seed, null));
          inputStartedNanos = System.nanoTime();
          T input;
          try {
            input = generator.generate(new SplittableRandom(seed));
          } catch (Exception | StackOverflowError e) {
            // a bug of the fuzz test itself: reported like a failure, and the other inputs still run
            failures.record(family, seed, "(the generator failed)", null,
                new IllegalStateException("the fuzz test's generator failed for seed " + seed, e));
            inputStartedNanos = 0;
            continue;
          }
          current.set(new Current(seed, input));
          try {
            property.check(input);
          } catch (Throwable e) {
            if (e instanceof VirtualMachineError && !(e instanceof StackOverflowError)
                && !(e instanceof OutOfMemoryError)) {
              throw (VirtualMachineError) e;
            }
            failures.record(family, seed, safeDescribe(input), input, e);
          }
          long took = System.nanoTime() - inputStartedNanos;
          inputStartedNanos = 0;
          if (slowNanos > 0 && took > slowNanos) {
            System.out.printf(Locale.ROOT, "fuzz %s: slow input, %d ms, seed %d: %s%n", family, took / 1_000_000,
                seed, Escape.text(safeDescribe(input), 200));
          }
          done += Math.max(1, weight.apply(input));
          values++;
        }
      } catch (Throwable e) {
        harnessError = e;
      }
    }

    String safeDescribe(T input) {
      if (input == null) {
        return "(still generating the input)";
      }
      try {
        return describe.apply(input);
      } catch (RuntimeException e) {
        return "(could not describe the input: " + e + ")";
      }
    }
  }

  /** The failures of one family, grouped by signature. */
  static final class Failures {
    private final Map<String, List<String>> reports = new LinkedHashMap<>();
    private final Map<String, Long> counts = new LinkedHashMap<>();
    private long total;

    synchronized void record(String family, long seed, String description, Object raw, Throwable e) {
      total++;
      String signature = signature(e);
      counts.merge(signature, 1L, Long::sum);
      if (reports.containsKey(signature) || reports.size() >= MAX_REPORTED) {
        return;
      }
      String shown = description != null ? description : Escape.of(raw, SHOWN_CHARS);
      String file = saveInput(family, seed, raw);
      StringBuilder report = new StringBuilder();
      report.append("seed ").append(seed).append(" (replay: -Dfuzz.replay=").append(family).append(':')
          .append(seed).append(")\n");
      report.append("input: ").append(cut(shown)).append('\n');
      if (file != null) {
        report.append("whole input: ").append(file).append('\n');
      }
      report.append(stack(e));
      reports.put(signature, List.of(report.toString()));
    }

    synchronized boolean isEmpty() {
      return total == 0;
    }

    /** The report, also written to {@code <build dir>/fuzz-failures/<family>-report.txt}. */
    synchronized String report(String family, long inputs) {
      String report = reportText(family, inputs);
      if (family.equals(SELFTEST)) {
        return report;
      }
      try {
        Path dir = buildDir().resolve("fuzz-failures");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(family + "-report.txt"), report, StandardCharsets.UTF_8);
      } catch (IOException | RuntimeException e) {
        // the report still goes to the test output
      }
      return report;
    }

    private String reportText(String family, long inputs) {
      StringBuilder text = new StringBuilder();
      text.append("fuzz family ").append(family).append(": ").append(total).append(" of ").append(inputs)
          .append(" inputs failed, ").append(counts.size()).append(" distinct failure(s)\n");
      int n = 0;
      for (Map.Entry<String, List<String>> entry : reports.entrySet()) {
        text.append("\n--- failure ").append(++n).append(" (").append(counts.get(entry.getKey()))
            .append(" inputs): ").append(entry.getKey()).append('\n').append(entry.getValue().get(0));
      }
      if (counts.size() > reports.size()) {
        text.append("\n(").append(counts.size() - reports.size()).append(" more distinct failures not shown)\n");
      }
      return text.toString();
    }

    private static String cut(String shown) {
      return shown.length() <= SHOWN_CHARS ? shown
          : shown.substring(0, SHOWN_CHARS) + "... (" + shown.length() + " characters in all)";
    }

    /** Exception type, first frame in the project's main code, and the assertion's first words. */
    static String signature(Throwable e) {
      String where = "";
      for (StackTraceElement frame : e.getStackTrace()) {
        if (frame.getClassName().startsWith("dev.oomwatch.") && !frame.getClassName().startsWith("dev.oomwatch.fuzz.")
            && !frame.getClassName().endsWith("FuzzTest")) {
          where = frame.getClassName() + "." + frame.getMethodName() + ":" + frame.getLineNumber();
          break;
        }
      }
      String what = e.getClass().getName();
      if (e instanceof AssertionError && e.getMessage() != null) {
        // the assertion's words, without the values it quotes
        String message = e.getMessage().replaceAll("-?[0-9]+", "N");
        int cut = message.indexOf(':');
        what += " " + message.substring(0, Math.min(cut > 0 ? cut : message.length(), 80));
      }
      if (e.getStackTrace().length == 0) {
        // HotSpot throws preallocated NullPointerExceptions (and a few others) without a stack once a
        // site has thrown often: -XX:-OmitStackTraceInFastThrow, as the fuzz profile sets, keeps them
        return what + " (stack trace omitted by the JVM: run with -DargLine=-XX:-OmitStackTraceInFastThrow)";
      }
      return what + (where.isEmpty() ? "" : " at " + where);
    }

    private static String stack(Throwable e) {
      StringBuilder text = new StringBuilder();
      Throwable t = e;
      for (int depth = 0; t != null && depth < 3; depth++, t = t.getCause()) {
        text.append(depth == 0 ? "" : "caused by: ").append(t.getClass().getName()).append(": ")
            .append(cutMessage(t.getMessage())).append('\n');
        StackTraceElement[] frames = t.getStackTrace();
        for (int i = 0; i < Math.min(frames.length, 25); i++) {
          text.append("\tat ").append(frames[i]).append('\n');
        }
        if (frames.length > 25) {
          text.append("\t... ").append(frames.length - 25).append(" more\n");
        }
      }
      return text.toString();
    }

    private static String cutMessage(String message) {
      if (message == null) {
        return "";
      }
      return Escape.message(message, 2_000);
    }
  }

  /** Writes the whole failing input next to the build's other output; returns where, or null. */
  static String saveInput(String family, long seed, Object raw) {
    if (family.equals(SELFTEST)) {
      return null;
    }
    try {
      Path dir = buildDir().resolve("fuzz-failures");
      Files.createDirectories(dir);
      Path file = dir.resolve(family + "-" + seed + ".txt");
      byte[] bytes = raw instanceof byte[] b ? b : String.valueOf(Escape.describe(raw))
          .getBytes(StandardCharsets.UTF_8);
      Files.write(file, bytes);
      return file.toString();
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /** The Maven build directory these test classes were compiled into ({@code target*}). */
  static Path buildDir() {
    try {
      Path classes = Path.of(Fuzz.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      return classes.getParent();
    } catch (URISyntaxException | RuntimeException e) {
      return Path.of(System.getProperty("java.io.tmpdir"));
    }
  }
}
