package dev.oomwatch.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.mockwebserver.http.MockResponse;
import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What a real API server does with a list request and the mock server does not, done by the stand-in
 * after the mock has answered: the field selectors of Events on their own fields (the mock evaluates
 * only {@code metadata.*}), and {@code limit} with {@code continue} (the mock returns everything). So a
 * test sees how much the agent really asks for. As kube-apiserver does:
 *
 * <ul>
 *   <li>Events are selectable by {@code involvedObject.kind}, {@code .namespace}, {@code .name},
 *       {@code .uid}, {@code .apiVersion}, {@code .resourceVersion}, {@code .fieldPath}, {@code reason},
 *       {@code reportingComponent}, {@code source} ({@code source.component}, else
 *       {@code reportingController}) and {@code type}, with {@code =}, {@code ==} and {@code !=}; an
 *       absent field is the empty string; any other field answers 400 ({@code pkg/registry/core/event});
 *   <li>a list is in key order (namespace, name); {@code limit} returns that many items at most, with
 *       {@code metadata.continue} and {@code remainingItemCount} when more are left; {@code continue}
 *       resumes after the last key of the previous page.
 * </ul>
 *
 * Watches are left as they were (the stand-in drops non-metadata field selectors of watches). Stateless
 * and thread-safe.
 */
final class ListSemantics {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern EVENT_COLLECTION = Pattern.compile("^/api/v1(/namespaces/[^/?]+)?/events$");
  private static final Set<String> EVENT_FIELDS = Set.of("involvedObject.kind", "involvedObject.namespace",
      "involvedObject.name", "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
      "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type");

  /** One {@code field=value} (or {@code ==}, {@code !=}) of a field selector. */
  private record Requirement(String field, String value, boolean equal) {
    boolean matches(JsonNode event) {
      return valueOf(event, field).equals(value) == equal;
    }
  }

  private final String pathForMock;
  private final List<Requirement> eventRequirements;
  private final OptionalLong limit;
  private final Optional<String> continueAfter;
  private final Optional<String> refusal;

  private ListSemantics(String pathForMock, List<Requirement> eventRequirements, OptionalLong limit,
      Optional<String> continueAfter, Optional<String> refusal) {
    this.pathForMock = pathForMock;
    this.eventRequirements = eventRequirements;
    this.limit = limit;
    this.continueAfter = continueAfter;
    this.refusal = refusal;
  }

  /**
   * What the stand-in must do for a GET of {@code path} beyond the mock; empty when nothing (not a list
   * with an Event field selector, a limit or a continue).
   */
  static Optional<ListSemantics> of(String path) {
    int q = path.indexOf('?');
    if (q < 0) {
      return Optional.empty();
    }
    String resource = path.substring(0, q);
    List<String> keptParams = new ArrayList<>();
    List<Requirement> requirements = new ArrayList<>();
    OptionalLong limit = OptionalLong.empty();
    Optional<String> continueAfter = Optional.empty();
    Optional<String> refusal = Optional.empty();
    boolean events = EVENT_COLLECTION.matcher(resource).matches();
    for (String param : path.substring(q + 1).split("&")) {
      int eq = param.indexOf('=');
      String name = eq < 0 ? param : param.substring(0, eq);
      String value = eq < 0 ? "" : URLDecoder.decode(param.substring(eq + 1), StandardCharsets.UTF_8);
      if (name.equals("watch") && value.equals("true")) {
        return Optional.empty();
      } else if (name.equals("limit") && !value.isEmpty()) {
        try {
          limit = OptionalLong.of(Long.parseLong(value));
        } catch (NumberFormatException e) {
          refusal = Optional.of("invalid limit: " + value);
        }
      } else if (name.equals("continue") && !value.isEmpty()) {
        try {
          continueAfter = Optional.of(new String(Base64.getUrlDecoder().decode(value), StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
          refusal = Optional.of("continue key is not valid");
        }
      } else if (name.equals("fieldSelector") && events) {
        List<String> forMock = new ArrayList<>();
        for (String term : value.split(",")) {
          if (term.isBlank()) {
            continue;
          }
          Requirement requirement = requirement(term.strip());
          if (requirement.field().startsWith("metadata.")) {
            forMock.add(term.strip());
          } else if (EVENT_FIELDS.contains(requirement.field())) {
            requirements.add(requirement);
          } else {
            refusal = Optional.of("field label not supported: " + requirement.field());
          }
        }
        if (!forMock.isEmpty()) {
          keptParams.add("fieldSelector=" + java.net.URLEncoder.encode(String.join(",", forMock), StandardCharsets.UTF_8));
        }
      } else {
        keptParams.add(param);
      }
    }
    if (requirements.isEmpty() && limit.isEmpty() && continueAfter.isEmpty() && refusal.isEmpty()) {
      return Optional.empty();
    }
    String pathForMock = keptParams.isEmpty() ? resource : resource + "?" + String.join("&", keptParams);
    return Optional.of(new ListSemantics(pathForMock, requirements, limit, continueAfter, refusal));
  }

  private static Requirement requirement(String term) {
    int notEqual = term.indexOf("!=");
    if (notEqual >= 0) {
      return new Requirement(term.substring(0, notEqual), term.substring(notEqual + 2), false);
    }
    int doubleEqual = term.indexOf("==");
    if (doubleEqual >= 0) {
      return new Requirement(term.substring(0, doubleEqual), term.substring(doubleEqual + 2), true);
    }
    int equal = term.indexOf('=');
    return equal < 0 ? new Requirement(term, "", true)
        : new Requirement(term.substring(0, equal), term.substring(equal + 1), true);
  }

  /** The path to give the mock: without what the stand-in applies itself. */
  String pathForMock() {
    return pathForMock;
  }

  /** A 400 when the request selects by a field the API server does not support; else empty. */
  Optional<MockResponse> refusal() {
    return refusal.map(message -> new MockResponse().setResponseCode(400)
        .setBody("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"reason\":\"BadRequest\","
            + "\"code\":400,\"message\":\"" + message.replace("\"", "'") + "\"}"));
  }

  /** The mock's answer with the selectors, the order, the limit and the continue applied. */
  MockResponse answer(MockResponse fromMock) {
    if (fromMock.code() != 200 || fromMock.getBody() == null) {
      return fromMock;
    }
    JsonNode body;
    try {
      body = JSON.readTree(fromMock.getBody().getBytes());
    } catch (IOException e) {
      return fromMock;
    }
    if (!(body instanceof ObjectNode list) || !(list.get("items") instanceof ArrayNode items)) {
      return fromMock; // not a list
    }
    List<JsonNode> kept = new ArrayList<>();
    items.forEach(item -> {
      if (eventRequirements.stream().allMatch(r -> r.matches(item)) && continueAfter.map(after ->
          key(item).compareTo(after) > 0).orElse(true)) {
        kept.add(item);
      }
    });
    kept.sort(Comparator.comparing(ListSemantics::key));
    ObjectNode metadata = list.with("metadata");
    metadata.remove("continue");
    metadata.remove("remainingItemCount");
    List<JsonNode> page = kept;
    if (limit.isPresent() && limit.getAsLong() > 0 && kept.size() > limit.getAsLong()) {
      page = kept.subList(0, (int) limit.getAsLong());
      metadata.put("continue", Base64.getUrlEncoder().withoutPadding()
          .encodeToString(key(page.get(page.size() - 1)).getBytes(StandardCharsets.UTF_8)));
      metadata.put("remainingItemCount", kept.size() - page.size());
    }
    items.removeAll();
    page.forEach(items::add);
    try {
      return fromMock.setBody(JSON.writeValueAsBytes(list));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** The key a list is ordered by: namespace, then name (as etcd's keys). */
  private static String key(JsonNode item) {
    JsonNode meta = item.path("metadata");
    return meta.path("namespace").asText("") + "/" + meta.path("name").asText("");
  }

  private static String valueOf(JsonNode event, String field) {
    if (field.startsWith("involvedObject.")) {
      return event.path("involvedObject").path(field.substring("involvedObject.".length())).asText("");
    }
    return switch (field) {
      case "reportingComponent" -> event.path("reportingComponent").asText("");
      case "source" -> {
        String component = event.path("source").path("component").asText("");
        yield component.isEmpty() ? event.path("reportingComponent").asText("") : component;
      }
      default -> event.path(field).asText("");
    };
  }
}
