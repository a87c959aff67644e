package dev.oomwatch.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ElfLinkageTest {
  private static final int PT_LOAD = 1;
  private static final int PT_INTERP = 3;

  @TempDir Path dir;

  @Test
  void executableWithoutInterpreterIsStatic() throws Exception {
    assertEquals(ElfLinkage.STATIC, ElfLinkage.of(elf64(PT_LOAD, PT_LOAD)));
  }

  @Test
  void executableWithInterpreterIsDynamic() throws Exception {
    assertEquals(ElfLinkage.DYNAMIC, ElfLinkage.of(elf64(PT_LOAD, PT_INTERP, PT_LOAD)));
  }

  @Test
  void scriptIsNotElf() throws Exception {
    Path script = Files.writeString(dir.resolve("busybox"), "#!/bin/sh\necho hi\n");
    assertEquals(ElfLinkage.NOT_ELF, ElfLinkage.of(script));
  }

  @Test
  void truncatedHeaderIsNotElf() throws Exception {
    Path stub = Files.write(dir.resolve("stub"), new byte[] {0x7f, 'E', 'L', 'F', 2, 1});
    assertEquals(ElfLinkage.NOT_ELF, ElfLinkage.of(stub));
  }

  /** A little-endian ELF64 header followed by program headers of the given types. */
  private Path elf64(int... programHeaderTypes) throws Exception {
    int headerSize = 64;
    int entrySize = 56;
    ByteBuffer elf = ByteBuffer.allocate(headerSize + entrySize * programHeaderTypes.length)
        .order(ByteOrder.LITTLE_ENDIAN);
    elf.put(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1});
    elf.putShort(0x10, (short) 2); // ET_EXEC
    elf.putLong(0x20, headerSize);
    elf.putShort(0x36, (short) entrySize);
    elf.putShort(0x38, (short) programHeaderTypes.length);
    for (int i = 0; i < programHeaderTypes.length; i++) {
      elf.putInt(headerSize + i * entrySize, programHeaderTypes[i]);
    }
    return Files.write(dir.resolve("elf"), elf.array());
  }
}
