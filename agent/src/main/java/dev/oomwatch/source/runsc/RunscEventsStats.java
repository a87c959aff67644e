package dev.oomwatch.source.runsc;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.OptionalLong;

/**
 * Reads the memory use out of what {@code runsc events --stats <id>} prints: one JSON event
 * {@code {"type":"stats","id":...,"data":{"memory":{"usage":{"usage":N,...}}}}} (see the fixtures
 * {@code runsc-events-stats*.json}). That is the sentry's own accounting for the container; its
 * {@code limit} is always 0 (the sentry does not know the host's limit). Never throws. Stateless and
 * thread-safe.
 */
final class RunscEventsStats {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_BYTES = 1024 * 1024;

  private RunscEventsStats() {}

  /**
   * The {@code data.memory.usage.usage} of the first event in {@code output}, if it is a stats event
   * of {@code containerId} (or names no container) with a non-negative integer usage.
   */
  static OptionalLong memoryUsage(byte[] output, String containerId) {
    if (output == null || output.length == 0 || output.length > MAX_BYTES) {
      return OptionalLong.empty();
    }
    JsonNode event;
    // The first value only: runsc may print more events (or a newline) after it.
    try (JsonParser parser = JSON.createParser(output)) {
      event = JSON.readTree(parser);
    } catch (IOException | RuntimeException e) {
      return OptionalLong.empty();
    }
    if (event == null || !event.isObject()) {
      return OptionalLong.empty();
    }
    JsonNode type = event.get("type");
    if (type != null && !(type.isTextual() && type.textValue().equals("stats"))) {
      return OptionalLong.empty();
    }
    JsonNode id = event.get("id");
    if (id != null && !(id.isTextual() && id.textValue().equals(containerId))) {
      return OptionalLong.empty();
    }
    JsonNode usage = event.path("data").path("memory").path("usage").path("usage");
    if (!usage.isIntegralNumber() || !usage.canConvertToLong() || usage.longValue() < 0) {
      return OptionalLong.empty();
    }
    return OptionalLong.of(usage.longValue());
  }
}
