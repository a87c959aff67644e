package dev.oomwatch.source.kmsg;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Gives the id of the running boot, such as the content of {@code /proc/sys/kernel/random/boot_id}. */
@FunctionalInterface
interface BootIdReader {

  String read() throws IOException;

  static BootIdReader fromFile(Path file) {
    return () -> {
      String bootId = Files.readString(file).trim();
      if (bootId.isEmpty()) {
        throw new IOException(file + " is empty");
      }
      return bootId;
    };
  }

  static BootIdReader fixed(String bootId) {
    return () -> bootId;
  }
}
