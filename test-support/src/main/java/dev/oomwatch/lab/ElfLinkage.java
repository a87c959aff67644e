package dev.oomwatch.lab;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Tells a statically linked ELF executable from a dynamically linked one by its program headers: a
 * dynamic executable has a {@code PT_INTERP} header naming its loader. The sandbox's rootfs holds only
 * busybox, with no loader or libraries, so busybox must be static. Stateless and thread-safe.
 */
enum ElfLinkage {
  STATIC,
  DYNAMIC,
  NOT_ELF;

  private static final int PT_INTERP = 3;
  private static final int ELFCLASS32 = 1;
  private static final int ELFCLASS64 = 2;
  private static final int ELFDATA2MSB = 2;
  private static final int MAX_PROGRAM_HEADERS = 4096;

  static ElfLinkage of(Path file) throws IOException {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      ByteBuffer header = read(channel, 0, 64);
      if (header.remaining() < 52 || header.getInt(0) != 0x7f454c46) {
        return NOT_ELF;
      }
      int elfClass = header.get(4);
      header.order(header.get(5) == ELFDATA2MSB ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
      long programHeaderOffset;
      int entrySize;
      int entryCount;
      if (elfClass == ELFCLASS64 && header.remaining() >= 64) {
        programHeaderOffset = header.getLong(0x20);
        entrySize = Short.toUnsignedInt(header.getShort(0x36));
        entryCount = Short.toUnsignedInt(header.getShort(0x38));
      } else if (elfClass == ELFCLASS32) {
        programHeaderOffset = Integer.toUnsignedLong(header.getInt(0x1c));
        entrySize = Short.toUnsignedInt(header.getShort(0x2a));
        entryCount = Short.toUnsignedInt(header.getShort(0x2c));
      } else {
        return NOT_ELF;
      }
      if (entrySize < 4 || entryCount > MAX_PROGRAM_HEADERS) {
        return NOT_ELF;
      }
      ByteBuffer table = read(channel, programHeaderOffset, entrySize * entryCount);
      table.order(header.order());
      for (int i = 0; i + 4 <= table.limit() && i / entrySize < entryCount; i += entrySize) {
        if (table.getInt(i) == PT_INTERP) {
          return DYNAMIC;
        }
      }
      return STATIC;
    }
  }

  private static ByteBuffer read(FileChannel channel, long position, int length) throws IOException {
    ByteBuffer buffer = ByteBuffer.allocate(length);
    while (buffer.hasRemaining()) {
      if (channel.read(buffer, position + buffer.position()) < 0) {
        break;
      }
    }
    return buffer.flip();
  }
}
