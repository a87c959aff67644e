package dev.oomwatch.lab;

/**
 * A pod's Kubernetes QoS class, which decides where kubelet's cgroupfs driver puts the pod cgroup:
 * Guaranteed pods directly under {@code kubepods}, the others under {@code kubepods/burstable} or
 * {@code kubepods/besteffort}. Immutable.
 */
public enum PodQosClass {
  GUARANTEED("/kubepods"),
  BURSTABLE("/kubepods/burstable"),
  BESTEFFORT("/kubepods/besteffort");

  private final String parentCgroupPath;

  PodQosClass(String parentCgroupPath) {
    this.parentCgroupPath = parentCgroupPath;
  }

  /** The cgroup the pod cgroups of this class sit in, e.g. {@code /kubepods/burstable}. */
  public String parentCgroupPath() {
    return parentCgroupPath;
  }

  /** The pod's cgroup path as kubelet's cgroupfs driver names it, e.g. {@code /kubepods/pod<uid>}. */
  public String podCgroupPath(String podUid) {
    return parentCgroupPath + "/pod" + podUid;
  }
}
