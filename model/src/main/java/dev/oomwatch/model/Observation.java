package dev.oomwatch.model;

/**
 * Something a source saw on the node that may be evidence of an OOM kill. The kinds are closed (sealed)
 * and each is taken through a {@link Visitor}, which has one method per kind: a new kind does not compile
 * until every consumer (the fusion) says what it does with it, so none can be silently ignored.
 * Implementations are immutable records; inference is a pure function of them.
 */
public sealed interface Observation permits CgroupOomSignal, CgroupPolled, ContainerExit, ContainerMemorySample,
    KernelOomKill, MemorySample, PodSandboxChanged, SandboxDied, SandboxSeen, SandboxUnlimited {

  /** Hands this observation to the visitor's method for its kind. */
  <R> R accept(Visitor<R> visitor);

  /** One method per kind of observation. Threading is the implementation's. */
  interface Visitor<R> {
    R visit(KernelOomKill kill);

    R visit(CgroupOomSignal signal);

    R visit(CgroupPolled polled);

    R visit(SandboxSeen seen);

    R visit(SandboxDied died);

    R visit(SandboxUnlimited unlimited);

    R visit(ContainerExit exit);

    R visit(ContainerMemorySample sample);

    R visit(MemorySample sample);

    R visit(PodSandboxChanged changed);
  }
}
