package dev.oomwatch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.oomwatch.logging.JsonLogProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Text stays the default; the flag (either spelling) or the env var selects the JSON provider. */
class LogFormatTest {
  @AfterEach
  void clear() {
    System.clearProperty("slf4j.provider");
  }

  @Test
  void textIsTheDefault() {
    Main.selectLogFormat(new String[] {"agent", "--node-name", "n"}, null);
    assertNull(System.getProperty("slf4j.provider"));
    Main.selectLogFormat(new String[] {"agent", "--log-format=text"}, "json");
    assertNull(System.getProperty("slf4j.provider"), "the flag overrides the env var");
  }

  @Test
  void theFlagOrTheEnvVarSelectsJson() {
    Main.selectLogFormat(new String[] {"agent", "--log-format", "json"}, null);
    assertEquals(JsonLogProvider.NAME, System.getProperty("slf4j.provider"));
    System.clearProperty("slf4j.provider");
    Main.selectLogFormat(new String[] {"agent"}, "json");
    assertEquals(JsonLogProvider.NAME, System.getProperty("slf4j.provider"));
  }
}
