package dev.oomwatch.source.kmsg;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.util.function.BooleanSupplier;

/**
 * The read loop on an open {@code /dev/kmsg}: each read() returns one record, which goes to the
 * {@link RecordPipeline}. A read failing with {@code EPIPE} means the kernel overwrote records not yet
 * read; it is counted and reading goes on, since the kernel has moved on to the oldest record left.
 * Runs on the caller's thread.
 */
final class DeviceReader {

  /**
   * One read returns one record. The kernel never returns more than 8 KiB ({@code CONSOLE_EXT_LOG_MAX}),
   * but a buffer too small for a record makes the read fail with EINVAL and skips that record.
   */
  static final int READ_BUFFER_BYTES = 16 * 1024;

  private DeviceReader() {}

  /**
   * Reads until {@code closing} says the source closes (the channel's close() then ends a blocked
   * read), running {@code onFirstRecord} after the first successful read.
   *
   * @throws IOException when a read fails for any other reason, or the input ends
   */
  static void readUntilClosed(ReadableByteChannel device, RecordPipeline pipeline,
      Runnable onFirstRecord, BooleanSupplier closing) throws IOException {
    ByteBuffer buffer = ByteBuffer.allocate(READ_BUFFER_BYTES);
    boolean first = true;
    while (!closing.getAsBoolean()) {
      buffer.clear();
      int length;
      try {
        length = device.read(buffer);
      } catch (IOException e) {
        if (closing.getAsBoolean()) {
          return;
        }
        if (!isBrokenPipe(e)) {
          throw e;
        }
        pipeline.overrun();
        continue;
      }
      if (length < 0) {
        throw new EOFException("the input ended; it is neither a kmsg device nor a regular file");
      }
      if (first) {
        first = false;
        onFirstRecord.run();
      }
      pipeline.accept(buffer.array(), 0, length);
    }
  }

  /** EPIPE as the JDK reports it: the message is the C library's text for the error number. */
  static boolean isBrokenPipe(IOException e) {
    return "Broken pipe".equals(e.getMessage());
  }
}
