package dev.oomwatch.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class GcLogTest {
  /** What -Xlog:gc,gc+heap=debug prints for a Serial young collection (JDK 17), trimmed. */
  private static final List<String> SERIAL = List.of(
      "[1795877245085ms] Using Serial",
      "[1795877245456ms] GC(0) Heap before GC invocations=0 (full 0):",
      "[1795877245456ms] GC(0)  def new generation   total 19648K, used 17472K [0x00000000fc000000, 0x00000000fd550000)",
      "[1795877245456ms] GC(0)   eden space 17472K, 100% used [0x00000000fc000000, 0x00000000fd110000)",
      "[1795877245456ms] GC(0)  tenured generation   total 43712K, used 100K [0x00000000fd550000, 0x0000000100000000)",
      "[1795877245456ms] GC(0)  Metaspace       used 8500K, committed 8704K, reserved 1114112K",
      "[1795877245470ms] GC(0) DefNew: 17472K(19648K)->2175K(19648K) Eden: 17472K(17472K)->0K(17472K)",
      "[1795877245470ms] GC(0) Heap after GC invocations=1 (full 0):",
      "[1795877245470ms] GC(0)  def new generation   total 19648K, used 2175K [0x00000000fc000000, 0x00000000fd550000)",
      "[1795877245470ms] GC(0)  tenured generation   total 43712K, used 2131K [0x00000000fd550000, 0x0000000100000000)",
      "[1795877245470ms] GC(0)  Metaspace       used 8500K, committed 8704K, reserved 1114112K",
      "[1795877245470ms] GC(0) Pause Young (Allocation Failure) 17M->4M(61M) 13.970ms",
      "[1795877246000ms] GC(1) Heap before GC invocations=1 (full 0):",
      "[1795877246000ms] GC(1)  def new generation   total 19648K, used 19647K [0x00000000fc000000, 0x00000000fd550000)");

  /** The same from G1. */
  private static final List<String> G1 = List.of(
      "[1000ms] GC(3) Heap before GC invocations=3 (full 0):",
      "[1000ms] GC(3)  garbage-first heap   total 397312K, used 24576K [0x0000000685e00000, 0x0000000800000000)",
      "[1000ms] GC(3)   region size 2048K, 12 young (24576K), 0 survivors (0K)",
      "[1003ms] GC(3) Heap after GC invocations=4 (full 0):",
      "[1003ms] GC(3)  garbage-first heap   total 397312K, used 3072K [0x0000000685e00000, 0x0000000800000000)",
      "[1003ms] GC(3)   region size 2048K, 1 young (2048K), 1 survivors (2048K)");

  @Test
  void serialCollectionsSumTheGenerations() {
    assertEquals(List.of(new GcLog.Collection(0, 1795877245456L, 17472 + 100, 2175 + 2131)), GcLog.parse(SERIAL),
        "GC(1) has no 'after' yet and is left out");
  }

  /** JDK 25's Serial collector: "Heap Before/After GC", generations named DefNew and Tenured. */
  private static final List<String> SERIAL_JDK25 = List.of(
      "[1796419122152ms] GC(1) Heap Before GC invocations=1 (full 0):",
      "[1796419122152ms] GC(1)  DefNew     total 3712K, used 3711K [0x00000000ff000000, 0x00000000ff400000, 0x00000000ff400000)",
      "[1796419122152ms] GC(1)  Tenured    total 12288K, used 1465K [0x00000000ff400000, 0x0000000100000000, 0x0000000100000000)",
      "[1796419122158ms] GC(1) Heap After GC invocations=2 (full 0):",
      "[1796419122158ms] GC(1)  DefNew     total 3712K, used 384K [0x00000000ff000000, 0x00000000ff400000, 0x00000000ff400000)",
      "[1796419122158ms] GC(1)  Tenured    total 12288K, used 2389K [0x00000000ff400000, 0x0000000100000000, 0x0000000100000000)");

  @Test
  void jdk25SerialCollectionsAreReadToo() {
    assertEquals(List.of(new GcLog.Collection(1, 1796419122152L, 3711 + 1465, 384 + 2389)), GcLog.parse(SERIAL_JDK25));
  }

  @Test
  void g1CollectionsReadTheWholeHeap() {
    assertEquals(List.of(new GcLog.Collection(3, 1000, 24576, 3072)), GcLog.parse(G1));
  }

  @Test
  void allocationIsTheGrowthOfTheHeapPlusWhatCollectionsFreed() {
    List<GcLog.Collection> collections = List.of(new GcLog.Collection(0, 500, 20_000, 5_000),
        new GcLog.Collection(1, 1500, 21_000, 6_000), new GcLog.Collection(2, 3000, 30_000, 1_000));
    // in [1000, 2000): only GC(1), which freed 15,000 KiB; the heap grew from 10 MiB to 12 MiB
    OptionalLong allocated = GcLog.allocatedBytes(collections, 1000, 2000, OptionalLong.of(10L << 20),
        OptionalLong.of(12L << 20));
    assertEquals(OptionalLong.of((2L << 20) + 15_000L * 1024), allocated);
    assertEquals(1, GcLog.countIn(collections, 1000, 2000));
    assertEquals(OptionalLong.empty(), GcLog.allocatedBytes(collections, 0, 1, OptionalLong.empty(), OptionalLong.of(1)));
  }
}
