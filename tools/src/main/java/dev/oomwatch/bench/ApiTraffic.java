package dev.oomwatch.bench;

import dev.oomwatch.support.DaemonThreads;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.net.URI;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counts the requests the API stand-in receives, per bearer token and per call ({@code verb resource},
 * as RBAC names them: {@code watch pods}, {@code create events}, {@code patch pods/status}...). Each
 * agent the bench starts gets a kubeconfig with a token of its own, and the bench's own client uses
 * another, so every count belongs to exactly one agent. A daemon thread takes the requests off the
 * stand-in's queue as they arrive (the stand-in keeps every request until taken). A watch is counted
 * once, when it is opened. Thread-safe.
 */
final class ApiTraffic implements AutoCloseable {
  /** How a request counts. */
  enum Kind { READ, WRITE, WATCH, OTHER }

  private final KubernetesMockServer server;
  private final Map<String, Map<String, LongAdder>> byToken = new ConcurrentHashMap<>();
  private final Thread drainer;
  private volatile boolean closing;

  ApiTraffic(KubernetesMockServer server) {
    this.server = server;
    this.drainer = DaemonThreads.thread("bench-api-requests", this::drain);
    drainer.start();
  }

  private void drain() {
    while (!closing) {
      RecordedRequest request;
      try {
        request = server.takeRequest(100, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        return;
      }
      if (request == null) {
        continue;
      }
      String authorization = String.valueOf(request.getHeader("Authorization"));
      String token = authorization.startsWith("Bearer ") ? authorization.substring(7) : "(none)";
      byToken.computeIfAbsent(token, t -> new ConcurrentHashMap<>())
          .computeIfAbsent(call(request.getMethod(), request.getPath()), c -> new LongAdder())
          .increment();
    }
  }

  /** The counts so far of requests made with {@code token}, by call. */
  Snapshot snapshot(String token) {
    Map<String, Long> counts = new TreeMap<>();
    byToken.getOrDefault(token, Map.of()).forEach((call, count) -> counts.put(call, count.sum()));
    return new Snapshot(counts);
  }

  /** Counts of requests by call at one moment; subtract two to get a window's. Immutable. */
  record Snapshot(Map<String, Long> byCall) {
    Snapshot minus(Snapshot earlier) {
      Map<String, Long> window = new TreeMap<>();
      byCall.forEach((call, count) -> {
        long n = count - earlier.byCall.getOrDefault(call, 0L);
        if (n > 0) {
          window.put(call, n);
        }
      });
      return new Snapshot(window);
    }

    long count(Kind kind) {
      return byCall.entrySet().stream().filter(e -> kindOf(e.getKey()) == kind).mapToLong(Map.Entry::getValue).sum();
    }

    long count(String call) {
      return byCall.getOrDefault(call, 0L);
    }

    long total() {
      return byCall.values().stream().mapToLong(Long::longValue).sum();
    }
  }

  static Kind kindOf(String call) {
    String verb = call.substring(0, call.indexOf(' '));
    return switch (verb) {
      case "get", "list" -> Kind.READ;
      case "watch" -> Kind.WATCH;
      case "create", "update", "patch", "delete", "deletecollection" -> Kind.WRITE;
      default -> Kind.OTHER;
    };
  }

  /**
   * {@code verb resource} of a request, by the API server's request-info rules: GET of an item is
   * {@code get}, of a collection {@code list}, with {@code watch=true} {@code watch}; POST {@code create};
   * PUT {@code update}; PATCH {@code patch}; DELETE {@code delete} (or {@code deletecollection}).
   * Anything outside {@code /api/v1} and {@code /apis/<group>/<version>} is {@code other <path>}.
   */
  static String call(String method, String pathAndQuery) {
    URI uri = URI.create(pathAndQuery);
    List<String> segments = Arrays.stream(uri.getPath().split("/")).filter(s -> !s.isEmpty()).toList();
    List<String> rest;
    if (segments.size() >= 3 && segments.get(0).equals("api")) {
      rest = segments.subList(2, segments.size());
    } else if (segments.size() >= 4 && segments.get(0).equals("apis")) {
      rest = segments.subList(3, segments.size());
    } else {
      return "other " + uri.getPath();
    }
    if (rest.size() >= 3 && rest.get(0).equals("namespaces")) {
      rest = rest.subList(2, rest.size());
    }
    String resource = rest.get(0) + (rest.size() >= 3 ? "/" + rest.get(2) : "");
    boolean item = rest.size() >= 2;
    String query = uri.getQuery() == null ? "" : uri.getQuery();
    boolean watch = Arrays.stream(query.split("&")).anyMatch(p -> p.equals("watch=true") || p.equals("watch=1"));
    String verb = switch (method.toUpperCase(Locale.ROOT)) {
      case "GET", "HEAD" -> watch ? "watch" : item ? "get" : "list";
      case "POST" -> "create";
      case "PUT" -> "update";
      case "PATCH" -> "patch";
      case "DELETE" -> item ? "delete" : "deletecollection";
      default -> "other";
    };
    return verb + " " + resource;
  }

  @Override
  public void close() throws InterruptedException {
    closing = true;
    drainer.join(2000);
  }
}
