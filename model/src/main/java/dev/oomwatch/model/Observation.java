package dev.oomwatch.model;

/**
 * Something a source saw on the node that may be evidence of an OOM kill. Implementations are
 * immutable records; inference is a pure function of them.
 */
public interface Observation {}
