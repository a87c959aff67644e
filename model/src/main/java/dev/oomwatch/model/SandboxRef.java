package dev.oomwatch.model;

import java.util.Optional;
import java.util.OptionalLong;

/**
 * One gVisor sandbox as runsc's state file describes it: the sandbox (pod sandbox) id, the pod it
 * belongs to (from the CRI annotations), its sentry and gofer pids and the cgroup runsc put it in.
 * Pids are empty when the state file did not say. Immutable.
 *
 * @param sandboxId  the sandbox id (containerd's pause-container id; 64 hex digits on a real node)
 * @param podUid     {@code io.kubernetes.cri.sandbox-uid}
 * @param podNamespace {@code io.kubernetes.cri.sandbox-namespace}
 * @param podName    {@code io.kubernetes.cri.sandbox-name}
 * @param sentryPid  {@code sandbox.pid}
 * @param goferPid   {@code goferPid}
 * @param cgroupPath the sandbox's cgroup as runsc recorded it (v1 name or v2 path), if any
 */
public record SandboxRef(
    String sandboxId,
    String podUid,
    String podNamespace,
    String podName,
    OptionalLong sentryPid,
    OptionalLong goferPid,
    Optional<String> cgroupPath) {}
