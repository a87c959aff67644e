package dev.oomwatch.source.kmsg;

import static dev.oomwatch.source.kmsg.KmsgFixtures.BOOT_ID;
import static dev.oomwatch.source.kmsg.KmsgFixtures.WALL_CLOCK;
import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.oomwatch.model.KernelOomKill;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The real logs, mutated and mixed with random bytes, through parser and assembler: nothing may
 * throw, and while sequence numbers only grow no kill may come out twice. Seeded, so a failure can be
 * replayed.
 */
class KmsgFuzzTest {

  private static final byte[] INTERESTING = ",;-+c\n 0123456789=x\\".getBytes(ISO_8859_1);
  private static final List<String> FIXTURES = List.of(
      KmsgFixtures.SANDBOX_OOM, KmsgFixtures.PLAIN_PROCESS_OOM, KmsgFixtures.CGROUPV2_BOOT);
  private static final int PASSES = 8;

  @Test
  void mutatedLogsNeverBreakParserOrAssembler() {
    long records = 0;
    for (long seed = 1; seed <= PASSES; seed++) {
      Random random = new Random(seed);
      OomReportAssembler assembler = new OomReportAssembler(BOOT_ID, WALL_CLOCK);
      Set<Long> released = new HashSet<>();
      long lastSequence = -1;
      boolean sequencesGrow = true;
      for (String fixture : FIXTURES) {
        for (String read : KmsgFixtures.deviceReads(fixture)) {
          byte[] input = switch (random.nextInt(10)) {
            case 0 -> randomBytes(random);
            case 1, 2, 3 -> mutate(read.getBytes(ISO_8859_1), random);
            default -> read.getBytes(ISO_8859_1);
          };
          records++;
          Optional<KmsgRecord> record = KmsgParser.parse(input, 0, input.length);
          if (record.isEmpty()) {
            continue;
          }
          sequencesGrow &= record.get().sequence() > lastSequence;
          lastSequence = record.get().sequence();
          Optional<KernelOomKill> kill = assembler.accept(record.get());
          if (random.nextInt(100) == 0) {
            kill = kill.or(assembler::flushPending);
          }
          if (kill.isPresent() && sequencesGrow) {
            assertTrue(released.add(kill.get().sequence()), "released twice: " + kill.get());
          }
        }
      }
      assembler.flushPending();
    }
    assertTrue(records > 5_000, "fed only " + records + " records");
  }

  private static byte[] randomBytes(Random random) {
    byte[] bytes = new byte[random.nextInt(300)];
    random.nextBytes(bytes);
    return bytes;
  }

  private static byte[] mutate(byte[] original, Random random) {
    byte[] bytes = original;
    int mutations = 1 + random.nextInt(3);
    for (int i = 0; i < mutations && bytes.length > 0; i++) {
      int at = random.nextInt(bytes.length);
      switch (random.nextInt(4)) {
        case 0 -> bytes[at] = (byte) random.nextInt(256);
        case 1 -> bytes[at] = INTERESTING[random.nextInt(INTERESTING.length)];
        case 2 -> bytes = Arrays.copyOf(bytes, at);
        default -> {
          byte[] longer = new byte[bytes.length + 1];
          System.arraycopy(bytes, 0, longer, 0, at);
          longer[at] = INTERESTING[random.nextInt(INTERESTING.length)];
          System.arraycopy(bytes, at, longer, at + 1, bytes.length - at);
          bytes = longer;
        }
      }
    }
    return bytes;
  }
}
