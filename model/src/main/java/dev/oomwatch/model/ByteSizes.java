package dev.oomwatch.model;

/**
 * Formats byte counts the way Kubernetes users write memory limits ({@code 64Mi}, {@code 1536Mi},
 * {@code 2Gi}); exact, never rounded, falling back to plain bytes. Stateless and thread-safe.
 */
public final class ByteSizes {
  private static final String[] SUFFIXES = {"Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};

  private ByteSizes() {}

  public static String quantity(long bytes) {
    if (bytes <= 0) {
      return Long.toString(bytes);
    }
    long value = bytes;
    int suffix = -1;
    while (value % 1024 == 0 && suffix < SUFFIXES.length - 1) {
      value /= 1024;
      suffix++;
    }
    return suffix < 0 ? Long.toString(bytes) : value + SUFFIXES[suffix];
  }
}
