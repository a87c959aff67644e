/**
 * A lab that reproduces real gVisor sandbox OOMs on this machine: kubelet-like pod cgroups on the cgroup
 * v1 memory controller ({@link dev.oomwatch.lab.PodCgroupV1}), runsc sandboxes inside them whose app
 * allocates past the pod's limit ({@link dev.oomwatch.lab.RunscSandbox},
 * {@link dev.oomwatch.lab.SandboxWorkload}), and both in one call ({@link dev.oomwatch.lab.LabScenario}).
 * Used by the {@code demo} command and the end-to-end tests; needs root, Debian's {@code runsc} and
 * {@code busybox-static} ({@link dev.oomwatch.lab.LabPrerequisites} says what is missing).
 *
 * <p>Nothing here registers anything static (no shutdown hooks, no singletons): every handle is
 * {@link java.lang.AutoCloseable}, its {@code close()} is idempotent, and the caller decides whether to
 * also call it from a shutdown hook.
 */
package dev.oomwatch.lab;
