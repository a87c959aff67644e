package dev.oomwatch.chart;

import java.net.URI;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * One request to the Kubernetes API as RBAC sees it: verb, API group, resource (with its subresource,
 * as {@code pods/status}), following the API server's request-info rules — GET of an item is
 * {@code get}, of a collection {@code list}, with {@code watch=true} {@code watch}; POST {@code create};
 * PUT {@code update}; PATCH {@code patch}; DELETE of an item {@code delete}, of a collection
 * {@code deletecollection}. Paths outside {@code /api/v1} and {@code /apis/<group>/<version>} resources
 * (discovery, {@code /version}) are non-resource requests. Immutable.
 */
record ApiCall(String verb, String apiGroup, String resource) {
  /** An RBAC permission rendered as {@code verb group/resource} ({@code core} for the "" group). */
  @Override
  public String toString() {
    return verb + " " + (apiGroup.isEmpty() ? "core" : apiGroup) + "/" + resource;
  }

  /** The call {@code method path} makes, or empty for a non-resource request. */
  static Optional<ApiCall> of(String method, String pathAndQuery) {
    URI uri = URI.create(pathAndQuery);
    List<String> segments = Arrays.stream(uri.getPath().split("/")).filter(s -> !s.isEmpty()).toList();
    String group;
    List<String> rest;
    if (segments.size() >= 3 && segments.get(0).equals("api")) {
      group = "";
      rest = segments.subList(2, segments.size());
    } else if (segments.size() >= 4 && segments.get(0).equals("apis")) {
      group = segments.get(1);
      rest = segments.subList(3, segments.size());
    } else {
      return Optional.empty();
    }
    // namespaces/<ns>/<resource>... is a namespaced resource; namespaces[/<name>] is the namespaces resource
    if (rest.size() >= 3 && rest.get(0).equals("namespaces")) {
      rest = rest.subList(2, rest.size());
    }
    String resource = rest.get(0);
    boolean item = rest.size() >= 2;
    if (rest.size() >= 3) {
      resource = resource + "/" + rest.get(2);
    }
    String query = uri.getQuery() == null ? "" : uri.getQuery();
    boolean watch = Arrays.asList(query.split("&")).stream()
        .anyMatch(p -> p.equals("watch=true") || p.equals("watch=1"));
    String verb = switch (method.toUpperCase(Locale.ROOT)) {
      case "GET", "HEAD" -> watch ? "watch" : item ? "get" : "list";
      case "POST" -> "create";
      case "PUT" -> "update";
      case "PATCH" -> "patch";
      case "DELETE" -> item ? "delete" : "deletecollection";
      default -> throw new IllegalArgumentException("unexpected method " + method + " " + pathAndQuery);
    };
    return Optional.of(new ApiCall(verb, group, resource));
  }
}
