package dev.oomwatch.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class PercentilesTest {
  @Test
  void nearestRankOfTwentyValues() {
    List<Double> values = new ArrayList<>(IntStream.rangeClosed(1, 20).mapToObj(i -> i * 10.0).toList());
    Collections.shuffle(values);
    Percentiles p = Percentiles.of(values);
    assertEquals(20, p.count());
    assertEquals(10, p.min());
    assertEquals(100, p.p50(), "the 10th of 20");
    assertEquals(190, p.p95(), "the 19th of 20");
    assertEquals(200, p.p99(), "with 20 values p99 is the maximum");
    assertEquals(200, p.max());
    assertEquals(105, p.mean(), 1e-9);
  }

  @Test
  void oneValueIsEveryPercentile() {
    Percentiles p = Percentiles.of(List.of(42.0));
    assertEquals(List.of(42.0, 42.0, 42.0, 42.0, 42.0), List.of(p.min(), p.p50(), p.p95(), p.p99(), p.max()));
  }

  @Test
  void aHundredValuesGiveTheNinetyNinth() {
    Percentiles p = Percentiles.of(IntStream.rangeClosed(1, 100).mapToObj(i -> (double) i).toList());
    assertEquals(50, p.p50());
    assertEquals(95, p.p95());
    assertEquals(99, p.p99());
  }

  @Test
  void noValuesIsAnError() {
    assertThrows(IllegalArgumentException.class, () -> Percentiles.of(List.of()));
  }
}
