package dev.oomwatch.source.runsc;

import java.util.Optional;
import java.util.OptionalLong;

/**
 * What one runsc state file says about one container: which sandbox it belongs to, whether it is the
 * sandbox (pause) container or an app container, the pod (from containerd's CRI annotations), runsc's
 * status, the sentry and gofer pids, and the sandbox's cgroup. Immutable.
 *
 * @param containerId  runsc's id of this container (the file name's first id)
 * @param sandboxId    runsc's id of the sandbox (the file name's second id)
 * @param kind         {@code io.kubernetes.cri.container-type}; without it, the container whose id is
 *                     the sandbox id is the sandbox container
 * @param containerName {@code io.kubernetes.cri.container-name} (app containers only)
 * @param criSandboxId {@code io.kubernetes.cri.sandbox-id}; the same as {@code sandboxId} under
 *                     containerd
 * @param podUid       {@code io.kubernetes.cri.sandbox-uid}
 * @param podName      {@code io.kubernetes.cri.sandbox-name}
 * @param podNamespace {@code io.kubernetes.cri.sandbox-namespace}
 * @param status       runsc's status ({@code creating}, {@code created}, {@code running},
 *                     {@code paused}, {@code stopped}), empty string if absent. runsc writes it only
 *                     when a runsc command runs: a sentry killed from outside stays {@code running}
 *                     here until the next {@code runsc state}/{@code wait}/{@code delete}
 * @param sentryPid    {@code sandbox.pid} when it is a real pid ({@code -1} after a stop gives empty)
 * @param goferPid     {@code goferPid}, likewise
 * @param cgroupPath   the cgroup the sandbox's processes were put in, as runsc recorded it
 */
record RunscStateFile(
    String containerId,
    String sandboxId,
    Kind kind,
    Optional<String> containerName,
    Optional<String> criSandboxId,
    Optional<String> podUid,
    Optional<String> podName,
    Optional<String> podNamespace,
    String status,
    OptionalLong sentryPid,
    OptionalLong goferPid,
    Optional<String> cgroupPath) {

  /** The role of a container in its pod. */
  enum Kind {
    /** The pod sandbox (pause) container: its sentry is the whole pod's. */
    SANDBOX,
    /** An app container running inside the sandbox. */
    CONTAINER
  }

  static final String STOPPED = "stopped";

  boolean stopped() {
    return STOPPED.equals(status);
  }
}
