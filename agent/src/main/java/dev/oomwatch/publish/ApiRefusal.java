package dev.oomwatch.publish;

import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.net.ConnectException;
import java.time.Duration;
import java.util.Optional;

/**
 * What an API failure means for the write that got it: {@link Kind#PERMANENT} when asking again cannot
 * succeed, {@link Kind#RETRIABLE} when it may. Permanent: 400 (malformed), 403 (RBAC, an admission
 * webhook or policy, or a namespace being terminated: the API server refuses new objects there until it
 * is gone), 404 (the namespace, or the resource type, is gone), 405, 410, 413 (too large), 415 and 422
 * (invalid). Retriable: 401 (credentials are being rotated: fabric8 reloads a service-account token on
 * a 401), 408, 409 (the callers merge or read again), 429 (with the server's {@code retryAfterSeconds}),
 * every 5xx, any other code, and no answer at all (connection refused or reset, timeouts). Immutable.
 *
 * <p>fabric8 7.5 keeps the response's headers to itself: a {@link KubernetesClientException} carries
 * the code and the {@code Status} body, not {@code Retry-After}. The API server puts the same number in
 * the Status ({@code details.retryAfterSeconds}) where it answers with a Status, and that is what is
 * honoured here; without it the caller's own backoff applies.
 */
public record ApiRefusal(Kind kind, int code, String message, Optional<Duration> retryAfter) {
  /** Whether asking again can succeed. */
  public enum Kind { PERMANENT, RETRIABLE }

  /** How the failure is classified; never null. */
  public static ApiRefusal of(KubernetesClientException e) {
    int code = e.getCode();
    Kind kind = isPermanent(code) ? Kind.PERMANENT : Kind.RETRIABLE;
    return new ApiRefusal(kind, code, message(e), retryAfter(e.getStatus()));
  }

  /** The codes that no retry can turn into a success. */
  static boolean isPermanent(int code) {
    return switch (code) {
      case 400, 403, 404, 405, 410, 413, 415, 422 -> true;
      default -> false;
    };
  }

  public boolean permanent() {
    return kind == Kind.PERMANENT;
  }

  /** True when no HTTP answer came: the API server could not even be connected to. */
  public static boolean unreachable(KubernetesClientException e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof ConnectException) {
        return true;
      }
    }
    return false;
  }

  /** {@code HTTP 403: <the API's message>}, or the root cause when there was no answer. */
  public String describe() {
    return code > 0 ? "HTTP " + code + ": " + message : "no answer from the API server: " + message;
  }

  private static String message(KubernetesClientException e) {
    Status status = e.getStatus();
    if (e.getCode() > 0 && status != null && status.getMessage() != null && !status.getMessage().isBlank()) {
      return status.getMessage();
    }
    if (e.getCode() > 0) {
      return String.valueOf(e.getMessage());
    }
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root.toString();
  }

  private static Optional<Duration> retryAfter(Status status) {
    if (status == null || status.getDetails() == null || status.getDetails().getRetryAfterSeconds() == null) {
      return Optional.empty();
    }
    int seconds = status.getDetails().getRetryAfterSeconds();
    return seconds > 0 ? Optional.of(Duration.ofSeconds(seconds)) : Optional.empty();
  }
}
