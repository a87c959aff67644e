package dev.oomwatch.source.runsc;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The name of a state file in a runsc root dir, {@code <container-id>_sandbox:<sandbox-id>.state}
 * (runsc's {@code StateFile}). The sandbox (pause) container's file has both ids equal. Immutable.
 *
 * @param containerId the container the file describes
 * @param sandboxId   the sandbox that container runs in
 */
record StateFileName(String containerId, String sandboxId) {
  static final String SUFFIX = ".state";

  // runsc's own rule for ids ([\w+.-], plus the ',' its file-name pattern also lets through); the ids
  // cannot hold ':', so the separator is found unambiguously.
  private static final Pattern NAME =
      Pattern.compile("([A-Za-z0-9_+.,-]{1,1024})_sandbox:([A-Za-z0-9_+.,-]{1,1024})\\.state");

  /** The ids in {@code fileName}, or empty if it is not a state file's name (a {@code .lock}...). */
  static Optional<StateFileName> parse(String fileName) {
    if (fileName == null || !fileName.endsWith(SUFFIX)) {
      return Optional.empty();
    }
    Matcher matcher = NAME.matcher(fileName);
    return matcher.matches()
        ? Optional.of(new StateFileName(matcher.group(1), matcher.group(2)))
        : Optional.empty();
  }

  String fileName() {
    return containerId + "_sandbox:" + sandboxId + SUFFIX;
  }
}
