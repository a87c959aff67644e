package dev.oomwatch.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class BackoffTest {

  @Test
  void doublesFromOneSecondUpToAMinuteUntilReset() {
    Backoff backoff = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(60));
    List<Long> seconds = Stream.generate(backoff::next).limit(9).map(Duration::toSeconds).toList();
    assertEquals(List.of(1L, 2L, 4L, 8L, 16L, 32L, 60L, 60L, 60L), seconds);

    backoff.reset();
    assertEquals(Duration.ofSeconds(1), backoff.next());
  }

  @Test
  void theDelayAfterNFailuresIsWhatNextGivesTheNthTime() {
    Backoff counted = new Backoff(Duration.ofMillis(250), Duration.ofSeconds(30));
    Backoff pure = new Backoff(Duration.ofMillis(250), Duration.ofSeconds(30));
    IntStream.rangeClosed(1, 40).forEach(n -> assertEquals(pure.delayAfter(n), counted.next(), "failure " + n));
  }

  @Test
  void noFailureOrANegativeCountWaitsTheFirstDelay() {
    Backoff backoff = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(30));
    assertEquals(Duration.ofSeconds(1), backoff.delayAfter(0));
    assertEquals(Duration.ofSeconds(1), backoff.delayAfter(-5));
  }

  @Test
  void aLongRunOfFailuresNeitherOverflowsNorPassesTheMost() {
    Backoff backoff = new Backoff(Duration.ofNanos(1), Duration.ofDays(365));
    assertEquals(Duration.ofDays(365), backoff.delayAfter(Integer.MAX_VALUE));
    for (int i = 0; i < 1_000; i++) {
      backoff.next();
    }
    assertEquals(Duration.ofDays(365), backoff.next());
  }

  @Test
  void aMostShorterThanTheFirstMeansAlwaysTheFirst() {
    Backoff backoff = new Backoff(Duration.ofSeconds(5), Duration.ofSeconds(1));
    assertEquals(Duration.ofSeconds(5), backoff.delayAfter(10));
  }

  @Test
  void theFirstDelayMustBePositive() {
    assertThrows(IllegalArgumentException.class, () -> new Backoff(Duration.ZERO, Duration.ofSeconds(1)));
  }
}
