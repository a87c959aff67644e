package dev.oomwatch.source.kmsg;

import static dev.oomwatch.source.kmsg.KmsgFixtures.BOOTED_AT;
import static dev.oomwatch.source.kmsg.KmsgFixtures.BOOT_ID;
import static dev.oomwatch.source.kmsg.KmsgFixtures.WALL_CLOCK;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.oomwatch.model.KernelOomKill;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** What the assembler makes of the real kernel logs. */
class OomReportAssemblerFixturesTest {

  private static final String V1_POD = "/kubepods/burstable/pod1b2c3d4e-0000-4000-8000-00000000beef";
  private static final String V2_UID = "c9611c80-7e7e-4c28-a30f-6ca723600e4a";
  private static final long MIB_64 = 67108864;

  static List<KernelOomKill> kills(String fixture) {
    OomReportAssembler assembler = new OomReportAssembler(BOOT_ID, WALL_CLOCK);
    List<KernelOomKill> kills = new ArrayList<>();
    for (KmsgRecord record : KmsgFixtures.records(fixture)) {
      assembler.accept(record).ifPresent(kills::add);
    }
    assembler.flushPending().ifPresent(kills::add);
    assertEquals(0, assembler.malformedSummaries());
    return kills;
  }

  @Test
  void cgroupV1SandboxKill() {
    assertEquals(List.of(new KernelOomKill(
            BOOT_ID,
            696,
            454076993,
            BOOTED_AT.plus(454076993, ChronoUnit.MICROS),
            "CONSTRAINT_MEMCG",
            Optional.of(V1_POD),
            V1_POD + "/9f8e7d6c5b4a",
            "exe",
            7932,
            65534,
            OptionalLong.of(MIB_64),
            OptionalLong.of(5376L * 1024))),
        kills(KmsgFixtures.SANDBOX_OOM));
  }

  @Test
  void cgroupV1PlainProcessKill() {
    assertEquals(List.of(new KernelOomKill(
            BOOT_ID,
            422,
            253249925,
            BOOTED_AT.plus(253249925, ChronoUnit.MICROS),
            "CONSTRAINT_MEMCG",
            Optional.of("/ceo-test"),
            "/ceo-test",
            "python3",
            2234,
            0,
            OptionalLong.of(51200L * 1024),
            OptionalLong.of(50788L * 1024))),
        kills(KmsgFixtures.PLAIN_PROCESS_OOM));
  }

  @Test
  void cgroupV2BootWithFourSandboxKills() {
    String systemdPod = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
        + V2_UID.replace('-', '_') + ".slice";
    assertEquals(List.of(
            v2Kill(408, 7509676, "/kubepods/burstable/pod" + V2_UID, "aaaa1111bbbb2222", 122, 5616),
            v2Kill(456, 10295651, "/kubepods/pod" + V2_UID, "cccc3333dddd4444", 243, 7268),
            v2Kill(504, 13070432, systemdPod, "cri-containerd-eeee5555ffff6666.scope", 375, 7196),
            v2Kill(552, 16001203, "/kubepods/besteffort/pod" + V2_UID, "abab1212cdcd3434", 509, 7296)),
        kills(KmsgFixtures.CGROUPV2_BOOT));
  }

  private static KernelOomKill v2Kill(
      long sequence, long micros, String pod, String sandbox, int pid, long anonRssKib) {
    return new KernelOomKill(
        BOOT_ID,
        sequence,
        micros,
        BOOTED_AT.plus(micros, ChronoUnit.MICROS),
        "CONSTRAINT_MEMCG",
        Optional.of(pod),
        pod + "/" + sandbox,
        "exe",
        pid,
        65534,
        OptionalLong.of(MIB_64),
        OptionalLong.of(anonRssKib * 1024));
  }
}
