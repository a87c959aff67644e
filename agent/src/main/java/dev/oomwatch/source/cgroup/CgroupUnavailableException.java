package dev.oomwatch.source.cgroup;

/** No memory cgroup can be read under the configured root; the message says what to do. */
final class CgroupUnavailableException extends Exception {
  private static final long serialVersionUID = 1L;

  CgroupUnavailableException(String sentence) {
    super(sentence);
  }
}
