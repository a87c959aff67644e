package dev.oomwatch.source;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.List;
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
}
