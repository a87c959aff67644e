package dev.oomwatch.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;

/** The JSON log format: one parseable object per call, the stack as a string, levels as slf4j-simple's. */
class JsonLogProviderTest {
  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

  private Logger logger(String name) {
    JsonLogProvider provider = new JsonLogProvider(new PrintStream(bytes, true, StandardCharsets.UTF_8));
    provider.initialize();
    return provider.getLoggerFactory().getLogger(name);
  }

  private List<JsonNode> lines() throws Exception {
    ObjectMapper json = new ObjectMapper();
    List<JsonNode> parsed = new java.util.ArrayList<>();
    for (String line : bytes.toString(StandardCharsets.UTF_8).split("\n")) {
      parsed.add(json.readTree(line));
    }
    return parsed;
  }

  @Test
  void eachCallIsOneParseableJsonLineWithTheStackAsAString() throws Exception {
    Logger log = logger("dev.oomwatch.publish.IncidentPublisher");
    log.info("OOM kill of gVisor pod {}: verdict {}", "default/app", "Confirmed");
    log.warn("could not write {}\n(\"quoted\")", "incident/x", new IllegalStateException("boom"));

    List<JsonNode> lines = lines();
    assertEquals(2, lines.size());
    JsonNode info = lines.get(0);
    assertEquals("INFO", info.get("level").asText());
    assertEquals("dev.oomwatch.publish.IncidentPublisher", info.get("logger").asText());
    assertEquals(Thread.currentThread().getName(), info.get("thread").asText());
    assertEquals("OOM kill of gVisor pod default/app: verdict Confirmed", info.get("message").asText());
    assertTrue(java.time.Instant.parse(info.get("time").asText()) != null);
    assertFalse(info.has("exception"));
    JsonNode warn = lines.get(1);
    assertEquals("WARN", warn.get("level").asText());
    assertEquals("could not write incident/x\n(\"quoted\")", warn.get("message").asText());
    assertTrue(warn.get("exception").asText().startsWith("java.lang.IllegalStateException: boom"),
        warn.get("exception").asText());
    assertTrue(warn.get("exception").asText().contains("\tat dev.oomwatch.logging.JsonLogProviderTest"));
  }

  @Test
  void levelsAreSlf4jSimplesFromTheSameProperties() throws Exception {
    Logger framework = logger("io.fabric8.kubernetes.client.Something"); // warn in simplelogger.properties
    framework.info("start-up chatter");
    framework.warn("worth saying");
    Logger debug = logger("dev.oomwatch.Anything");
    assertFalse(debug.isDebugEnabled(), "info by default");
    assertEquals(1, lines().size());
  }
}
