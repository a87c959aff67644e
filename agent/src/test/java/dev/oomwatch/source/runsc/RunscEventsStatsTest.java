package dev.oomwatch.source.runsc;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.OptionalLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class RunscEventsStatsTest {

  @Test
  void readsTheRealOutputOfASandbox() {
    assertEquals(OptionalLong.of(2547712), RunscEventsStats.memoryUsage(
        RunscFixtures.bytes(RunscFixtures.EVENTS_STATS_RUNNING), RunscFixtures.V1_SANDBOX_ID));
  }

  @Test
  void readsTheRealOutputOfAContainer() {
    assertEquals(OptionalLong.of(2027520), RunscEventsStats.memoryUsage(
        RunscFixtures.bytes(RunscFixtures.EVENTS_STATS), "c3"));
  }

  @Test
  void refusesAnotherContainersEvent() {
    assertEquals(OptionalLong.empty(), RunscEventsStats.memoryUsage(
        RunscFixtures.bytes(RunscFixtures.EVENTS_STATS), RunscFixtures.V1_SANDBOX_ID));
  }

  static Stream<Arguments> outputs() {
    return Stream.of(
        Arguments.of("{\"data\":{\"memory\":{\"usage\":{\"usage\":5}}}}", OptionalLong.of(5)),
        Arguments.of("{\"type\":\"stats\",\"id\":\"x\",\"data\":{\"memory\":{\"usage\":{\"usage\":0}}}}"
            + "\n{\"type\":\"stats\"}\n", OptionalLong.of(0)),
        Arguments.of("{\"type\":\"oom\",\"id\":\"x\",\"data\":{\"memory\":{\"usage\":{\"usage\":5}}}}",
            OptionalLong.empty()),
        Arguments.of("{\"type\":\"stats\",\"id\":\"x\",\"data\":{\"memory\":{\"usage\":{\"usage\":-1}}}}",
            OptionalLong.empty()),
        Arguments.of("{\"type\":\"stats\",\"id\":\"x\",\"data\":{\"memory\":{\"usage\":{\"usage\":1.5}}}}",
            OptionalLong.empty()),
        Arguments.of("{\"type\":\"stats\",\"id\":\"x\",\"data\":{\"memory\":{}}}", OptionalLong.empty()),
        Arguments.of("{\"type\":\"stats\",\"id\":\"x\",\"data\":{\"memory\":{\"usage\":",
            OptionalLong.empty()),
        Arguments.of("container not found", OptionalLong.empty()),
        Arguments.of("[]", OptionalLong.empty()),
        Arguments.of("", OptionalLong.empty()));
  }

  @ParameterizedTest
  @MethodSource("outputs")
  void readsOnlyAStatsEventWithAUsage(String output, OptionalLong expected) {
    assertEquals(expected, RunscEventsStats.memoryUsage(output.getBytes(UTF_8), "x"));
  }
}
